"""A sweep's results as tables: its points ranked, sweep.csv's and metrics.csv's rows, summary.json.
Made on the host from the `SweepResult` the sweep program returns (`purerl.runtime.sweep`)."""

from __future__ import annotations

import numpy as np

from purerl.runtime.run import Job
from purerl.runtime.sweep import SweepResult


def _as_python(value):
    """A hyperparameter array as a JSON number, float32 printed short (0.1, not 0.100000001)."""
    value = np.asarray(value)
    return value.tolist() if value.dtype.kind in "iub" else float(str(value))


def ranking(result: SweepResult) -> list[int]:
    """The points, best first: by mean final return, points with a diverged run (or a non-finite
    return) after all others."""
    means = result.final_return.mean(axis=1)
    bad = result.metrics["diverged"].astype(bool).any(axis=(1, 2)) | ~np.isfinite(means)
    return sorted(range(len(means)), key=lambda p: (bool(bad[p]), -means[p] if np.isfinite(means[p]) else 0))


def tables(job: Job, result: SweepResult) -> tuple[list[dict], list[dict]]:
    """(sweep.csv rows: one per point and seed; metrics.csv rows: one per point, seed and evaluation)."""
    hparams = {k: np.asarray(v) for k, v in (result.hparams._asdict() | result.env_params).items()}
    names = ["eval_return", *sorted(n for n in result.metrics if n != "eval_return")]
    returns, flags = result.metrics["eval_return"], result.metrics["diverged"].astype(bool)
    runs, curves = [], []
    for p in range(len(result.points)):
        values = {k: _as_python(v[p]) for k, v in hparams.items()}
        for s, seed in enumerate(result.seeds):
            first = int(np.argmax(flags[p, s])) + 1 if flags[p, s].any() else None
            runs.append({"point": p, **values, "seed": seed, "final_return": returns[p, s, -1],
                         "best_return": returns[p, s].max(), "diverged": bool(flags[p, s].any()),
                         "diverged_at_evaluation": first, "env_steps": job.trainer.total_steps})
            for t, steps in enumerate(result.env_steps):
                curves.append({"point": p, "seed": seed, "env_steps": int(steps),
                               **{n: result.metrics[n][p, s, t] for n in names}})
    return runs, curves


def summarize(job: Job, result: SweepResult, swept: dict | None) -> dict:
    """summary.json of a sweep: the points ranked, the best one, divergence, times."""
    final = result.final_return
    means = final.mean(axis=1)
    flags = result.metrics["diverged"].astype(bool).any(axis=2)  # [points, seeds]
    order = ranking(result)
    best = order[0]
    points = [
        {"point": p, **values, "final_return": {"mean": float(means[p]), "per_seed": final[p].tolist()},
         "diverged": {"any": bool(flags[p].any()), "per_seed": flags[p].tolist()}}
        for p, values in enumerate(result.points)
    ]
    runs = final.size
    return {
        "spec": job.spec.to_dict(),
        "algo": job.algo,
        "env": job.spec.env,
        "swept": swept,
        "seeds": result.seeds,
        "total_env_steps": job.trainer.total_steps,
        "runs": runs,
        "best": {
            "point": best,
            "hyperparams": {k: _as_python(v[best])
                            for k, v in (result.hparams._asdict() | result.env_params).items()},
            "final_return": points[best]["final_return"],
            "diverged": points[best]["diverged"]["any"],  # true only if every point diverged
        },
        "ranking": order,
        "points": points,
        "diverged_runs": int(flags.sum()),
        "wall_s": result.wall_s,
        "compile_s": result.compile_s,
        "env_steps_per_s": job.trainer.total_steps * runs / result.wall_s,
        "devices": result.devices,
        "chunk_size": result.chunk_size,
    }
