"""Evaluation: the mean return of a policy over the first episode of N vmapped envs."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from purerl.envs.protocol import Env

Array = jax.Array


def evaluate(env: Env, act, key: Array, num_episodes: int) -> Array:
    """Mean undiscounted return of the first episode in each of N vmapped envs.

    Args:
      env: the environment.
      act: `act(obs [N, ...], key) -> action [N, ...]`, the evaluation policy.
      key: PRNG key.
      num_episodes: N, the number of episodes (one per env).

    Returns:
      scalar mean return.
    """
    reset_key, key = jax.random.split(key)
    obs, env_state = env.reset(reset_key, num_episodes)
    carry = (obs, env_state, jnp.zeros(num_episodes), jnp.zeros(num_episodes, bool), key, 0)

    def cond(carry):
        *_, done, _, t = carry
        return (t < env.max_steps) & ~jnp.all(done)

    def body(carry):
        obs, env_state, ret, done, key, t = carry
        key, act_key, step_key = jax.random.split(key, 3)
        action = act(obs, act_key)
        tr, obs, env_state = env.step(step_key, env_state, obs, action)
        ret = ret + jnp.where(done, 0.0, tr.reward)
        done = done | tr.terminated | tr.truncated
        return obs, env_state, ret, done, key, t + 1

    return jnp.mean(jax.lax.while_loop(cond, body, carry)[2])
