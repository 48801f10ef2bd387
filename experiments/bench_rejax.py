"""purerl against rejax, side by side in one run, on the same configs.

rejax 0.1.3 needs gymnax 0.0.9 (five-value `step`), so it runs in a separate
virtual environment that this script creates (`.venv-rejax`, from PyPI) and
is timed in a subprocess; purerl runs in this process. Both train one seed
with the same env, number of envs, total steps, network sizes, batch size,
buffer size, updates per env step (one gradient step per step of all envs, as
rejax does) and evaluation schedule (20 evaluations of
128 episodes). Times exclude compilation except where a row says so.

Rows:
  dqn-1env   DQN, CartPole-v1, rejax's DQN defaults: 1 env, 131,072 buffer, batch 256
  dqn-8env   DQN, CartPole-v1, 8 envs, 10,000 buffer
  ddpg-td3   purerl's DDPG against rejax's TD3 on Pendulum-v1 (rejax has no DDPG; TD3 adds twin
             critics, target-policy smoothing and delayed actor updates, so it computes more per step)
  a3c-ppo    time to a return of 475 on CartPole-v1: purerl's A3C against rejax's PPO (500k steps)

    python experiments/bench_rejax.py [--rows dqn-1env,dqn-8env,ddpg-td3,a3c-ppo] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np

from purerl.run import prepare, train

ROOT = Path(__file__).resolve().parent.parent
REJAX_ENV = ROOT / ".venv-rejax"
REJAX_PACKAGES = ["rejax==0.1.3", "gymnax==0.0.9"]
NUM_EVALS = 20

# name -> (purerl algo, rejax algo, env, total steps, shared, purerl-only settings, rejax-only settings)
ROWS = {
    "dqn-1env": (
        "dqn", "dqn", "CartPole-v1", 131_072,
        {"num_envs": 1, "buffer_size": 131_072, "batch_size": 256},
        {"hidden": [64, 64], "double": True, "lr": 3e-4, "tau": 0.01, "target_period": 1,
         "learning_starts": 2048, "epsilon_end": 0.05, "epsilon_decay": 0.1, "train_freq": 1},
        {},
    ),
    "dqn-8env": (
        "dqn", "dqn", "CartPole-v1", 500_000,
        {"num_envs": 8, "buffer_size": 10_000, "batch_size": 256},
        {"hidden": [64, 64], "double": True, "lr": 3e-4, "tau": 0.01, "target_period": 1,
         "learning_starts": 2048, "epsilon_end": 0.05, "epsilon_decay": 0.1, "train_freq": 1},
        {},
    ),
    "ddpg-td3": (
        "ddpg", "td3", "Pendulum-v1", 50_000,
        {"num_envs": 1, "buffer_size": 131_072, "batch_size": 256},
        {"hidden": [64, 64], "tau": 0.01, "learning_starts": 2048},
        {},
    ),
    "a3c-ppo": ("a3c", "ppo", "CartPole-v1", 500_000, {}, {}, {}),
}
REJAX_NAMES = {"num_envs": "num_envs", "buffer_size": "buffer_size", "batch_size": "batch_size"}


def ensure_rejax_env() -> Path:
    python = REJAX_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {REJAX_ENV} with {' '.join(REJAX_PACKAGES)} ...", flush=True)
        venv.create(REJAX_ENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *REJAX_PACKAGES], check=True)
    return python


def run_rejax(python: Path, algo: str, env: str, total: int, shared: dict, extra: dict) -> dict:
    config = {"algo": algo, "env": env, "total_timesteps": total, "eval_freq": total // NUM_EVALS,
              **{REJAX_NAMES[k]: v for k, v in shared.items()}, **extra}
    worker = Path(__file__).with_name("rejax_worker.py")
    out = subprocess.run([python, worker, json.dumps(config)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["compile_s"] = result["first_s"] - result["run_s"]
    return result


def run_purerl(algo: str, env: str, total: int, settings: dict) -> dict:
    job = prepare(algo, env, total_steps=total, settings={"num_evals": NUM_EVALS, **settings})
    result = train(job, seeds=[0])
    curve = result.metrics["eval_return"][0].tolist()
    return {"run_s": result.wall_s, "compile_s": result.compile_s, "curve": curve,
            "steps": result.env_steps.tolist(), "total_steps": job.trainer.total_steps}


def time_to(result: dict, threshold: float, with_compile: bool) -> float:
    """Wall time until the first evaluation at or above `threshold` (inf if never)."""
    hits = [s for s, r in zip(result["steps"], result["curve"]) if r >= threshold]
    if not hits:
        return float("inf")
    run = result["run_s"] * hits[0] / result["total_steps"]
    return run + (result["compile_s"] if with_compile else 0.0)


def report(name: str, ours: dict, theirs: dict) -> None:
    ours_sps = ours["total_steps"] / ours["run_s"]
    theirs_sps = theirs["total_steps"] / theirs["run_s"]
    print(f"{name}: {ours['total_steps']:,} env steps")
    print(f"  purerl {ours_sps:>10,.0f} env steps/s, compile {ours['compile_s']:5.1f} s, "
          f"final return {ours['curve'][-1]:8.1f}")
    print(f"  rejax  {theirs_sps:>10,.0f} env steps/s, compile {theirs['compile_s']:5.1f} s, "
          f"final return {theirs['curve'][-1]:8.1f}")
    print(f"  env-steps/s ratio purerl / rejax: {ours_sps / theirs_sps:.2f}x")
    if name == "a3c-ppo":
        for with_compile in (False, True):
            a, b = time_to(ours, 475, with_compile), time_to(theirs, 475, with_compile)
            label = "compile included" if with_compile else "compile excluded"
            print(f"  time to 475 ({label}): purerl {a:.1f} s, rejax PPO {b:.1f} s, ratio {b / a:.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: check that everything runs")
    parser.add_argument("--purerl-only", action="store_true", help="skip rejax (no second venv)")
    args = parser.parse_args(argv)
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")

    python = None if args.purerl_only else ensure_rejax_env()
    for name in rows:
        ours_algo, their_algo, env, total, shared, ours_only, theirs_only = ROWS[name]
        if args.quick:
            total = 4096
            ours_only = {**ours_only, "learning_starts": 256} if "learning_starts" in ours_only else ours_only
        ours = run_purerl(ours_algo, env, total, {**shared, **ours_only})
        if python is None:
            print(f"{name}: purerl {ours['total_steps'] / ours['run_s']:,.0f} env steps/s, "
                  f"final return {ours['curve'][-1]:.1f}")
            continue
        theirs = run_rejax(python, their_algo, env, total, shared, theirs_only)
        report(name, ours, theirs)
        assert np.isfinite(ours["curve"][-1])


if __name__ == "__main__":
    sys.exit(main())
