"""A 64-run DQN CartPole sweep (16 points x 4 seeds) three ways, side by side in one run.

1. sweep: `purerl.runtime.sweep.sweep`, every run in one compiled program (compile included), split
   over one device per core as `purerl sweep` does on CPU.
2. queue: the same 64 runs as separate `purerl train` processes, `--parallel` at a time,
   as a job queue runs them (each process pays its own start-up and compile).
3. sequential: the 64 runs one after another in this process, reusing one compiled
   single-run `train` (one compile).

Prints the wall time of each, the ratios queue/sweep and sequential/sweep, and how
many runs end with a different final return than in the sweep.

    python experiments/bench_sweep.py [--total-steps 50000] [--parallel 2] [--skip-queue]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jax
import numpy as np

from purerl.runtime.devices import cpu_device_per_core  # imports nothing that starts a JAX backend

# The 16 points of the grid lr x gamma, lr varying slowest (as purerl.config.points.grid orders them).
POINTS = [{"lr": lr, "gamma": gamma}
          for lr in (5e-5, 1.5e-4, 5e-4, 1.5e-3) for gamma in (0.95, 0.98, 0.99, 0.995)]
SEEDS = [0, 1, 2, 3]


def run_sweep(job):
    from purerl.runtime.sweep import sweep

    begin = time.perf_counter()
    result = sweep(job, POINTS, SEEDS)
    return time.perf_counter() - begin, result.final_return, result.compile_s


def run_sequential(job):
    from purerl.runtime.run import seed_keys
    from purerl.runtime.sweep import point_hparams

    begin = time.perf_counter()
    hparams, _ = point_hparams(job, POINTS)
    program = jax.jit(job.trainer.train)
    keys = seed_keys(SEEDS)
    finals = np.zeros((len(POINTS), len(SEEDS)))
    for p in range(len(POINTS)):
        point = jax.tree.map(lambda x, p=p: x[p], hparams)
        for s in range(len(SEEDS)):
            finals[p, s] = program(keys[s], point)[1]["eval_return"][-1]
    return time.perf_counter() - begin, finals


def run_queue(total_steps, parallel):
    with tempfile.TemporaryDirectory() as tmp:
        def one(task):
            p, seed = task
            out = Path(tmp) / f"p{p}-s{seed}"
            sets = [f"{k}={v}" for k, v in POINTS[p].items()]
            command = [sys.executable, "-m", "purerl", "train", "dqn", "--env", "CartPole-v1",
                       "--total-steps", str(total_steps), "--seed", str(seed), "--set", *sets,
                       "--out", str(out)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(done.stderr)
            return json.loads((out / "summary.json").read_text())["final_return"]["mean"]

        tasks = [(p, s) for p in range(len(POINTS)) for s in SEEDS]
        begin = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            finals = list(pool.map(one, tasks))
        return time.perf_counter() - begin, np.reshape(finals, (len(POINTS), len(SEEDS)))


def agree(finals, sweep_finals) -> str:
    """How many runs end with another return (vectorised and scalar code may differ in the last
    bits, which a long run can amplify), and the mean final return of each way."""
    differ = int(np.sum(~np.isclose(finals, sweep_finals, atol=1e-3)))
    return f"{differ} of {finals.size}; mean {finals.mean():.1f} vs {sweep_finals.mean():.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--total-steps", type=int, default=50_000, help="env steps per run")
    parser.add_argument("--parallel", type=int, default=os.cpu_count(), help="queue: processes at a time")
    parser.add_argument("--skip-queue", action="store_true", help="leave out the separate processes")
    args = parser.parse_args(argv)
    cpu_device_per_core()  # as `purerl sweep` does: on CPU the runs split over the cores
    from purerl.runtime.run import prepare

    job = prepare("dqn", "CartPole-v1", total_steps=args.total_steps)
    runs = len(POINTS) * len(SEEDS)
    print(f"{runs} DQN CartPole runs ({len(POINTS)} points x {len(SEEDS)} seeds) x {args.total_steps:,} "
          f"env steps on {jax.devices()[0].platform} ({os.cpu_count()} cores, {jax.device_count()} devices)",
          flush=True)
    sweep_s, sweep_finals, compile_s = run_sweep(job)
    print(f"  sweep, one program:        {sweep_s:8.1f} s (compile {compile_s:.1f} s)", flush=True)
    sequential_s, sequential_finals = run_sequential(job)
    print(f"  one by one, one compile:   {sequential_s:8.1f} s", flush=True)
    print(f"sequential / sweep: {sequential_s / sweep_s:.1f}x")
    print(f"runs whose final return differs from the sweep's: {agree(sequential_finals, sweep_finals)}")
    if not args.skip_queue:
        queue_s, queue_finals = run_queue(args.total_steps, args.parallel)
        print(f"  {runs} processes, {args.parallel} at a time: {queue_s:8.1f} s", flush=True)
        print(f"queue / sweep: {queue_s / sweep_s:.1f}x")
        print(f"runs whose final return differs from the sweep's: {agree(queue_finals, sweep_finals)}")


if __name__ == "__main__":
    main()
