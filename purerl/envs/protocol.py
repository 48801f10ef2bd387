"""The env protocol every algorithm sees: `Env`, a vmapped, auto-resetting env with its specs, and
`Transition`, one step with `terminated` and `truncated` apart and the pre-reset `next_obs`.

Every algorithm bootstraps from `next_obs` and zeroes the continuation only on `terminated`
(Pardo et al. 2018, "Time Limits in Reinforcement Learning"). Policies act on Box actions in
[-1, 1] units; `to_bounds` maps them to the env's bounds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

# The env params a job traces, bound while the training program is traced (see `Env.bind`).
_BOUND: dict[int, Mapping[str, Array]] = {}


class Transition(NamedTuple):
    """One vmapped environment step; leading axis = env."""

    obs: Array  # [N, *obs_shape] observation the action was taken in
    action: Array  # [N, *action_shape]
    reward: Array  # [N]
    terminated: Array  # [N] natural end: no continuation value
    truncated: Array  # [N] time limit: bootstrap from next_obs
    next_obs: Array  # [N, *obs_shape] pre-reset observation after the action


class Env(NamedTuple):
    """A gymnax environment with its params and the facts algorithms need.

    Everything here is static (Python values); only `params` enters jit as
    constants of the compiled program.
    """

    id: str
    env: Any  # the suite's env object (a gymnax `Environment`)
    params: Any
    obs_shape: tuple[int, ...]
    num_obs: int | None  # discrete observations: number of states
    num_actions: int | None  # discrete actions
    action_shape: tuple[int, ...]
    action_low: np.ndarray | None  # Box actions
    action_high: np.ndarray | None
    max_steps: int  # episode time limit
    traced: tuple[str, ...] = ()  # EnvParams fields a job traces (given with --env-params, or swept)
    obs_storage: Any = None  # dtype a replay buffer stores observations in (None: as the env gives them)

    @property
    def discrete_actions(self) -> bool:
        return self.num_actions is not None

    @property
    def current_params(self) -> Any:
        """`params`, with the traced fields' values bound by `bind` while a program is traced."""
        values = _BOUND.get(id(self.env))
        return self.params if values is None else self.params.replace(**values)

    @contextlib.contextmanager
    def bind(self, values: Mapping[str, Array] | None) -> Iterator[None]:
        """Within the block, every step and reset of this env uses `values` (traced arrays) for
        those EnvParams fields, so a program traced there takes them as inputs: one compile serves
        every value of a swept env parameter. The driver binds them around `init` and `period`."""
        if not values:
            yield
            return
        key, outer = id(self.env), _BOUND.get(id(self.env))
        _BOUND[key] = values
        try:
            yield
        finally:
            if outer is None:
                del _BOUND[key]
            else:
                _BOUND[key] = outer

    def traced_values(self, overrides: Mapping[str, float] | None = None) -> dict[str, Array]:
        """The traced fields' values as float32 arrays (the params', or `overrides`)."""
        values = {name: getattr(self.params, name) for name in self.traced} | dict(overrides or {})
        return {name: jnp.asarray(v, jnp.float32) for name, v in values.items()}

    def storage(self, item: Transition) -> Transition:
        """A transition as a replay buffer holds it: observations in `obs_storage` (0/1 grids as bool)."""
        if self.obs_storage is None:
            return item
        cast = lambda x: x.astype(self.obs_storage) if hasattr(x, "astype") else jax.ShapeDtypeStruct(
            x.shape, self.obs_storage)
        return item._replace(obs=cast(item.obs), next_obs=cast(item.next_obs))

    def reset(self, key: Array, num_envs: int) -> tuple[Array, Any]:
        keys = jax.random.split(key, num_envs)
        return jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.current_params)

    def step(
        self, key: Array, env_state: Any, obs: Array, action: Array
    ) -> tuple[Transition, Array, Any]:
        """Steps N envs with auto-reset; returns (transition, obs, env_state).

        `key` is one PRNG key, split over the envs, or [N] keys, one per env
        (per-actor key streams that do not depend on how actors are grouped).
        """
        per_env = jnp.ndim(key) == 1 and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        keys = key if per_env else jax.random.split(key, action.shape[0])
        next_obs, env_state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None)
        )(keys, env_state, action, self.current_params)
        transition = Transition(
            obs=obs,
            action=action,
            reward=reward.astype(jnp.float32),
            terminated=terminated,
            truncated=truncated,
            next_obs=info["final_observation"],
        )
        return transition, next_obs, env_state


def to_bounds(unit: Array, low: Array, high: Array) -> Array:
    """Actions in [-1, 1] units -> the env's bounds: clipped to the unit box, then mapped affinely.

    Args:
      unit: [..., *action_shape] actions in [-1, 1] units (values outside are clipped).
      low, high: [*action_shape] the env's action bounds (`Env.action_low`, `action_high`).
    """
    center, half = (high + low) / 2, (high - low) / 2
    return center + half * jnp.clip(unit, -1.0, 1.0)


def from_bounds(action: Array, low: Array, high: Array) -> Array:
    """The inverse of `to_bounds` on the bounds: [..., *action_shape] env actions -> [-1, 1] units."""
    center, half = (high + low) / 2, (high - low) / 2
    return (action - center) / half
