"""The cost of logging per chunk: the same job trained two ways, side by side in one process.

(a) one uninterrupted compiled run: `run.train_chunked(job, periods_per_chunk=num_evals)`;
(b) `experiment.train` into a results dir, as `purerl train` runs it: one chunk per evaluation
    period, after each one metrics.csv, TensorBoard and (if installed) an offline W&B run written.

Times exclude compiling: (a) is its one chunk's run time; (b) is the time from the end of its
first chunk's logging to the end of its last (every later chunk with its sync, copy and logging),
taken by a clock logger fed after the others. One-off costs of (b) (the init program, writing
config.json and summary.json, starting and closing the loggers: W&B's start takes seconds) are
printed apart. (a) and (b) alternate for a few repeats; the table gives each one's median env
steps/s and the ratio (b)/(a). The target is a ratio of at least 0.95.

On a shared machine the ratio is as noisy as the machine's load, so the table also gives the
ratio of the best (least disturbed) repeat of each, and the
loggers' own time per chunk, measured by feeding (b)'s metrics to a fresh set of the same loggers
chunk by chunk, and that time as a share of an (a) chunk's time per evaluation.

    python experiments/bench_logging.py [--repeats 3] [--scale 1.0] [--no-wandb]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

ROWS = [  # (algo, env, total steps at scale 1, settings): each about 10-20 s per run on two CPU cores
    ("dqn", "CartPole-v1", 100_000, {"num_evals": 25}),
    ("ppo", "CartPole-v1", 400_000, {"num_evals": 25}),
]
SEEDS = [0, 1, 2, 3]


class Clock:
    """A logger that keeps the time at each `write` (fed last, so after the other loggers)."""

    def __init__(self):
        self.times = []

    def write(self, metrics, first, last):
        self.times.append(time.perf_counter())

    def close(self):
        pass


def uninterrupted(spec):
    """(env steps/s, one-off s) of (a)."""
    from purerl.runtime import run

    job = run.build(spec)
    chunk = []
    begin = time.perf_counter()
    result = run.train_chunked(job, periods_per_chunk=job.trainer.num_evals,
                               on_chunk=lambda progress, chunk_s: chunk.append(chunk_s))
    total = time.perf_counter() - begin - result.compile_s
    steps = int(result.env_steps[-1]) * len(result.seeds)
    return steps / chunk[0], total - chunk[0], result


def logged(spec, out: Path, wandb: bool):
    """(env steps/s, one-off s) of (b)."""
    from purerl import experiment

    clock = Clock()
    begin = time.perf_counter()
    options = experiment.Options(overwrite=True, tensorboard=True, wandb=wandb, loggers=[clock])
    result = experiment.train(spec, out, options)
    total = time.perf_counter() - begin - result.compile_s
    evals = len(clock.times)
    loop = clock.times[-1] - clock.times[0]  # chunks 2..evals with their logging
    per_period = int(result.env_steps[0]) * len(result.seeds)
    one_off = total - loop * evals / (evals - 1)
    return per_period * (evals - 1) / loop, one_off, result


def logger_ms(spec, result, out: Path, wandb: bool) -> float:
    """Milliseconds per chunk that metrics.csv, TensorBoard and W&B take to write one evaluation."""
    from purerl.io import loggers
    from purerl.runtime import run

    job = run.build(spec)
    seeds, steps = job.seeds, job.trainer.steps_per_period
    out.mkdir()
    made = [loggers.CSV(out / "metrics.csv", result.metrics, seeds, steps),
            loggers.TensorBoard(out / "tb", seeds, steps)]
    if wandb:
        made.append(loggers.WandB(out, seeds, steps, config=spec.to_dict(), name=out.name))
    evals = job.trainer.num_evals
    begin = time.perf_counter()
    for t in range(evals):
        for logger in made:
            logger.write(result.metrics, t, t + 1)
    elapsed = time.perf_counter() - begin
    for logger in made:
        logger.close()
    return 1e3 * elapsed / evals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="(a), (b) pairs per row, alternated")
    parser.add_argument("--scale", type=float, default=1.0, help="times each row's total steps")
    parser.add_argument("--no-wandb", action="store_true", help="leave W&B out of (b) even if installed")
    args = parser.parse_args(argv)

    import numpy as np

    from purerl.config.spec import JobSpec

    wandb = not args.no_wandb and importlib.util.find_spec("wandb") is not None
    if wandb:  # nothing leaves the machine; W&B's own files go to a temporary dir
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_SILENT", "true")
    what = "metrics.csv + TensorBoard" + (" + W&B offline" if wandb else "")
    print(f"(a) one compiled chunk; (b) experiment.train, a chunk per evaluation, {what}; "
          f"{len(SEEDS)} seeds, {args.repeats} repeats, medians", flush=True)
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for algo, env, total_steps, settings in ROWS:
            steps = max(int(total_steps * args.scale), 1)
            spec = JobSpec.create(algo, env, total_steps=steps, settings=settings, seeds=SEEDS)
            a, b, one_off_a, one_off_b, host = [], [], [], [], []
            for repeat in range(args.repeats + 1):  # the first pair warms up (caches, files, W&B)
                rate_a, once_a, result_a = uninterrupted(spec)
                rate_b, once_b, result_b = logged(spec, Path(tmp) / f"{algo}-{repeat}", wandb)
                for name, values in result_a.metrics.items():  # logging never changes the numbers
                    np.testing.assert_array_equal(values, result_b.metrics[name], err_msg=name)
                if repeat:
                    a.append(rate_a), b.append(rate_b), one_off_a.append(once_a), one_off_b.append(once_b)
                    host.append(logger_ms(spec, result_b, Path(tmp) / f"{algo}-replay-{repeat}", wandb))
                print(f"  {algo} {env} repeat {repeat}{' (warm-up)' if not repeat else ''}: "
                      f"(a) {rate_a:,.0f} (b) {rate_b:,.0f} env steps/s, (b)/(a) {rate_b / rate_a:.3f}",
                      flush=True)
            ratios = [y / x for x, y in zip(a, b)]
            chunk_ms = 1e3 * steps * len(SEEDS) / settings["num_evals"] / statistics.median(a)
            table.append((f"{algo} {env}", steps, settings["num_evals"], statistics.median(a),
                          statistics.median(b), statistics.median(ratios), min(ratios), max(ratios),
                          max(b) / max(a), statistics.median(host), statistics.median(host) / chunk_ms,
                          statistics.median(one_off_a), statistics.median(one_off_b)))
    print()
    print("| job | env steps per seed | evaluations (chunks) | (a) env steps/s | (b) env steps/s "
          "| (b)/(a) median | (b)/(a) min-max | best (b) / best (a) | loggers ms/chunk "
          "| loggers / chunk time | one-off s (a) | one-off s (b) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for job, steps, evals, a, b, ratio, low, high, best, ms, share, once_a, once_b in table:
        print(f"| {job} | {steps:,} | {evals} | {a:,.0f} | {b:,.0f} | {ratio:.3f} | {low:.3f}-{high:.3f} "
              f"| {best:.3f} | {ms:.2f} | {share:.2%} | {once_a:.2f} | {once_b:.2f} |")


if __name__ == "__main__":
    main()
