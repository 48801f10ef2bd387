"""Tabular Q-learning training throughput against raw gymnax stepping, side by side.

Both run N vmapped envs for the same number of steps inside one jitted
`lax.scan`: the baseline steps gymnax with uniform random actions and does
nothing else; Q-learning selects epsilon-greedy actions, steps, and updates its
table. Prints env steps/s of each and their ratio (compile excluded, best of
--repeats).

    python experiments/bench_tabular.py [--env FrozenLake-misc] [--num-envs 16] [--steps 2000000]
"""

from __future__ import annotations

import argparse
import time

import jax

from purerl.runtime.run import prepare


def best_time(fn, *args, repeats):
    jax.block_until_ready(fn(*args))  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="FrozenLake-misc")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2_000_000, help="env steps in all")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    job = prepare("q_learning", args.env, total_steps=args.steps, settings={"num_envs": args.num_envs})
    env, algo, hp = job.env, job.algorithm, job.hparams
    iterations = args.steps // args.num_envs

    @jax.jit
    def raw_gymnax(key):
        obs, env_state = env.reset(key, args.num_envs)

        def body(carry, key):
            env_state, obs = carry
            act_key, step_key = jax.random.split(key)
            action = jax.random.randint(act_key, (args.num_envs,), 0, env.num_actions)
            tr, obs, env_state = env.step(step_key, env_state, obs, action)
            return (env_state, obs), tr.reward.sum()

        _, rewards = jax.lax.scan(body, (env_state, obs), jax.random.split(key, iterations))
        return rewards.sum()

    @jax.jit
    def q_learning(key):
        state = algo.init(key, hp)
        state, metrics = jax.lax.scan(lambda s, _: algo.update(s, hp), state, length=iterations)
        return state.q, metrics["abs_td_error"].sum()

    key = jax.random.key(0)
    raw_s = best_time(raw_gymnax, key, repeats=args.repeats)
    q_s = best_time(q_learning, key, repeats=args.repeats)
    steps = iterations * args.num_envs
    print(f"{env.id}, {args.num_envs} vmapped envs, {steps:,} env steps, {jax.devices()[0].platform}")
    print(f"  raw gymnax, random actions: {steps / raw_s:>14,.0f} env steps/s")
    print(f"  tabular Q-learning:         {steps / q_s:>14,.0f} env steps/s")
    print(f"  ratio Q-learning / raw gymnax: {raw_s / q_s:.2f}x")


if __name__ == "__main__":
    main()
