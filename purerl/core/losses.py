"""TD errors and losses in rlax's style: small functions with textbook names.

The Q-learning errors take optional leading batch axes (a gather on the last
axis is cheaper than a vmapped index on CPU); they also vmap.

Time suffixes follow rlax: `_tm1` is the step an action was taken in, `_t`
the step after it. `discount_t` is gamma * (1 - terminated): zero only when
the episode really ended, so a time-limit truncation still bootstraps from the
pre-reset next observation.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp

Array = jax.Array


def q_learning(q_tm1: Array, a_tm1: Array, r_t: Array, discount_t: Array, q_t: Array) -> Array:
    """TD error of Q-learning (Watkins 1989; the DQN target of Mnih et al. 2015).

    r_t + discount_t * max_a Q_target(s_t, a) - Q(s_tm1, a_tm1); the target is
    a constant (stop-gradient). Leading batch axes [...] are optional and
    shared by every argument.

    Args:
      q_tm1: [..., A] online values at s_tm1.
      a_tm1: [...] action taken at s_tm1.
      r_t: [...] reward; discount_t: [...] gamma * (1 - terminated).
      q_t: [..., A] target-network values at the (pre-reset) next observation s_t.

    Returns:
      [...] TD errors.
    """
    chex.assert_equal_shape([q_tm1, q_t])
    chex.assert_equal_shape([a_tm1, r_t, discount_t, q_tm1[..., 0]])
    target = jax.lax.stop_gradient(r_t + discount_t * jnp.max(q_t, -1))
    return target - _select(q_tm1, a_tm1)


def double_q_learning(
    q_tm1: Array, a_tm1: Array, r_t: Array, discount_t: Array, q_t_value: Array, q_t_selector: Array
) -> Array:
    """TD error of Double Q-learning (van Hasselt et al. 2016).

    The online network picks a* = argmax_a q_t_selector, the target network
    values it: r_t + discount_t * q_t_value[a*] - Q(s_tm1, a_tm1).

    Args:
      q_tm1: [..., A] online values at s_tm1.
      a_tm1: [...] action taken.
      r_t: [...] reward; discount_t: [...] gamma * (1 - terminated).
      q_t_value: [..., A] target-network values at s_t.
      q_t_selector: [..., A] online-network values at s_t.

    Returns:
      [...] TD errors.
    """
    chex.assert_equal_shape([q_tm1, q_t_value, q_t_selector])
    chex.assert_equal_shape([a_tm1, r_t, discount_t, q_tm1[..., 0]])
    best = jnp.argmax(q_t_selector, -1)
    target = jax.lax.stop_gradient(r_t + discount_t * _select(q_t_value, best))
    return target - _select(q_tm1, a_tm1)


def _select(q: Array, a: Array) -> Array:
    """q[..., a] per batch element: [..., A], [...] -> [...]."""
    return jnp.take_along_axis(q, a[..., None].astype(jnp.int32), -1)[..., 0]


def l2_loss(x: Array) -> Array:
    """0.5 x^2, elementwise."""
    return 0.5 * jnp.square(x)


def huber_loss(x: Array, delta: Array) -> Array:
    """0.5 x^2 for |x| <= delta, else delta (|x| - 0.5 delta), elementwise (Huber 1964).

    Its gradient is x clipped to [-delta, delta], the error clipping of Mnih et al. (2015).
    """
    abs_x = jnp.abs(x)
    quadratic = jnp.minimum(abs_x, delta)
    return 0.5 * jnp.square(quadratic) + delta * (abs_x - quadratic)


def policy_gradient_loss(log_pi_t: Array, adv_t: Array, w_t: Array | None = None) -> Array:
    """Score-function surrogate -sum_t w_t log pi(a_t | s_t) adv_t / sum_t w_t.

    Its gradient is the REINFORCE estimate (Williams 1992) averaged over the
    weighted steps; the advantage is held constant. Any distribution's
    log-probabilities serve (`purerl.core.distributions`).

    Args:
      log_pi_t: [...] log-probabilities of the actions taken, log pi(a_t | s_t).
      adv_t: [...] advantages, e.g. G_t - b(s_t).
      w_t: [...] step weights, e.g. 1 inside an episode and 0 past its end;
        None: the plain mean over every step.
    """
    chex.assert_equal_shape([log_pi_t, adv_t] + ([] if w_t is None else [w_t]))
    adv_t = jax.lax.stop_gradient(adv_t)
    if w_t is None:
        return -jnp.mean(log_pi_t * adv_t)
    return -jnp.sum(w_t * log_pi_t * adv_t) / jnp.maximum(jnp.sum(w_t), 1.0)


def ppo_clip_loss(ratio_t: Array, adv_t: Array, epsilon: Array) -> Array:
    """PPO's clipped surrogate -mean_t min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t) (Schulman et al. 2017).

    r_t = pi(a_t | s_t) / pi_old(a_t | s_t); the minimum takes the clipped
    ratio only where it lowers the objective, so a step gains nothing by
    moving r_t past 1 + eps where A_t > 0, or below 1 - eps where A_t < 0.
    The advantage is held constant.

    Args:
      ratio_t: [...] probability ratios exp(log pi - log pi_old).
      adv_t: [...] advantages.
      epsilon: scalar clip range.
    """
    chex.assert_equal_shape([ratio_t, adv_t])
    adv_t = jax.lax.stop_gradient(adv_t)
    clipped = jnp.clip(ratio_t, 1.0 - epsilon, 1.0 + epsilon)
    return -jnp.mean(jnp.minimum(ratio_t * adv_t, clipped * adv_t))
