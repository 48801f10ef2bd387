"""Action selection shared by the algorithms."""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def _argmax_random_ties(q: Array, noise: Array) -> Array:
    return jnp.argmax(jnp.where(q == q.max(-1, keepdims=True), noise, -1.0), axis=-1)


def greedy(key: Array, q: Array) -> Array:
    """argmax over the last axis, ties broken uniformly at random.

    A plain argmax on a zero-initialised table always picks action 0.

    Args:
      key: PRNG key.
      q: [..., A] action values.
    """
    return _argmax_random_ties(q, jax.random.uniform(key, q.shape))


def epsilon_greedy(key: Array, q: Array, epsilon: Array) -> Array:
    """Uniform random action with probability epsilon, else greedy (random ties).

    One uniform draw of [..., A + 2] supplies the coin, the random action and
    the tie-breaking noise: on CPU the PRNG is a large share of a tabular step.

    Args:
      key: PRNG key.
      q: [..., A] action values.
      epsilon: scalar exploration probability.
    """
    num_actions = q.shape[-1]
    u = jax.random.uniform(key, (*q.shape[:-1], num_actions + 2))
    random_action = jnp.minimum(jnp.floor(u[..., 1] * num_actions).astype(jnp.int32), num_actions - 1)
    greedy_action = _argmax_random_ties(q, u[..., 2:]).astype(jnp.int32)
    return jnp.where(u[..., 0] < epsilon, random_action, greedy_action)


def linear_schedule(start: Array, end: Array, fraction: Array, step: Array, total_steps: int) -> Array:
    """Falls linearly from `start` to `end` over `fraction` of `total_steps`, then stays."""
    progress = jnp.where(fraction > 0, step / jnp.maximum(fraction * total_steps, 1.0), 1.0)
    return start + (end - start) * jnp.clip(progress, 0.0, 1.0)
