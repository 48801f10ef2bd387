"""Flax networks; parameters are plain pytrees that live in algorithm states."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
    """Dense layers with an activation between them; the last layer is linear.

    Attributes:
      features: hidden sizes followed by the output size.
      activation: hidden nonlinearity.
      last_scale: scale of the last layer's initial weights (small for policy
        heads, so the initial policy is near uniform / near zero).
    """

    features: Sequence[int]
    activation: str = "relu"
    last_scale: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = getattr(nn, self.activation)
        x = x.astype(jnp.float32)
        for size in self.features[:-1]:
            x = act(nn.Dense(size)(x))
        init = nn.initializers.variance_scaling(self.last_scale, "fan_avg", "uniform")
        return nn.Dense(self.features[-1], kernel_init=init)(x)


class Table(nn.Module):
    """One learnable row per discrete observation: a tabular policy or value function.

    Attributes:
      num_obs: number of discrete observations.
      features: row size (actions for logits, 1 for a value).
    """

    num_obs: int
    features: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        table = self.param("table", nn.initializers.zeros, (self.num_obs, self.features))
        return table[obs]
