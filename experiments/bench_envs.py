"""purerl's env step against each suite's own vmapped, auto-resetting step, side by side in one run.

Both step the same N envs with the same uniformly random actions for T steps inside one jitted
`lax.scan` (compile excluded, best of 3 timings), summing every observation and reward (so no step
can be compiled away). The suite's own: gymnax's `vmap(env.step)`;
Brax's training env (`brax.envs.create(..., batch_size=N, episode_length=L, auto_reset=True)`, its
`EpisodeWrapper` and `AutoResetWrapper`). purerl's: `make_env(...).step`, which also keeps the final
observation and, for Brax, draws every reset afresh from its own key (Brax restarts every episode from
its first state). Rows for suites that are not installed are left out with a line saying so.

    python experiments/bench_envs.py [--envs 64] [--steps 1000]
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import jax

from purerl import envs


def best_of(fn, *args, repeats: int = 3) -> float:
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - begin)
    return min(times)


def random_actions(env: envs.Env, key, shape):
    if env.discrete_actions:
        return jax.random.randint(key, shape, 0, env.num_actions)
    return jax.random.uniform(key, (*shape, *env.action_shape), minval=-1.0, maxval=1.0)


def purerl_rollout(env: envs.Env, n: int, steps: int):
    @jax.jit
    def run(key):
        obs, state = env.reset(key, n)

        def body(carry, key):
            obs, state = carry
            act_key, step_key = jax.random.split(key)
            transition, obs, state = env.step(step_key, state, obs, random_actions(env, act_key, (n,)))
            return (obs, state), obs.sum() + transition.reward.sum()

        return jax.lax.scan(body, (obs, state), jax.random.split(key, steps))[1].sum()

    return run


def gymnax_rollout(env: envs.Env, n: int, steps: int):
    suite, params = env.env, env.params

    @jax.jit
    def run(key):
        obs, state = jax.vmap(suite.reset, in_axes=(0, None))(jax.random.split(key, n), params)

        def body(state, key):
            act_key, step_key = jax.random.split(key)
            obs, state, reward, *_ = jax.vmap(suite.step, in_axes=(0, 0, 0, None))(
                jax.random.split(step_key, n), state, random_actions(env, act_key, (n,)), params)
            return state, obs.sum() + reward.sum()

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1].sum()

    return run


def brax_rollout(env: envs.Env, name: str, n: int, steps: int):
    from brax import envs as brax_envs

    own = brax_envs.create(name, episode_length=env.max_steps, auto_reset=True, batch_size=n,
                           backend="generalized")

    @jax.jit
    def run(key):
        state = own.reset(key)

        def body(state, key):
            state = own.step(state, random_actions(env, key, (n,)))
            return state, state.obs.sum() + state.reward.sum()

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1].sum()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    n, steps, key = args.envs, args.steps, jax.random.key(0)
    rows = []
    env = envs.make_env("CartPole-v1")
    rows.append(("gymnax", "CartPole-v1", gymnax_rollout(env, n, steps), purerl_rollout(env, n, steps)))
    if importlib.util.find_spec("brax") is not None:
        env = envs.make_env("brax:inverted_pendulum")
        rows.append(("brax", "inverted_pendulum", brax_rollout(env, "inverted_pendulum", n, steps),
                     purerl_rollout(env, n, steps)))
    else:
        print("brax: not installed, row left out (pip install 'purerl[brax]')")
    print(f"{n} envs x {steps} steps, random actions, {jax.devices()[0].platform}, best of 3")
    print("| suite | env | suite's own step (env steps/s) | purerl's `Env.step` | ratio |")
    print("|---|---|---|---|---|")
    for suite, name, own, ours in rows:
        own_rate, our_rate = n * steps / best_of(own, key), n * steps / best_of(ours, key)
        ratio = our_rate / own_rate
        print(f"| {suite} | {name} | {own_rate:,.0f} | {our_rate:,.0f} | {ratio:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
