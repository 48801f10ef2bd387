"""`sweep`: every (point, seed) of a spec trained as one program (`purerl.runtime.sweep`) into a
results dir: sweep.csv, metrics.csv and summary.json, and with `eval_seeds` its best point trained
again on fresh seeds through `train`. A sweep runs as one compiled call per chunk of runs or, with
`checkpoint_every`, per that many evaluations, saving the whole sweep after each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from purerl.config.points import env_params_of, settings_of
from purerl.config.spec import JobSpec
from purerl.experiment import sweep_results
from purerl.experiment.options import Options
from purerl.experiment.provenance import lead, provenance
from purerl.experiment.training import start_out, train
from purerl.io import records
from purerl.runtime import checkpoint, compile_cache, processes, run
from purerl.runtime import sweep as program


class Plan(NamedTuple):
    """What a sweep trains and reports, beyond its spec: recorded in config.json, read back to resume."""

    points: list[dict[str, Any]]
    swept: dict  # how the points were made (--grid axes, --random ranges), for summary.json
    eval_seeds: int | None  # then retrain the best point on this many fresh seeds

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Plan:
        return cls(record["points"], record.get("swept"), record.get("eval_seeds"))


def sweep(spec: JobSpec, points: Sequence[dict[str, Any]], out: Path | None = None,
          options: Options | None = None, *, swept: dict | None = None,
          eval_seeds: int | None = None) -> program.SweepResult:
    """Trains every (point, seed) of the spec as one program; with `out`, writes sweep.csv,
    metrics.csv and summary.json there. Returns the `sweep.SweepResult`.

    options: its `chunk_size` and `devices` split the runs; `checkpoint_every` saves the sweep every
      N evaluation periods (and at the end of each chunk of runs) into OUT/checkpoints, for
      `resume_sweep`.
    swept: how the points were made, recorded in summary.json (default: the points).
    eval_seeds: then retrain the best point (by mean final return on the spec's seeds, the tuning
      seeds) on this many fresh seeds through `train` into OUT/eval, and report those.

    Everything is checked (spec, points, results dir) before anything is compiled.
    """
    options = options or Options()
    every = options.checkpoint_every
    if every is not None and (every <= 0 or out is None):
        raise ValueError(f"--checkpoint-every must be positive and needs --out, got {every}")
    if eval_seeds is not None and eval_seeds <= 0:
        raise ValueError(f"--eval-seeds must be positive, got {eval_seeds}")
    compile_cache.enable(options.compile_cache)
    job = program.with_env_params(run.build(spec, max_devices=1), points)  # devices split the runs
    hparams = program.point_hparams(job, points)
    record = options.sweep_record(points, swept, eval_seeds)
    if out is not None:  # by the first process alone, the others told its outcome
        processes.decide("results dir", lambda: start_out(out, spec, record, options))
    return run_sweep(spec, job, hparams, out, Plan.from_record(record), options)


def run_sweep(spec: JobSpec, job: run.Job, hparams, out: Path | None, plan: Plan, options: Options,
              start: program.SweepProgress | None = None) -> program.SweepResult:
    """The sweep of `sweep` and `resume_sweep`, from `start` (or the beginning), checkpointed as
    `options` say, then its results (and the fresh-seed retrain of its best point) written into `out`."""
    every = options.checkpoint_every
    writing = out is not None and lead()
    managers = []

    def save(progress: program.SweepProgress) -> None:
        state = processes.host_state(progress.state)  # every process takes part in the gather
        if not writing:
            return
        if not managers:
            managers.append(checkpoint.manager(out / "checkpoints"))
        meta = {"kind": "sweep", "chunk_size": progress.chunk_size, "devices": progress.devices}
        checkpoint.save(managers[0], run.Progress(progress.step, state, progress.metrics), meta)

    try:  # looked up here, not imported: tests replace `purerl.runtime.sweep.sweep`
        result = program.sweep(job, plan.points, hparams=hparams, chunk_size=options.chunk_size,
                               devices=options.devices, periods_per_chunk=every, start=start,
                               on_chunk=save if every else None)
    finally:
        for manager in managers:
            manager.close()
    info = sweep_results.summarize(job, result, plan.swept)
    if plan.eval_seeds:
        info["evaluation"] = _evaluate_best(spec, result, plan.eval_seeds, out, options)
    if writing:
        runs, curves = sweep_results.tables(job, result)
        records.write_sweep(out, runs, curves)
        records.write_summary(out, info | {"provenance": provenance(options.command, spec.env)})
    return result


def eval_spec(spec: JobSpec, point: dict[str, Any], num_seeds: int) -> JobSpec:
    """The spec that trains one sweep point alone (as `purerl train --set ... --env-params ...` of
    it) on `num_seeds` fresh seeds: the ones after the largest tuning seed."""
    first = max(spec.seeds) + 1
    return spec.replace(settings={**spec.settings, **settings_of(point)},
                        env_params={**spec.env_params, **env_params_of(point)},
                        seeds=list(range(first, first + num_seeds)))


def _evaluate_best(spec: JobSpec, result: program.SweepResult, num_seeds: int, out: Path | None,
                   options: Options) -> dict:
    """Retrains the sweep's best point on fresh seeds through `train` (into OUT/eval); its record."""
    best = sweep_results.ranking(result)[0]
    alone = eval_spec(spec, result.points[best], num_seeds)
    assert not set(alone.seeds) & set(result.seeds)
    trained = train(alone, None if out is None else out / "eval",
                    Options(overwrite=True, compile_cache=options.compile_cache, command=options.command))
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
