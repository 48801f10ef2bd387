"""Experiments: train a spec into a results dir, resume one, sweep one. The CLI and the scripts
under experiments/ call these; `purerl.io.records` owns the files they write.

    result = experiment.train(spec, Path("runs/a"), checkpoint_every=5)
    result = experiment.resume(Path("runs/a"))
    result = experiment.sweep(spec, grid({"lr": [1e-4, 3e-4]}), Path("runs/s"), checkpoint_every=5,
                              eval_seeds=10)
    result = experiment.resume_sweep(Path("runs/s"))

A run is a host loop over compiled chunks of one evaluation period each (`run.train_chunked`):
after every chunk its loggers (`purerl.io.loggers`: metrics.csv, and TensorBoard or W&B if chosen)
are fed the new evaluations and, every `checkpoint_every` evaluations, the whole state is saved.
Interrupted (Ctrl-C, with `interruptible`), it stops after the current chunk, saves a checkpoint
and raises `Interrupted`.
A sweep runs as one compiled call per chunk of runs, or, with `checkpoint_every`, per that many
evaluations, saving the whole sweep after each; with `eval_seeds` its best point is then trained
again on fresh seeds through `train`. Every entry point turns JAX's persistent compilation cache
on first (`purerl.runtime.compile_cache`; `compile_cache=False` turns it off).
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from purerl.config.spec import JobSpec
from purerl.io import loggers as logs
from purerl.io import records

PACKAGES = ("purerl", "jax", "jaxlib", "gymnax", "flax", "optax", "orbax-checkpoint")


class Interrupted(Exception):
    """A run stopped by Ctrl-C after a whole chunk; its results so far and a checkpoint are kept."""

    def __init__(self, out: Path | None, period: int, num_evals: int, env_steps: int):
        self.out, self.period, self.num_evals, self.env_steps = out, period, num_evals, env_steps
        super().__init__(f"stopped after {env_steps:,} env steps per seed "
                         f"(evaluation {period} of {num_evals})")


class Finished(ValueError):
    """`resume` of a run that has finished already."""


def _use_compile_cache(enabled: bool = True) -> str | None:
    """Turns JAX's persistent compilation cache on (or off) as `runtime.compile_cache` says; its dir."""
    from purerl.runtime import compile_cache

    return compile_cache.enable(enabled)


def provenance(command: Sequence[str] | None = None) -> dict:
    """Where and how a result was made: platform, processes, versions, the command, and the
    persistent compilation cache used (None: compiled without one)."""
    import jax

    from purerl.runtime import compile_cache

    return {
        "device": str(jax.devices()[0].platform),
        "device_kind": str(jax.devices()[0].device_kind),
        "device_count": jax.device_count(),
        "processes": jax.process_count(),
        "versions": {p: metadata.version(p) for p in PACKAGES} | {"python": platform.python_version()},
        "command": list(command) if command is not None else None,
        "compile_cache": compile_cache.current(),
    }


def cpu_device_per_core() -> None:
    """On CPU, one JAX device per core, so a sweep's runs split over the cores.

    XLA runs one small-batch RL program on about one core; runs split over host devices run
    side by side. Left alone if XLA_FLAGS sets the count already, or if JAX has started.
    """
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        import jax

        with contextlib.suppress(RuntimeError):  # JAX is up in this process already: keep its devices
            jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)


def _lead() -> bool:
    import jax

    return jax.process_index() == 0  # only the first process writes and prints


def summarize(job, result, *, resumed_at: int | None = None) -> dict:
    """summary.json of a finished run: the spec, per-seed returns, divergence, times, provenance."""
    final = result.final_return
    best = result.metrics["eval_return"].max(axis=1)
    flags = result.metrics["diverged"].astype(bool)  # [seeds, evals]
    first = [int(np.argmax(f)) + 1 if f.any() else None for f in flags]
    done = job.trainer.num_evals - (resumed_at or 0)
    steps = done * job.trainer.steps_per_period * len(job.seeds)
    from purerl.config import registry

    definition = registry.definition(job.algo)
    return {
        "spec": job.spec.to_dict(),
        "algo": job.algo,
        "env": job.spec.env,
        "static": {k: list(v) if isinstance(v, tuple) else v for k, v in job.static.items()},
        "seeds": job.seeds,
        "total_env_steps": job.trainer.total_steps,
        "evaluation": f"{definition.evaluation} policy, mean undiscounted return over "
        f"{job.static['eval_episodes']} episodes per seed",
        "final_return": {"mean": float(final.mean()), "per_seed": [float(x) for x in final]},
        "best_return": {"mean": float(best.mean()), "per_seed": [float(x) for x in best]},
        "diverged": {"any": bool(flags.any()), "per_seed": [bool(f.any()) for f in flags],
                     "first_evaluation": first},
        "wall_s": result.wall_s,
        "compile_s": result.compile_s,
        "env_steps_per_s": steps / max(result.wall_s, 1e-9),
        "resumed_at_evaluation": resumed_at,
    }


