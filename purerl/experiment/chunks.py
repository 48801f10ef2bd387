"""The run of `train` and `resume`: a host loop over compiled chunks of one evaluation period each
(`run.train_chunked`). After every chunk the loggers are fed the new evaluations and, every
`checkpoint_every` evaluations, the whole state is saved; at the end summary.json is written.
Interrupted (Ctrl-C, with `interruptible`), it stops after the current chunk, saves a checkpoint
and raises `Interrupted`.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from purerl.config import registry
from purerl.experiment.options import Options
from purerl.experiment.provenance import lead, provenance
from purerl.io import loggers as logs
from purerl.io import records
from purerl.runtime import checkpoint, processes, run


class Interrupted(Exception):
    """A run stopped by Ctrl-C after a whole chunk; its results so far and a checkpoint are kept."""

    def __init__(self, out: Path | None, period: int, num_evals: int, env_steps: int):
        self.out, self.period, self.num_evals, self.env_steps = out, period, num_evals, env_steps
        super().__init__(f"stopped after {env_steps:,} env steps per seed "
                         f"(evaluation {period} of {num_evals})")


def summarize(job: run.Job, result: run.Result, *, resumed_at: int | None = None) -> dict:
    """summary.json of a finished run: the spec, per-seed returns, divergence, times, provenance."""
    final = result.final_return
    best = result.metrics["eval_return"].max(axis=1)
    flags = result.metrics["diverged"].astype(bool)  # [seeds, evals]
    first = [int(np.argmax(f)) + 1 if f.any() else None for f in flags]
    done = job.trainer.num_evals - (resumed_at or 0)
    steps = done * job.trainer.steps_per_period * len(job.seeds)
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


def run_job(job: run.Job, out: Path | None, options: Options,
            start: run.Progress | None = None) -> run.Result:
    """Runs the job from `start` (or the beginning): the results dir's loggers made (if `out`), the
    chunk loop, every logger closed whatever happens."""
    writing = out is not None and lead()
    loggers: list[logs.Logger] = []
    try:
        if writing:
            _add_loggers(job, out, options, start, loggers)
        loggers.extend(options.loggers)
        return _loop(job, out, options, start, loggers, writing)
    finally:
        for logger in loggers:
            logger.close()


def _add_loggers(job, out: Path, options: Options, start, made: list) -> None:
    """Appends the results dir's loggers to `made` one by one (so those made are closed if one fails)."""
    seeds, steps = job.seeds, job.trainer.steps_per_period
    made.append(logs.CSV(out / records.METRICS, run.progress_shapes(job).metrics, seeds, steps,
                         resume_at=None if start is None else start.period))
    if options.tensorboard:
        made.append(logs.TensorBoard(out / "tb", seeds, steps))
    if options.wandb:
        made.append(logs.WandB(out, seeds, steps, config=job.spec.to_dict(),
                               project=options.wandb_project or logs.WANDB_PROJECT, name=out.name,
                               run_id=options.wandb_id))


class _Checkpoints:
    """The results dir's checkpoints: the manager made at the first save, the period saved last."""

    def __init__(self, out: Path | None, start: run.Progress | None):
        self.out, self.manager = out, None
        self.saved = None if start is None else start.period

    def save(self, progress: run.Progress) -> None:
        if self.manager is None:
            self.manager = checkpoint.manager(self.out / "checkpoints")
        checkpoint.save(self.manager, progress)
        self.saved = progress.period

    def close(self) -> None:
        if self.manager is not None:
            self.manager.close()


def _bar(job, out: Path | None, first: int, resumed: bool, show: bool) -> tqdm:
    """The progress bar in env steps of every seed (and, shown, a line saying what runs)."""
    trainer, seeds = job.trainer, job.seeds
    if show:
        what = f"{len(seeds)} seeds x {trainer.total_steps:,} env steps"
        print(f"training {job.algo} on {job.spec.env}: {what}" if not resumed else
              f"resuming {job.algo} on {job.spec.env} in {out} at evaluation {first} of {trainer.num_evals}: "
              f"{what}", flush=True)
    per_period = trainer.steps_per_period * len(seeds)
    return tqdm(total=trainer.total_steps * len(seeds), initial=first * per_period, file=sys.stderr,
                desc="training", dynamic_ncols=True, unit_scale=True, disable=not show,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} env steps "
                           "[{elapsed}<{remaining}{postfix}]")


def _loop(job, out: Path | None, options: Options, start, loggers: list, writing: bool) -> run.Result:
    """The chunk loop: after every chunk `loggers` are fed and, if `writing`, checkpoints saved."""
    trainer, every = job.trainer, options.checkpoint_every
    first = 0 if start is None else start.period
    per_period = trainer.steps_per_period * len(job.seeds)
    saved = _Checkpoints(out, start)
    bar = _bar(job, out, first, start is not None, lead() and options.show_progress)
    last = first

    def on_chunk(progress: run.Progress, chunk_s: float) -> None:
        nonlocal last
        for logger in loggers:
            logger.write(progress.metrics, last, progress.period)
        due = every and (progress.period % every == 0 or progress.period == trainer.num_evals)
        if out is not None and due:
            state = processes.host_state(progress.state)  # every process takes part in the gather
            if writing:
                saved.save(progress._replace(state=state))
        mean = progress.metrics["eval_return"][:, progress.period - 1].mean()
        bar.set_postfix_str(f"{(progress.period - last) * per_period / chunk_s:,.0f} steps/s, "
                            f"eval return {mean:.4g}", refresh=False)
        bar.update((progress.period - last) * per_period)
        last = progress.period

    try:
        with _ctrl_c(options.interruptible) as stop:
            result = run.train_chunked(job, start=start, on_chunk=on_chunk, stop=stop.is_set)
        if result.periods < trainer.num_evals:  # stopped by Ctrl-C: keep a checkpoint of where it is
            if writing and saved.saved != result.periods:
                saved.save(run.Progress(result.periods, result.final_state, result.metrics))
            done = result.periods * trainer.steps_per_period
            raise Interrupted(out, result.periods, trainer.num_evals, done)
    finally:
        bar.close()
        saved.close()
    if writing:
        info = summarize(job, result, resumed_at=None if start is None else first)
        records.write_summary(out, info | {"provenance": provenance(options.command, job.spec.env)})
    return result


@contextlib.contextmanager
def _ctrl_c(enabled: bool) -> Iterator[threading.Event]:
    """While inside, the first Ctrl-C sets the event (the loop stops after its chunk); a second one
    interrupts at once."""
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
