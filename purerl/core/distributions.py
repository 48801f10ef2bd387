"""Action distributions shared by the policy-gradient algorithms.

Each is a small NamedTuple of arrays (so a pytree: it vmaps, and `jax.vmap` over its leading axis
gives one distribution per actor) with the same four methods:

    dist = distributions.Categorical(logits)  # or Normal(mean, log_std)
    action = dist.sample(key)
    log_pi, entropy, greedy = dist.log_prob(action), dist.entropy(), dist.mode()

A distribution's event is its last axis (actions of a categorical, dimensions of a diagonal
Gaussian); leading axes are batch. The tanh-squashed Gaussian of SAC (`TanhNormal`) has no
closed-form entropy; it samples an action together with its log-probability instead.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
_HALF_LOG_2PI = float(0.5 * np.log(2 * np.pi))
_HALF_LOG_2PI_E = float(0.5 * np.log(2 * np.pi * np.e))
_LOG_2 = float(np.log(2.0))


class Categorical(NamedTuple):
    """A softmax distribution over the last axis; -inf logits mark impossible actions."""

    logits: Array  # [..., A]

    def sample(self, key: Array) -> Array:
        """[...] int actions."""
        return jax.random.categorical(key, self.logits)

    def log_prob(self, action: Array) -> Array:
        """log pi(action), [...] -> [...]."""
        log_p = jax.nn.log_softmax(self.logits)
        return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), -1)[..., 0]

    def entropy(self) -> Array:
        """-sum_a p log p, [...]; an impossible action adds 0 (not 0 * -inf = nan), to the gradient too."""
        log_p = jax.nn.log_softmax(self.logits)
        p = jnp.exp(log_p)
        return -jnp.sum(p * jnp.where(p > 0, log_p, 0.0), -1)

    def mode(self) -> Array:
        """The most likely action, [...]."""
        return jnp.argmax(self.logits, -1)


class Normal(NamedTuple):
    """A Gaussian with diagonal covariance over the last axis."""

    mean: Array  # [..., D]
    log_std: Array  # [..., D] (or broadcastable to the mean)

    def sample(self, key: Array) -> Array:
        """mean + std * eps, eps ~ N(0, I): [..., D]."""
        return self.mean + jnp.exp(self.log_std) * jax.random.normal(key, self.mean.shape)

    def log_prob(self, x: Array) -> Array:
        """log N(x; mean, std^2) summed over the last axis, [..., D] -> [...]."""
        z = (x.reshape(self.mean.shape) - self.mean) * jnp.exp(-self.log_std)
        return jnp.sum(-0.5 * jnp.square(z) - self.log_std - _HALF_LOG_2PI, -1)

    def entropy(self) -> Array:
        """sum_d log std_d + 0.5 log(2 pi e), [...]."""
        log_std = jnp.broadcast_to(self.log_std, self.mean.shape)
        return jnp.sum(log_std + _HALF_LOG_2PI_E, -1)

    def mode(self) -> Array:
        return self.mean


def tanh_log_det_jacobian(u: Array) -> Array:
    """log |d tanh(u) / du| = log(1 - tanh(u)^2), elementwise, for any u.

    Computed as 2 (log 2 - u - softplus(-2u)), which is exact algebra
    (1 - tanh(u)^2 = 4 / (e^u + e^-u)^2) and stays finite where 1 - tanh(u)^2
    rounds to 0 in float32 (|u| > 9 or so), unlike log(1 - tanh(u)^2).
    """
    return 2.0 * (_LOG_2 - u - jax.nn.softplus(-2.0 * u))


class TanhNormal(NamedTuple):
    """a = tanh(u), u ~ N(mean, std^2) diagonal: a Gaussian squashed into (-1, 1) (Haarnoja et al. 2018).

    By the change of variables, log pi(a) = log N(u; mean, std^2) - sum_d log(1 - tanh(u_d)^2).
    """

    mean: Array  # [..., D] of the pre-tanh Gaussian
    log_std: Array  # [..., D] (or broadcastable to the mean)

    def sample(self, key: Array) -> Array:
        """tanh(u), u ~ N(mean, std^2): [..., D] in (-1, 1); reparameterised (differentiable)."""
        return jnp.tanh(Normal(self.mean, self.log_std).sample(key))

    def sample_and_log_prob(self, key: Array) -> tuple[Array, Array]:
        """(a [..., D], log pi(a) [...]) of one reparameterised sample, the log-probability from u itself."""
        u = Normal(self.mean, self.log_std).sample(key)
        return jnp.tanh(u), self.log_prob_pre_tanh(u)

    def log_prob_pre_tanh(self, u: Array) -> Array:
        """log pi(tanh(u)) of the pre-tanh value u: [..., D] -> [...]."""
        return Normal(self.mean, self.log_std).log_prob(u) - jnp.sum(tanh_log_det_jacobian(u), -1)

    def log_prob(self, action: Array) -> Array:
        """log pi(action), [..., D] -> [...], through u = atanh(action).

        Loses precision as |action| nears 1 in float32 (where atanh is ill-conditioned): prefer
        `sample_and_log_prob` for the policy's own samples.
        """
        bound = 1.0 - jnp.finfo(jnp.result_type(action)).eps
        return self.log_prob_pre_tanh(jnp.arctanh(jnp.clip(action, -bound, bound)))

    def mode(self) -> Array:
        """tanh(mean): the deterministic action SAC evaluates."""
        return jnp.tanh(self.mean)


def sample_each(dist: Any, keys: Array) -> Array:
    """One sample per row of the leading axis, each from its own key: [N] keys -> [N, ...].

    Per-actor keys make a sample independent of how the actors are batched or split over devices.
    """
    return jax.vmap(lambda d, key: d.sample(key))(dist, keys)
