"""Action selection shared by the algorithms."""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def greedy(key: Array, q: Array) -> Array:
    """argmax over the last axis, ties broken uniformly at random.

    A plain argmax on a zero-initialised table always picks action 0.

    Args:
      key: PRNG key.
      q: [..., A] action values.
    """
    noise = jax.random.uniform(key, q.shape)
    return jnp.argmax(jnp.where(q == q.max(-1, keepdims=True), noise, -1.0), axis=-1)


def epsilon_greedy(key: Array, q: Array, epsilon: Array) -> Array:
    """Uniform random action with probability epsilon, else greedy.

    Args:
      key: PRNG key.
      q: [..., A] action values.
      epsilon: scalar exploration probability.
    """
    greedy_key, explore_key, coin_key = jax.random.split(key, 3)
    batch = q.shape[:-1]
    explore = jax.random.uniform(coin_key, batch) < epsilon
    random_action = jax.random.randint(explore_key, batch, 0, q.shape[-1])
    return jnp.where(explore, random_action, greedy(greedy_key, q))


def linear_schedule(start: Array, end: Array, fraction: Array, step: Array, total_steps: int) -> Array:
    """Falls linearly from `start` to `end` over `fraction` of `total_steps`, then stays."""
    progress = jnp.where(fraction > 0, step / jnp.maximum(fraction * total_steps, 1.0), 1.0)
    return start + (end - start) * jnp.clip(progress, 0.0, 1.0)