@contextlib.contextmanager
def _ctrl_c(enabled: bool) -> Iterator[threading.Event]:
    """While inside, the first Ctrl-C sets the event (the loop stops after its chunk); a second one
    interrupts at once."""
    import jax

    event = threading.Event()
    # Several processes must stop at the same chunk, which a signal to one of them cannot promise.
    if not enabled or jax.process_count() > 1 or threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def train(spec: JobSpec, out: Path | None = None, *, overwrite: bool = False,
          checkpoint_every: int | None = None, tensorboard: bool = False, wandb: bool = False,
          wandb_project: str | None = None, loggers: Sequence[logs.Logger] = (),
          show_progress: bool = False, interruptible: bool = False, compile_cache: bool = True,
          command: Sequence[str] | None = None):
    """Trains the spec's seeds; with `out`, into that results dir. Returns the `run.Result`.

    With `out`, metrics.csv is written after every chunk; `tensorboard` adds OUT/tb and `wandb` a
    Weights & Biases run (project `wandb_project`, default "purerl") with its files in OUT/wandb.
    `loggers` are fed too, with or without `out`, and closed at the end.
    Everything is checked (spec, env, results dir, optional packages) before anything is compiled.

    Raises:
      ValueError: one line naming the problem.
      Interrupted: Ctrl-C (with `interruptible`); the results so far and a checkpoint are kept.
    """
    from purerl.runtime import run

    if checkpoint_every is not None and checkpoint_every <= 0:
        raise ValueError(f"--checkpoint-every must be positive, got {checkpoint_every}")
    _use_compile_cache(compile_cache)
    job = run.build(spec)
    if out is not None:
        _check_process_options(checkpoint_every)
        records.check_out(out, overwrite)
    logs.check(tensorboard=tensorboard, wandb=wandb)
    options = {"kind": "train", "checkpoint_every": checkpoint_every, "periods_per_chunk": 1}
    if wandb and out is not None:  # recorded, so that a resumed run continues the same W&B run
        options["wandb"] = {"project": wandb_project or logs.WANDB_PROJECT, "id": uuid.uuid4().hex[:12]}
    if out is not None and _lead():
        records.make_out(out, overwrite)
        records.write_config(out, spec, options, provenance(command))
    return _run(job, out, options, None, tensorboard=tensorboard, wandb=wandb, wandb_project=wandb_project,
                extra=loggers, show_progress=show_progress, interruptible=interruptible, command=command)


def resume(out: Path, *, tensorboard: bool = False, wandb: bool = False, wandb_project: str | None = None,
           loggers: Sequence[logs.Logger] = (), show_progress: bool = False, interruptible: bool = False,
           compile_cache: bool = True, command: Sequence[str] | None = None):
    """Continues the run in results dir `out` from its last complete checkpoint (or from the start).

    metrics.csv is cut back to the checkpoint's evaluations; TensorBoard (`tensorboard`) adds a new
    events file to OUT/tb and W&B (`wandb`) continues the run's W&B run if it had one (project: the
    recorded one unless `wandb_project` is given), both from the checkpoint on.

    Raises:
      Finished: the run has finished already.
      ValueError: not a results dir, a sweep's, or a checkpoint that cannot be used.
    """
    from purerl.runtime import checkpoint, run

    config = records.read_config(out)
    if config.run.get("kind") != "train":
        raise ValueError(f"{out} holds a {config.run.get('kind')}; only a train run can be resumed")
    _check_process_options(None, resume=True)
    _use_compile_cache(compile_cache)
    logs.check(tensorboard=tensorboard, wandb=wandb)
    job = run.build(config.spec)
    summary = records.read_summary(out)
    if summary is not None:
        raise Finished(f"the run in {out} has finished ({job.trainer.num_evals} of {job.trainer.num_evals} "
                       f"evaluations, final return {summary['final_return']['mean']:.4g}): nothing to resume")
    start = None
    if checkpoint.latest_step(out / "checkpoints") is not None:  # else it starts again
        start = checkpoint.restore(out / "checkpoints", run.progress_shapes(job))
    _warn_versions(config)
    return _run(job, out, config.run, start, tensorboard=tensorboard, wandb=wandb,
                wandb_project=wandb_project, extra=loggers, show_progress=show_progress,
                interruptible=interruptible, command=command)


