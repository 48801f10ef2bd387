"""Action distributions shared by the policy-gradient algorithms.

Each is a small NamedTuple of arrays (so a pytree: it vmaps, and `jax.vmap` over its leading axis
gives one distribution per actor) with the same four methods:

    dist = distributions.Categorical(logits)  # or Normal(mean, log_std)
    action = dist.sample(key)
    log_pi, entropy, greedy = dist.log_prob(action), dist.entropy(), dist.mode()

A distribution's event is its last axis (actions of a categorical, dimensions of a diagonal
Gaussian); leading axes are batch. A tanh-squashed Gaussian (SAC) is one more class with these
methods.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
_HALF_LOG_2PI = float(0.5 * np.log(2 * np.pi))
_HALF_LOG_2PI_E = float(0.5 * np.log(2 * np.pi * np.e))


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


def sample_each(dist: Any, keys: Array) -> Array:
    """One sample per row of the leading axis, each from its own key: [N] keys -> [N, ...].

    Per-actor keys make a sample independent of how the actors are batched or split over devices.
    """
    return jax.vmap(lambda d, key: d.sample(key))(dist, keys)
