"""`resume` and `resume_sweep`: a run or sweep continued in its results dir from its last complete
checkpoint (or from the start), as its config.json recorded it, ending bit-identical to the same
run left uninterrupted."""

from __future__ import annotations

from pathlib import Path

from purerl.experiment import chunks
from purerl.experiment.options import Options
from purerl.experiment.provenance import warn_versions
from purerl.experiment.sweeping import Plan, run_sweep
from purerl.io import loggers as logs
from purerl.io import records
from purerl.runtime import checkpoint, compile_cache, processes, run
from purerl.runtime import sweep as program


class Finished(ValueError):
    """`resume` of a run that has finished already."""


def unfinished(out: Path, job: run.Job) -> None:
    """Raises `Finished` if the job in results dir `out` has finished (a train run, or a sweep
    when `job` is a sweep's)."""
    summary = records.read_summary(out)
    if summary is None:
        return
    if "best" in summary:
        best = summary["best"]
        raise Finished(f"the sweep in {out} has finished (best point {best['point']}, final return "
                       f"{best['final_return']['mean']:.4g}): nothing to resume")
    evals = job.trainer.num_evals
    raise Finished(f"the run in {out} has finished ({evals} of {evals} evaluations, final return "
                   f"{summary['final_return']['mean']:.4g}): nothing to resume")


def resume(out: Path, options: Options | None = None) -> run.Result:
    """Continues the run in results dir `out` from its last complete checkpoint (or from the start).

    It checkpoints as recorded; metrics.csv is cut back to the checkpoint's evaluations; TensorBoard
    (`options.tensorboard`) adds a new events file to OUT/tb and W&B (`options.wandb`) continues the
    run's W&B run if it had one (project: the recorded one unless `options.wandb_project` is given),
    both from the checkpoint on.

    Raises:
      Finished: the run has finished already.
      ValueError: not a results dir, a sweep's, or a checkpoint that cannot be used.
    """
    options = options or Options()
    config = records.read_resumable(out, "train")
    compile_cache.enable(options.compile_cache)
    logs.check(tensorboard=options.tensorboard, wandb=options.wandb)
    job = run.build(config.spec)
    processes.decide("run to resume", lambda: unfinished(out, job), Finished)  # by the first process alone
    start = None
    if checkpoint.latest_step(out / "checkpoints") is not None:  # else it starts again
        start = checkpoint.restore(out / "checkpoints", run.progress_shapes(job))
    processes.barrier("checkpoint restored")  # every process has read it before the first saves another
    warn_versions(config)
    return chunks.run_job(job, out, options.continuing(config.run), start)


def resume_sweep(out: Path, options: Options | None = None) -> program.SweepResult:
    """Continues the sweep in results dir `out` from its last complete checkpoint (or from the start),
    with the points, chunking and checkpoints it recorded.

    Raises:
      Finished: the sweep has finished already.
      ValueError: not a sweep's results dir, or a checkpoint that cannot be used here (another
        device count, unreadable).
    """
    options = options or Options()
    config = records.read_resumable(out, "sweep")
    compile_cache.enable(options.compile_cache)
    plan = Plan.from_record(config.run)
    job = program.with_env_params(run.build(config.spec, max_devices=1), plan.points)
    processes.decide("sweep to resume", lambda: unfinished(out, job), Finished)  # by the first process alone
    hparams = program.point_hparams(job, plan.points)
    start = None
    meta = checkpoint.latest_meta(out / "checkpoints")
    if meta is not None:
        chunk, devices = meta.get("chunk_size"), meta.get("devices")
        if not isinstance(chunk, int) or not isinstance(devices, int):
            raise ValueError(f"{out / 'checkpoints'} holds a train run's checkpoints, not a sweep's")
        runs = len(plan.points) * len(job.seeds)
        like = program.progress_shapes(job, chunk, -(-runs // chunk), devices)
        restored = checkpoint.restore(out / "checkpoints", run.Progress(0, like.state, like.metrics))
        start = program.SweepProgress(restored.period, restored.state, restored.metrics, chunk, devices)
    processes.barrier("checkpoint restored")  # every process has read it before the first saves another
    warn_versions(config)
    return run_sweep(config.spec, job, hparams, out, plan, options.continuing(config.run), start)