def _warn_versions(config: records.Config) -> None:
    was = config.provenance.get("versions")
    now = provenance()["versions"]
    if was is not None and was != now and _lead():
        print(f"purerl: warning: resuming with versions {now} (the run started with {was}): the result may "
              "differ from an uninterrupted run", file=sys.stderr)


def _check_process_options(checkpoint_every, resume: bool = False) -> None:
    import jax

    if jax.process_count() > 1 and (resume or checkpoint_every is not None):
        raise ValueError("checkpoints and --resume are for single-process runs; a multi-process run "
                         "trains from the start")


def _loggers(job, out: Path, options: dict, start, *, tensorboard: bool, wandb: bool,
             wandb_project: str | None, made: list) -> None:
    """Appends the results dir's loggers to `made` one by one (so those made are closed if one fails)."""
    from purerl.runtime import run

    names = run.progress_shapes(job).metrics
    seeds, steps = job.seeds, job.trainer.steps_per_period
    made.append(logs.CSV(out / records.METRICS, names, seeds, steps,
                         resume_at=None if start is None else start.period))
    if tensorboard:
        made.append(logs.TensorBoard(out / "tb", seeds, steps))
    if wandb:
        recorded = options.get("wandb") or {}
        project = wandb_project or recorded.get("project") or logs.WANDB_PROJECT
        run_id = recorded.get("id") if project == recorded.get("project") else None
        made.append(logs.WandB(out, seeds, steps, config=job.spec.to_dict(), project=project,
                               name=out.name, run_id=run_id))


def _run(job, out: Path | None, options: dict, start, *, tensorboard: bool, wandb: bool,
         wandb_project: str | None, extra: Sequence[logs.Logger], show_progress: bool,
         interruptible: bool, command: Sequence[str] | None):
    """`train`'s and `resume`'s run: its loggers made, the chunk loop, the loggers closed."""
    lead = _lead()
    writing = out is not None and lead
    loggers: list = []  # closed at the end, whatever happens
    try:
        if writing:
            _loggers(job, out, options, start, tensorboard=tensorboard, wandb=wandb,
                     wandb_project=wandb_project, made=loggers)
        loggers.extend(extra)
        return _chunks(job, out, start, loggers, every=options.get("checkpoint_every"), lead=lead,
                       writing=writing, show_progress=show_progress, interruptible=interruptible,
                       command=command)
    finally:
        for logger in loggers:
            logger.close()


def _chunks(job, out, start, loggers, *, every, lead, writing, show_progress, interruptible, command):
    """The chunk loop: after every chunk `loggers` are fed and, if `writing`, checkpoints saved."""
    from tqdm import tqdm

    from purerl.runtime import checkpoint, run

    trainer, seeds = job.trainer, job.seeds
    first = 0 if start is None else start.period
    managers = []  # the checkpoint manager, made at the first save
    saved = [first if start is not None else None]  # the period of the latest checkpoint

    def save(progress):
        if not managers:
            managers.append(checkpoint.manager(out / "checkpoints"))
        checkpoint.save(managers[0], progress)
        saved[0] = progress.period

    per_period = trainer.steps_per_period * len(seeds)
    if lead and show_progress:
        what = f"{len(seeds)} seeds x {trainer.total_steps:,} env steps"
        print(f"training {job.algo} on {job.spec.env}: {what}" if start is None else
              f"resuming {job.algo} on {job.spec.env} in {out} at evaluation {first} of {trainer.num_evals}: "
              f"{what}", flush=True)
    bar = tqdm(total=trainer.total_steps * len(seeds), initial=first * per_period, file=sys.stderr,
               desc="training", dynamic_ncols=True, unit_scale=True, disable=not (lead and show_progress),
               bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} env steps "
                          "[{elapsed}<{remaining}{postfix}]")
    last = first

    def on_chunk(progress, chunk_s):
        nonlocal last
        for logger in loggers:
            logger.write(progress.metrics, last, progress.period)
        if writing and every and (progress.period % every == 0 or progress.period == trainer.num_evals):
            save(progress)
        mean = progress.metrics["eval_return"][:, progress.period - 1].mean()
        bar.set_postfix_str(f"{(progress.period - last) * per_period / chunk_s:,.0f} steps/s, "
                            f"eval return {mean:.4g}", refresh=False)
        bar.update((progress.period - last) * per_period)
        last = progress.period

    try:
        with _ctrl_c(interruptible) as stop:
            result = run.train_chunked(job, start=start, on_chunk=on_chunk, stop=stop.is_set)
        if result.periods < trainer.num_evals:  # stopped by Ctrl-C: keep a checkpoint of where it is
            if writing and saved[0] != result.periods:
                save(run.Progress(result.periods, result.final_state, result.metrics))
            done = result.periods * trainer.steps_per_period
            raise Interrupted(out, result.periods, trainer.num_evals, done)
    finally:
        bar.close()
        for manager in managers:
            manager.close()
    if writing:
        info = summarize(job, result, resumed_at=None if start is None else first)
        records.write_summary(out, info | {"provenance": provenance(command)})
    return result


