"""The README's results table and learning curves, from one command.

Trains every algorithm on its reference env(s), all seeds of a run in one compiled call, writes
a results dir per run (the same summary.json and metrics.csv as `purerl train`), prints a
markdown table of the final return across seeds (mean, 95% bootstrap interval of the mean, IQM)
and writes it to OUT/table.md, then draws the learning curves, one panel per env.

    python experiments/results.py [--seeds 10] [--out results] [--only NAME ...] [--figure PNG]

A run whose results dir already holds the same run is read back, not retrained (pass
--overwrite to retrain), so the table and figure can be redrawn without training again.
`--scale 0.01 --set num_evals=2 eval_episodes=8` makes a quick smoke test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from purerl import plot, registry, stats
from purerl.cli import metrics_csv, parse_pairs, summary, with_devices, write_atomic
from purerl.run import prepare, train

CARTPOLE_BINS = [3, 3, 8, 12]  # x, x_dot, theta, theta_dot
CARTPOLE_BOUNDS = [[-2.4, 2.4], [-3.0, 3.0], [-0.2095, 0.2095], [-3.5, 3.5]]


class Run(NamedTuple):
    name: str  # results subdir and --only name
    algo: str
    env: str
    label: str  # the env as the table shows it
    total_steps: int  # env steps per seed
    env_kwargs: dict = {}
    settings: dict = {}
    bins: list | None = None
    bounds: list | None = None


# Each algorithm on its reference env(s) with default settings, at its TARGETS.md budget.
FROZEN_LAKE = "FrozenLake-misc (slippery 4x4)"
RUNS = [
    Run("q_learning-frozenlake", "q_learning", "FrozenLake-misc", FROZEN_LAKE, 1_000_000),
    Run("sarsa-frozenlake", "sarsa", "FrozenLake-misc", FROZEN_LAKE, 1_000_000),
    Run("q_learning-cartpole", "q_learning", "CartPole-v1", "CartPole-v1, `--discretize 3,3,8,12`", 5_000_000,
        bins=CARTPOLE_BINS, bounds=CARTPOLE_BOUNDS),
    Run("reinforce-cartpole", "reinforce", "CartPole-v1", "CartPole-v1", 2_000_000),
    Run("dqn-cartpole", "dqn", "CartPole-v1", "CartPole-v1", 500_000),
    Run("ddpg-pendulum", "ddpg", "Pendulum-v1", "Pendulum-v1", 20_000),
    Run("a3c-cartpole", "a3c", "CartPole-v1", "CartPole-v1", 500_000),
    Run("a3c-acrobot", "a3c", "Acrobot-v1", "Acrobot-v1", 500_000),
    Run("a3c-pendulum", "a3c", "Pendulum-v1", "Pendulum-v1 (Gaussian policy)", 5_000_000),
]


def train_argv(run: Run, total_steps: int, settings: dict, seeds: list[int], out: Path) -> list[str]:
    """The `purerl train` arguments that repeat this run on its own."""
    argv = ["train", run.algo, "--env", run.env, "--total-steps", str(total_steps),
            "--seeds", str(len(seeds)), "--seed", str(seeds[0])]
    if run.env_kwargs:
        argv += ["--env-kwargs", *(f"{k}={json.dumps(v)}" for k, v in run.env_kwargs.items())]
    if settings:
        argv += ["--set", *(f"{k}={json.dumps(v)}" for k, v in settings.items())]
    if run.bins:
        argv += ["--discretize", ",".join(map(str, run.bins))]
        argv += ["--bounds=" + ",".join(f"{lo:g}:{hi:g}" for lo, hi in run.bounds)]
    return [*argv, "--out", str(out)]


def run_or_reuse(run: Run, out: Path, seeds: list[int], scale: float, common: dict, overwrite: bool,
                 produced_by: str) -> dict:
    """Trains one run into `out` and returns its summary, or reads back the same run done before."""
    total_steps = max(1, round(run.total_steps * scale))
    settings = with_devices(run.algo, None, {**run.settings, **common})
    spec = {"total_steps": total_steps, "settings": settings, "seeds": seeds}
    summary_path = out / "summary.json"
    if summary_path.is_file() and not overwrite:
        info = json.loads(summary_path.read_text())
        if info.get("results_run") == spec:
            print(f"{run.name}: reusing {out}", flush=True)
            return info
        raise ValueError(f"{out} holds a different run; pass --overwrite to retrain it")

    job = prepare(run.algo, run.env, run.env_kwargs, total_steps=total_steps, settings=settings,
                  bins=run.bins, bounds=run.bounds)
    print(f"{run.name}: {len(seeds)} seeds x {job.trainer.total_steps:,} env steps ...", flush=True)
    result = train(job, seeds)
    info = summary(job, result, train_argv(run, total_steps, settings, seeds, out))
    info |= {"results_run": spec, "produced_by": produced_by}
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "metrics.csv", metrics_csv(result))
    write_atomic(summary_path, json.dumps(info, indent=2) + "\n")
    print(f"{run.name}: final return {info['final_return']['mean']:.3f}; run {result.wall_s:.0f} s "
          f"after a {result.compile_s:.0f} s compile", flush=True)
    return info


def steps_text(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return f"{n:,}"


def table(rows: list[tuple[Run, dict]]) -> str:
    """The markdown results table: final return across seeds, mean, 95% bootstrap CI and IQM."""
    lines = [
        "| algorithm | env | evaluation | env steps / seed | seeds | mean final return | 95% CI | IQM "
        "| wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run, info in rows:
        final = np.asarray(info["final_return"]["per_seed"])
        low, high = stats.mean_ci(final)
        f = ".3f" if np.abs(final).max() <= 1.5 else ".1f"  # success rates vs returns
        lines.append(
            f"| `{run.algo}` | {run.label} | {registry.ALGORITHMS[run.algo].evaluation} "
            f"| {steps_text(info['total_env_steps'])} | {len(final)} | {final.mean():{f}} "
            f"| [{low:{f}}, {high:{f}}] | {stats.iqm(final):{f}} | {info['wall_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def figure(rows: list[tuple[Run, dict]], dirs: dict[str, Path], out: Path) -> Path:
    """One panel per env; log-scale env steps where the budgets in a panel differ 10x or more."""
    panels = {}
    for run, info in rows:
        panels.setdefault(run.env, []).append((run, info))
    entries = []
    for env, members in panels.items():
        labels = [run.algo + (" (discretised)" if run.bins else "") for run, _ in members]
        curves = [plot.load(dirs[run.name])._replace(label=label) for (run, _), label in zip(members, labels)]
        budgets = [info["total_env_steps"] for _, info in members]
        entries.append((env, curves, max(budgets) >= 10 * min(budgets)))
    return plot.save_panels(entries, out, ncols=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10, help="seeds per run (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--out", default="results", help="dir for the results dirs and table.md")
    parser.add_argument("--figure", help="learning-curve image (default OUT/curves.png)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=[r.name for r in RUNS],
                        help="these runs only: " + ", ".join(r.name for r in RUNS))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every budget (smoke tests)")
    parser.add_argument("--set", nargs="*", metavar="NAME=VALUE", help="a setting for every run")
    parser.add_argument("--overwrite", action="store_true", help="retrain runs already in OUT")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 for a confidence interval")
    if args.scale <= 0:
        parser.error("--scale must be positive")

    start = time.perf_counter()
    out = Path(args.out)
    seeds = list(range(args.seed, args.seed + args.seeds))
    common = parse_pairs(args.set, "--set")
    produced_by = " ".join(["python", "experiments/results.py", *(sys.argv[1:] if argv is None else argv)])
    runs = [r for r in RUNS if not args.only or r.name in args.only]
    dirs = {r.name: out / r.name for r in runs}
    rows = [(r, run_or_reuse(r, dirs[r.name], seeds, args.scale, common, args.overwrite, produced_by))
            for r in runs]

    text = table(rows)
    write_atomic(out / "table.md", text)
    path = figure(rows, dirs, Path(args.figure) if args.figure else out / "curves.png")
    print()
    print(text)
    print(f"table in {out / 'table.md'}, curves in {path}; {time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
