"""Action selection, schedules and update counters shared by the algorithms.

Counters count updates, not env steps: an int32 env-step count wraps negative past 2^31 steps
(minutes on an accelerator), while updates take `steps_per_update` env steps each. Schedules run
on the fraction of the run done, a float; env-step thresholds become update thresholds exactly.
"""

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


INT32_MAX = 2**31 - 1


def linear_schedule(start: Array, end: Array, fraction: Array, progress: Array) -> Array:
    """Falls linearly from `start` to `end` over the first `fraction` of the run, then stays.

    Args:
      start, end: the values at the start and after `fraction` of the run.
      fraction: the share of the run the fall takes (0: `end` throughout).
      progress: the share of the run done, e.g. updates / total updates (above 1: `end`).
    """
    t = jnp.where(fraction > 0, progress / jnp.where(fraction > 0, fraction, 1.0), 1.0)
    return start + (end - start) * jnp.clip(t, 0.0, 1.0)


def updates_until(env_steps: Array, steps_per_update: int) -> Array:
    """ceil(env_steps / steps_per_update): the updates after which `env_steps` (>= 0) have been taken.

    Exact int32 arithmetic for any int32 `env_steps` (no `env_steps + steps_per_update - 1`).
    """
    return -(-jnp.asarray(env_steps, jnp.int32) // steps_per_update)


def increment(counter: Array) -> Array:
    """counter + 1, saturating at the int32 maximum instead of wrapping negative."""
    return counter + (counter < INT32_MAX).astype(counter.dtype)