def sweep(spec: JobSpec, points: Sequence[dict[str, Any]], out: Path | None = None, *,
          swept: dict | None = None, overwrite: bool = False, chunk_size: int | None = None,
          devices: int | None = None, checkpoint_every: int | None = None, eval_seeds: int | None = None,
          compile_cache: bool = True, command: Sequence[str] | None = None):
    """Trains every (point, seed) of the spec as one program (`purerl.runtime.sweep`); with `out`, writes
    sweep.csv, metrics.csv and summary.json there. Returns the `sweep.SweepResult`.

    checkpoint_every: save the sweep every N evaluation periods (and at the end of each chunk of
      runs) into OUT/checkpoints, for `resume_sweep`.
    eval_seeds: then retrain the best point (by mean final return on the spec's seeds, the tuning
      seeds) on this many fresh seeds through `train` into OUT/eval, and report those.

    Everything is checked (spec, points, results dir) before anything is compiled.
    """
    from purerl.runtime import run
    from purerl.runtime import sweep as sweeping

    if checkpoint_every is not None and (checkpoint_every <= 0 or out is None):
        raise ValueError(f"--checkpoint-every must be positive and needs --out, got {checkpoint_every}")
    if eval_seeds is not None and eval_seeds <= 0:
        raise ValueError(f"--eval-seeds must be positive, got {eval_seeds}")
    _use_compile_cache(compile_cache)
    job = sweeping.with_env_params(run.build(spec, max_devices=1), points)  # devices split the runs
    hparams = sweeping.point_hparams(job, points)
    if out is not None:
        records.check_out(out, overwrite)
    options = {"kind": "sweep", "swept": swept or {"points": [dict(p) for p in points]},
               "points": [dict(p) for p in points], "chunk_size": chunk_size, "devices": devices,
               "checkpoint_every": checkpoint_every, "eval_seeds": eval_seeds}
    if out is not None and _lead():
        records.make_out(out, overwrite)
        records.write_config(out, spec, options, provenance(command))
    return _sweep(spec, job, hparams, out, options, None, compile_cache=compile_cache, command=command)


