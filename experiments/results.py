"""The results table and learning curves (docs/results.md, excerpted in README.md), from one command.

Trains every algorithm on its reference env(s), each at the budget of its learning target, all seeds
of a run in one compiled program, into a results dir per run through `purerl.experiment.train`, the
same path as `purerl train` (so `purerl train --config OUT/NAME/config.json` repeats a row's per-seed
numbers bit for bit), prints a markdown table of the final return across seeds (mean, 95% bootstrap
interval of the mean, IQM) next to the row's learning target and a uniformly random policy's return
under the same evaluation protocol, and writes it to OUT/table.md, then draws the learning curves,
one panel per env. The MinAtar rows run at CPU
budgets with fewer seeds (their `seeds` column says how many); `--rows minatar` or `--only` picks
rows.

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

from purerl import experiment
from purerl.analysis import plot, stats
from purerl.analysis.scores import random_return
from purerl.config import registry
from purerl.config.spec import JobSpec
from purerl.io import records

CARTPOLE_BINS = [3, 3, 8, 12]  # x, x_dot, theta, theta_dot
CARTPOLE_BOUNDS = [[-2.4, 2.4], [-3.0, 3.0], [-0.2095, 0.2095], [-3.5, 3.5]]


class Run(NamedTuple):
    name: str  # results subdir and --only name
    algo: str
    env: str
    label: str  # the env as the table shows it
    total_steps: int  # env steps per seed: the budget of the row's learning target
    target: str  # the learning target: what the mean final return should reach within total_steps
    env_kwargs: dict = {}
    settings: dict = {}
    bins: list | None = None
    bounds: list | None = None
    seeds: int | None = None  # seeds for this row, if fewer than --seeds (CPU-costly rows)
    sticky_actions: float = 0.0
    env_params: dict = {}


# Each algorithm on its reference env(s) with default settings, at the budget of its learning target.
# The learning tests check the targets of the FrozenLake and classic-control rows on 4 seeds (DQN's
# on its best periodic evaluation). On FrozenLake the target is the greedy policy's success rate
# within 100 steps, computed exactly from the transition model (the optimal policy's is 0.744), of
# which the final return is a sampled estimate.
FROZEN_LAKE = "FrozenLake-misc (slippery 4x4)"
SUCCESS = "success >= 0.72"
CATCH = ">= 0.9"
SOLVED = ">= 475"  # CartPole-v1: 500 is the most an episode can return
PENDULUM = ">= -200"
RUNS = [
    Run("q_learning-frozenlake", "q_learning", "FrozenLake-misc", FROZEN_LAKE, 1_000_000, SUCCESS),
    Run("sarsa-frozenlake", "sarsa", "FrozenLake-misc", FROZEN_LAKE, 1_000_000, SUCCESS),
    Run("q_learning-cartpole", "q_learning", "CartPole-v1", "CartPole-v1, `--discretize 3,3,8,12`", 5_000_000,
        ">= 400", bins=CARTPOLE_BINS, bounds=CARTPOLE_BOUNDS),
    Run("reinforce-cartpole", "reinforce", "CartPole-v1", "CartPole-v1", 2_000_000, ">= 450"),
    Run("dqn-cartpole", "dqn", "CartPole-v1", "CartPole-v1", 500_000, SOLVED),
    Run("ddpg-pendulum", "ddpg", "Pendulum-v1", "Pendulum-v1", 20_000, PENDULUM),
    Run("a3c-cartpole", "a3c", "CartPole-v1", "CartPole-v1", 500_000, SOLVED),
    Run("a3c-acrobot", "a3c", "Acrobot-v1", "Acrobot-v1", 500_000, ">= -100"),
    # A3C's Gaussian policy on Pendulum: clearly above a random policy (about -1200).
    Run("a3c-pendulum", "a3c", "Pendulum-v1", "Pendulum-v1 (Gaussian policy)", 5_000_000, ">= -600"),
    Run("ppo-cartpole", "ppo", "CartPole-v1", "CartPole-v1", 500_000, SOLVED),
    Run("ppo-acrobot", "ppo", "Acrobot-v1", "Acrobot-v1", 500_000, ">= -90"),
    Run("ppo-pendulum", "ppo", "Pendulum-v1", "Pendulum-v1 (Gaussian policy; settings below)", 500_000,
        ">= -250", settings={"num_envs": 16, "update_epochs": 10, "num_minibatches": 8, "lr": 1e-3,
                             "entropy_coef": 0.0, "reward_scale": 0.1}),
    Run("td3-pendulum", "td3", "Pendulum-v1", "Pendulum-v1", 20_000, PENDULUM),
    Run("sac-pendulum", "sac", "Pendulum-v1", "Pendulum-v1", 20_000, PENDULUM),
    Run("dqn-catch", "dqn", "Catch-bsuite", "Catch-bsuite", 100_000, CATCH,
        settings={"learning_starts": 1_000}),
    # REINFORCE plays max_steps_in_episode steps per episode (masked after its end): Catch's episodes
    # last 9 steps, gymnax's limit is 1,000.
    Run("reinforce-catch", "reinforce", "Catch-bsuite",
        "Catch-bsuite, `--env-params max_steps_in_episode=10`", 500_000, CATCH,
        env_params={"max_steps_in_episode": 10}),
    Run("a3c-catch", "a3c", "Catch-bsuite", "Catch-bsuite", 100_000, CATCH),
    Run("ppo-catch", "ppo", "Catch-bsuite", "Catch-bsuite", 100_000, CATCH),
]

# MinAtar (gymnax's, no sticky actions: comparable with gymnax's own baselines), the CNN of Young &
# Tian 2019 (conv 16 x 3x3, then 128 units), at CPU budgets, far below the 10M steps of gymnax's own
# baselines: the target is to learn, i.e. to end above a uniformly random policy.
MINATAR_DQN = {"num_envs": 8, "train_freq": 2, "batch_size": 64, "buffer_size": 100_000, "lr": 1e-4,
               "learning_starts": 5_000, "target_period": 125, "epsilon_end": 0.01, "epsilon_decay": 0.1,
               "loss": "huber", "hidden": [128], "num_evals": 10, "eval_episodes": 64}
MINATAR_A3C = {"num_envs": 64, "rollout_len": 16, "lr": 1e-3, "entropy_coef": 0.01, "reward_scale": 1.0,
               "gae_lambda": 0.95, "hidden": [128], "activation": "relu", "num_evals": 10,
               "eval_episodes": 64}
MINATAR_PPO = {"num_envs": 64, "rollout_len": 16, "update_epochs": 4, "num_minibatches": 4, "lr": 5e-4,
               "hidden": [128], "activation": "relu", "num_evals": 10, "eval_episodes": 64}
MINATAR = ["Breakout", "SpaceInvaders", "Asterix", "Freeway"]
ABOVE_RANDOM = "above random"
RUNS.append(Run("ppo-breakout", "ppo", "Breakout-MinAtar", "Breakout-MinAtar (CNN)", 500_000, ABOVE_RANDOM,
                settings=MINATAR_PPO, seeds=4))
for game in MINATAR:
    env_id = f"{game}-MinAtar"
    RUNS.append(Run(f"dqn-{game.lower()}", "dqn", env_id, f"{env_id} (CNN)", 250_000, ABOVE_RANDOM,
                    settings=MINATAR_DQN, seeds=4))
    # A3C: 1M steps on Breakout and Asterix, 500k on the others (CPU time; each row states its budget).
    a3c_steps = 1_000_000 if game in ("Breakout", "Asterix") else 500_000
    RUNS.append(Run(f"a3c-{game.lower()}", "a3c", env_id, f"{env_id} (CNN)", a3c_steps, ABOVE_RANDOM,
                    settings=MINATAR_A3C, seeds=4))


def spec_of(run: Run, seeds: list[int], scale: float, common: dict) -> JobSpec:
    """The job spec of a row at `scale` times its budget, with the `common` settings."""
    total_steps = max(1, round(run.total_steps * scale))
    seeds = seeds[: run.seeds] if run.seeds else seeds
    return JobSpec.create(run.algo, run.env, run.env_kwargs, total_steps=total_steps,
                          settings={**run.settings, **common}, seeds=seeds, bins=run.bins, bounds=run.bounds,
                          sticky_actions=run.sticky_actions, env_params=run.env_params)


def run_or_reuse(run: Run, out: Path, spec: JobSpec, overwrite: bool, command: list[str]) -> dict:
    """Trains one row into `out` and returns its summary, or reads back the same run done before."""
    info = records.read_summary(out) if out.is_dir() else None
    if info is not None and not overwrite:
        if records.read_config(out).spec == spec:
            print(f"{run.name}: reusing {out}", flush=True)
            return info
        raise ValueError(f"{out} holds a different run; pass --overwrite to retrain it")
    print(f"{run.name}: {spec.num_seeds} seeds x {spec.total_steps:,} env steps ...", flush=True)
    experiment.train(spec, out, experiment.Options(overwrite=True, command=command))
    info = records.read_summary(out)
    print(f"{run.name}: final return {info['final_return']['mean']:.3f}; run {info['wall_s']:.0f} s "
          f"after a {info['compile_s']:.0f} s compile; repeat with purerl train --config "
          f"{out / records.CONFIG}", flush=True)
    return info


def steps_text(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{unit}"
    return f"{n:,}"


def table(rows: list[tuple[Run, dict]]) -> str:
    """The markdown results table: the learning target, final return across seeds (mean, 95%
    bootstrap CI and IQM) and a random policy's return."""
    lines = [
        "| algorithm | env | evaluation | env steps / seed | seeds | target | mean final return | 95% CI "
        "| IQM | random policy | device | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, info in rows:
        spec = JobSpec.from_dict(info["spec"])
        device = info.get("provenance", {}).get("device_kind", "?")
        env = run.label + (f", sticky actions {spec.sticky_actions:g}" if "MinAtar" in run.env else "")
        final = np.asarray(info["final_return"]["per_seed"])
        low, high = stats.mean_ci(final)
        f = ".3f" if np.abs(final).max() <= 1.5 else ".1f"  # success rates vs returns
        lines.append(
            f"| `{run.algo}` | {env} | {registry.ALGORITHMS[run.algo].evaluation} "
            f"| {steps_text(info['total_env_steps'])} | {len(final)} | {run.target} | {final.mean():{f}} "
            f"| [{low:{f}}, {high:{f}}] | {stats.iqm(final):{f}} | {random_return(spec):{f}} | {device} "
            f"| {info['wall_s']:.0f} |"
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


def parse_setting(item: str) -> tuple[str, object]:
    """name=value, the value parsed as JSON where it parses."""
    name, sep, text = item.partition("=")
    if not sep or not name:
        raise ValueError(f"--set takes name=value, got {item!r}")
    try:
        return name, json.loads(text)
    except json.JSONDecodeError:
        return name, text


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
    parser.add_argument("--rows", choices=["all", "classic", "minatar"], default="all",
                        help="all rows, those without MinAtar (classic) or the MinAtar ones")
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
    common = dict(parse_setting(item) for item in args.set or [])
    command = ["python", "experiments/results.py", *(sys.argv[1:] if argv is None else argv)]
    runs = [r for r in RUNS if (not args.only or r.name in args.only)
            and (args.rows == "all" or (args.rows == "minatar") == ("MinAtar" in r.env))]
    dirs = {r.name: out / r.name for r in runs}
    rows = [(r, run_or_reuse(r, dirs[r.name], spec_of(r, seeds, args.scale, common), args.overwrite, command))
            for r in runs]

    text = table(rows)
    records.write_atomic(out / "table.md", text)
    path = figure(rows, dirs, Path(args.figure) if args.figure else out / "curves.png")
    print()
    print(text)
    print(f"table in {out / 'table.md'}, curves in {path}; {time.perf_counter() - start:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
