"""Experiments: train a spec into a results dir, resume one, sweep one. The CLI and the scripts
under experiments/ call these; `purerl.records` owns the files they write.

    result = experiment.train(spec, Path("runs/a"), checkpoint_every=5)
    result = experiment.resume(Path("runs/a"))
    result = experiment.sweep(spec, grid({"lr": [1e-4, 3e-4]}), Path("runs/s"))

A run is a host loop over compiled chunks of one evaluation period each (`run.train_chunked`):
after every chunk its loggers (`purerl.loggers`: metrics.csv, and TensorBoard or W&B if chosen)
are fed the new evaluations and, every `checkpoint_every` evaluations, the whole state is saved.
Interrupted (Ctrl-C, with `interruptible`), it stops after the current chunk, saves a checkpoint
and raises `Interrupted`.
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

from purerl import loggers as logs
from purerl import records
from purerl.spec import JobSpec

PACKAGES = ("purerl", "jax", "jaxlib", "gymnax", "flax", "optax", "orbax-checkpoint")


class Interrupted(Exception):
    """A run stopped by Ctrl-C after a whole chunk; its results so far and a checkpoint are kept."""

    def __init__(self, out: Path | None, period: int, num_evals: int, env_steps: int):
        self.out, self.period, self.num_evals, self.env_steps = out, period, num_evals, env_steps
        super().__init__(f"stopped after {env_steps:,} env steps per seed "
                         f"(evaluation {period} of {num_evals})")


class Finished(ValueError):
    """`resume` of a run that has finished already."""


def provenance(command: Sequence[str] | None = None) -> dict:
    """Where and how a result was made: platform, processes, versions and the command."""
    import jax

    return {
        "device": str(jax.devices()[0].platform),
        "device_kind": str(jax.devices()[0].device_kind),
        "device_count": jax.device_count(),
        "processes": jax.process_count(),
        "versions": {p: metadata.version(p) for p in PACKAGES} | {"python": platform.python_version()},
        "command": list(command) if command is not None else None,
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
    from purerl import registry

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
          show_progress: bool = False, interruptible: bool = False, command: Sequence[str] | None = None):
    """Trains the spec's seeds; with `out`, into that results dir. Returns the `run.Result`.

    With `out`, metrics.csv is written after every chunk; `tensorboard` adds OUT/tb and `wandb` a
    Weights & Biases run (project `wandb_project`, default "purerl") with its files in OUT/wandb.
    `loggers` are fed too, with or without `out`, and closed at the end.
    Everything is checked (spec, env, results dir, optional packages) before anything is compiled.

    Raises:
      ValueError: one line naming the problem.
      Interrupted: Ctrl-C (with `interruptible`); the results so far and a checkpoint are kept.
    """
    from purerl import run

    if checkpoint_every is not None and checkpoint_every <= 0:
        raise ValueError(f"--checkpoint-every must be positive, got {checkpoint_every}")
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
           command: Sequence[str] | None = None):
    """Continues the run in results dir `out` from its last complete checkpoint (or from the start).

    metrics.csv is cut back to the checkpoint's evaluations; TensorBoard (`tensorboard`) adds a new
    events file to OUT/tb and W&B (`wandb`) continues the run's W&B run if it had one (project: the
    recorded one unless `wandb_project` is given), both from the checkpoint on.

    Raises:
      Finished: the run has finished already.
      ValueError: not a results dir, a sweep's, or a checkpoint that cannot be used.
    """
    from purerl import checkpoint, run

    config = records.read_config(out)
    if config.run.get("kind") != "train":
        raise ValueError(f"{out} holds a {config.run.get('kind')}; only a train run can be resumed")
    _check_process_options(None, resume=True)
    logs.check(tensorboard=tensorboard, wandb=wandb)
    job = run.build(config.spec)
    summary = records.read_summary(out)
    if summary is not None:
        raise Finished(f"the run in {out} has finished ({job.trainer.num_evals} of {job.trainer.num_evals} "
                       f"evaluations, final return {summary['final_return']['mean']:.4g}): nothing to resume")
    start = None
    if checkpoint.latest_step(out / "checkpoints") is not None:  # else it starts again
        start = checkpoint.restore(out / "checkpoints", run.progress_shapes(job))
    was = config.provenance.get("versions")
    now = provenance()["versions"]
    if was is not None and was != now:
        print(f"purerl: warning: resuming with versions {now} (the run started with {was}): the result may "
              "differ from an uninterrupted run", file=sys.stderr)
    return _run(job, out, config.run, start, tensorboard=tensorboard, wandb=wandb,
                wandb_project=wandb_project, extra=loggers, show_progress=show_progress,
                interruptible=interruptible, command=command)


def _check_process_options(checkpoint_every, resume: bool = False) -> None:
    import jax

    if jax.process_count() > 1 and (resume or checkpoint_every is not None):
        raise ValueError("checkpoints and --resume are for single-process runs; a multi-process run "
                         "trains from the start")


def _loggers(job, out: Path, options: dict, start, *, tensorboard: bool, wandb: bool,
             wandb_project: str | None, made: list) -> None:
    """Appends the results dir's loggers to `made` one by one (so those made are closed if one fails)."""
    from purerl import run

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

    from purerl import checkpoint, run

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
          devices: int | None = None, command: Sequence[str] | None = None):
    """Trains every (point, seed) of the spec as one program (`purerl.sweep`); with `out`, writes
    sweep.csv, metrics.csv and summary.json there. Returns the `sweep.SweepResult`."""
    from purerl import run
    from purerl import sweep as sweeping

    job = sweeping.with_env_params(run.build(spec, max_devices=1), points)  # devices split the runs
    hparams = sweeping.point_hparams(job, points)
    if out is not None:
        records.check_out(out, overwrite)
    result = sweeping.sweep(job, points, hparams=hparams, chunk_size=chunk_size, devices=devices)
    if out is not None and _lead():
        records.make_out(out, overwrite)
        options = {"kind": "sweep", "swept": swept or {"points": [dict(p) for p in points]}}
        records.write_config(out, job.spec, options, provenance(command))
        runs, curves = sweeping.tables(job, result)
        records.write_sweep(out, runs, curves)
        info = sweeping.summarize(job, result, swept)
        records.write_summary(out, info | {"provenance": provenance(command)})
    return result