def resume_sweep(out: Path, *, compile_cache: bool = True, command: Sequence[str] | None = None):
    """Continues the sweep in results dir `out` from its last complete checkpoint (or from the start).

    Raises:
      Finished: the sweep has finished already.
      ValueError: not a sweep's results dir, or a checkpoint that cannot be used here (another
        device count, unreadable).
    """
    import jax

    from purerl.runtime import checkpoint, run
    from purerl.runtime import sweep as sweeping

    config = records.read_config(out)
    if config.run.get("kind") != "sweep" or "points" not in config.run:
        raise ValueError(f"{out} holds a {config.run.get('kind')}; `purerl sweep --resume` continues a sweep "
                         "(one written with its points in config.json)")
    _use_compile_cache(compile_cache)
    summary = records.read_summary(out)
    if summary is not None:
        best = summary["best"]
        raise Finished(f"the sweep in {out} has finished (best point {best['point']}, final return "
                       f"{best['final_return']['mean']:.4g}): nothing to resume")
    points = config.run["points"]
    job = sweeping.with_env_params(run.build(config.spec, max_devices=1), points)
    hparams = sweeping.point_hparams(job, points)
    start = None
    meta = checkpoint.latest_meta(out / "checkpoints")
    if meta is not None:
        chunk, devices = meta.get("chunk_size"), meta.get("devices")
        if not isinstance(chunk, int) or not isinstance(devices, int):
            raise ValueError(f"{out / 'checkpoints'} holds a train run's checkpoints, not a sweep's")
        runs = len(points) * len(job.seeds)
        like = sweeping.progress_shapes(job, chunk, -(-runs // chunk), devices)
        restored = checkpoint.restore(out / "checkpoints", run.Progress(0, like.state, like.metrics))
        start = sweeping.SweepProgress(restored.period, restored.state, restored.metrics, chunk, devices)
    if jax.process_count() > 1:  # every process has read the checkpoint before the first saves a new one
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices("purerl: sweep checkpoint restored")
    _warn_versions(config)
    return _sweep(config.spec, job, hparams, out, config.run, start, compile_cache=compile_cache,
                  command=command)


def _sweep(spec: JobSpec, job, hparams, out: Path | None, options: dict, start, *, compile_cache: bool,
           command: Sequence[str] | None):
    """The sweep of `sweep` and `resume_sweep`, checkpointed as `options` say, then its results (and
    the fresh-seed retrain of its best point) written into `out`."""
    from purerl.runtime import checkpoint, run
    from purerl.runtime import sweep as sweeping

    points, every = options["points"], options.get("checkpoint_every")
    writing = out is not None and _lead()
    managers = []

    def save(progress):
        state = sweeping.host_state(progress.state)  # every process takes part in the gather
        if not writing:
            return
        if not managers:
            managers.append(checkpoint.manager(out / "checkpoints"))
        meta = {"kind": "sweep", "chunk_size": progress.chunk_size, "devices": progress.devices}
        checkpoint.save(managers[0], run.Progress(progress.step, state, progress.metrics), meta)

    try:
        result = sweeping.sweep(job, points, hparams=hparams, chunk_size=options.get("chunk_size"),
                                devices=options.get("devices"), periods_per_chunk=every, start=start,
                                on_chunk=save if every else None)
    finally:
        for manager in managers:
            manager.close()
    info = sweeping.summarize(job, result, options.get("swept"))
    if options.get("eval_seeds"):
        info["evaluation"] = _evaluate_best(spec, job, result, options["eval_seeds"], out,
                                            compile_cache=compile_cache, command=command)
    if writing:
        runs, curves = sweeping.tables(job, result)
        records.write_sweep(out, runs, curves)
        records.write_summary(out, info | {"provenance": provenance(command)})
    return result


def eval_spec(spec: JobSpec, point: dict[str, Any], num_seeds: int) -> JobSpec:
    """The spec that trains one sweep point alone (as `purerl train --set ... --env-params ...` of
    it) on `num_seeds` fresh seeds: the ones after the largest tuning seed."""
    from purerl.runtime.sweep import ENV

    settings = {k: v for k, v in point.items() if not k.startswith(ENV)}
    env = {k[len(ENV):]: v for k, v in point.items() if k.startswith(ENV)}
    first = max(spec.seeds) + 1
    return spec.replace(settings={**spec.settings, **settings}, env_params={**spec.env_params, **env},
                        seeds=list(range(first, first + num_seeds)))


def _evaluate_best(spec: JobSpec, job, result, num_seeds: int, out: Path | None, *, compile_cache: bool,
                   command: Sequence[str] | None) -> dict:
    """Retrains the sweep's best point on fresh seeds through `train` (into OUT/eval); its record."""
    from purerl.runtime import sweep as sweeping

    best = sweeping.ranking(result)[0]
    alone = eval_spec(spec, result.points[best], num_seeds)
    assert not set(alone.seeds) & set(result.seeds)
    trained = train(alone, None if out is None else out / "eval", overwrite=True,
                    compile_cache=compile_cache, command=command)
    final = trained.final_return
    return {
        "point": best,
        "values": dict(result.points[best]),
        "selected_by": "highest mean final return over the tuning seeds (points with a diverged run last)",
        "tuning_seeds": list(result.seeds),
        "eval_seeds": list(alone.seeds),
        "final_return": {"mean": float(final.mean()), "per_seed": [float(x) for x in final]},
        "results_dir": "eval" if out is not None else None,
        "spec": alone.to_dict(),
    }
