"""Wrappers that change what an env shows: the discretiser, which lets the tabular methods run on a
Box observation. (Sticky actions are gymnax's own `StickyActionWrapper`, applied by `make_env`.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from gymnax.environments import environment, spaces

Array = jax.Array


class Discretize(environment.Environment):
    """Maps a Box observation to one integer cell of a regular grid.

    Args:
      env: the gymnax environment with a 1-D Box observation.
      bins: number of cells per observation dimension.
      low, high: grid bounds per dimension; values outside fall in the edge cell.
    """

    def __init__(self, env, bins: Sequence[int], low: Sequence[float], high: Sequence[float]):
        self.env = env
        self.bins = tuple(int(b) for b in bins)
        self.low = jnp.asarray(low, jnp.float32)
        self.high = jnp.asarray(high, jnp.float32)
        self.strides = jnp.asarray(
            [math.prod(self.bins[i + 1 :]) for i in range(len(self.bins))], jnp.int32
        )

    def cell(self, obs: Array) -> Array:
        frac = (obs - self.low) / (self.high - self.low)
        idx = jnp.clip(jnp.floor(frac * jnp.asarray(self.bins)), 0, jnp.asarray(self.bins) - 1)
        return jnp.sum(idx.astype(jnp.int32) * self.strides)

    @property
    def default_params(self):
        return self.env.default_params

    @property
    def name(self) -> str:
        return self.env.name

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    def step_env(self, key, state, action, params):
        obs, state, reward, terminated, info = self.env.step_env(key, state, action, params)
        return self.cell(obs), state, reward, terminated, info

    def reset_env(self, key, params):
        obs, state = self.env.reset_env(key, params)
        return self.cell(obs), state

    def is_truncated(self, state, params):
        return self.env.is_truncated(state, params)

    def is_terminated(self, state, params):
        return self.env.is_terminated(state, params)

    def action_space(self, params=None):
        return self.env.action_space(params)

    def observation_space(self, params):
        return spaces.Discrete(math.prod(self.bins))
