"""MinAtar throughput: purerl's DQN and A3C against raw gymnax stepping, side by side in one run.

The ceiling is gymnax itself: `num_envs` vmapped envs stepped with uniformly random actions in one
compiled `lax.scan` (auto-reset included), nothing else. purerl's rows train one seed with the
settings of the README's MinAtar rows (`experiments/results.py`), the CNN included, at the same
number of envs; env steps/s count training steps over the run time after compilation (the periodic
evaluations included, as a real run has them). Prints a markdown table with each row's ratio to
the ceiling.

    python experiments/bench_minatar.py [--env Breakout-MinAtar] [--steps 200000]
"""

from __future__ import annotations

import argparse
import importlib
import time

import jax
import jax.numpy as jnp

from purerl.envs import make_env
from purerl.runtime import run

results = importlib.import_module("results")  # experiments/results.py: the README rows' settings


def raw_steps_per_s(env_id: str, num_envs: int, steps: int) -> float:
    """Env steps/s of `num_envs` vmapped envs with random actions in one compiled scan."""
    env = make_env(env_id)

    def rollout(key):
        obs, state = env.reset(key, num_envs)

        def step(carry, key):
            obs, state = carry
            action_key, step_key = jax.random.split(key)
            action = jax.random.randint(action_key, (num_envs,), 0, env.num_actions)
            _, obs, state = env.step(step_key, state, obs, action)
            return (obs, state), None

        (obs, _), _ = jax.lax.scan(step, (obs, state), jax.random.split(key, steps // num_envs))
        return jnp.sum(obs)

    program = jax.jit(rollout).lower(jax.random.key(0)).compile()
    jax.block_until_ready(program(jax.random.key(1)))
    begin = time.perf_counter()
    jax.block_until_ready(program(jax.random.key(2)))
    return (steps // num_envs) * num_envs / (time.perf_counter() - begin)


def purerl_steps_per_s(algo: str, env_id: str, steps: int) -> tuple[float, int]:
    """(env steps/s after compile, num_envs) of one seed with the README row's settings."""
    row = next(r for r in results.RUNS if r.algo == algo and r.env == env_id)
    spec = results.spec_of(row, [0], steps / row.total_steps, {"num_evals": 2})
    result = run.train(spec)
    return result.env_steps[-1] / result.wall_s, spec.settings["num_envs"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Breakout-MinAtar")
    parser.add_argument("--steps", type=int, default=200_000, help="env steps per measurement")
    args = parser.parse_args()
    rows = []
    for algo in ("dqn", "a3c"):
        rate, num_envs = purerl_steps_per_s(algo, args.env, args.steps)
        ceiling = raw_steps_per_s(args.env, num_envs, args.steps)
        rows.append((algo, num_envs, rate, ceiling))
    print(f"\n{args.env} on {jax.devices()[0].device_kind} ({jax.device_count()} device(s)), "
          f"{args.steps:,} env steps per row\n")
    print("| algorithm | envs | purerl env steps/s | raw gymnax env steps/s (random actions) | ratio |")
    print("|---|---|---|---|---|")
    for algo, num_envs, rate, ceiling in rows:
        print(f"| {algo} | {num_envs} | {rate:,.0f} | {ceiling:,.0f} | {rate / ceiling:.3f} |")


if __name__ == "__main__":
    main()
