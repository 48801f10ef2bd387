"""Returns and advantages by reverse `lax.scan`, in rlax's style.

Arrays are time-major, [T] or [T, ...] (extra axes are batch). Every
recursion stops at episode ends, so vmapped rollouts that cross an auto-reset
never mix two episodes.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

Array = jax.Array


def discounted_returns(r_t: Array, discount_t: Array, v_T: Array) -> Array:
    """G_t = r_t + discount_t * G_{t+1}, with G_T = v_T.

    Args:
      r_t: [T, ...] rewards.
      discount_t: [T, ...] discount applied after step t: gamma, or 0 where an
        episode ends after step t (returns-to-go then stop there).
      v_T: [...] value to bootstrap from after the last step (0 for none).

    Returns:
      [T, ...] returns.
    """
    chex.assert_equal_shape([r_t, discount_t])

    def step(g, inputs):
        r, discount = inputs
        g = r + discount * g
        return g, g

    _, g = jax.lax.scan(step, jnp.broadcast_to(v_T, r_t.shape[1:]).astype(r_t.dtype), (r_t, discount_t),
                        reverse=True)
    return g


def gae(
    r_t: Array,
    v_t: Array,
    v_tp1: Array,
    terminated_t: Array,
    done_t: Array,
    gamma: Array,
    lambda_: Array,
) -> Array:
    """Generalised advantage estimates (Schulman et al. 2016).

    delta_t = r_t + gamma (1 - terminated_t) V(s'_t) - V(s_t)
    A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1}

    s'_t is the pre-reset next observation, so a truncated step bootstraps from
    its own final observation and a terminated one from nothing; `done_t`
    (terminated or truncated) stops the recursion at every episode end.
    lambda_ = 1 gives the n-step advantage of A3C: each step's return runs to
    the end of the rollout (or of its episode) and bootstraps there.

    Args:
      r_t: [T, ...] rewards.
      v_t: [T, ...] V(s_t).
      v_tp1: [T, ...] V(s'_t), the value of the pre-reset next observation.
      terminated_t, done_t: [T, ...] episode-end flags.
      gamma, lambda_: scalars.

    Returns:
      [T, ...] advantages; add v_t for the value targets.
    """
    chex.assert_equal_shape([r_t, v_t, v_tp1, terminated_t, done_t])
    not_terminated = 1.0 - terminated_t.astype(r_t.dtype)
    delta_t = r_t + gamma * not_terminated * v_tp1 - v_t
    continues = gamma * lambda_ * (1.0 - done_t.astype(r_t.dtype))
    return discounted_returns(delta_t, continues, jnp.zeros_like(v_t[-1]))
