"""`make_env`: an env of any suite purerl adapts, by id, as the `Env` every algorithm sees.

Each suite's adapter (`purerl.envs.gymnax`, `purerl.envs.brax`, ...) makes the suite's env behind
gymnax 1.x's per-env API (`reset(key, params)`, `step(key, state, action, params)` with auto-reset,
`terminated` and `truncated` apart and `info["final_observation"]`) with gymnax-style params; here
the params are set, the discretiser and sticky actions applied, and the specs read.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces
from gymnax.wrappers import StickyActionWrapper

from purerl.config import suites
from purerl.envs.gymnax import _UNBOUNDED, BINARY_OBS, set_params
from purerl.envs.protocol import Env
from purerl.envs.wrappers import Discretize


def _adapter(suite: str) -> Any:
    """The adapter module of an installed suite (imported only when used)."""
    suites.check_installed(suite)
    return importlib.import_module(suites.SUITES[suite].adapter)


def suite_env(env_id: str, env_kwargs: dict) -> tuple[Any, Any]:
    """The env and default params of `env_id` from its suite's adapter."""
    suite, name = suites.split(env_id)
    return _adapter(suite).make(name, env_kwargs)


def env_names(suite: str) -> list[str]:
    """Every env id a suite offers (SUITE:NAME, bare for gymnax)."""
    names = _adapter(suite).names()
    return names if suite == suites.DEFAULT else [f"{suite}:{n}" for n in names]


def make_env(
    env_id: str,
    env_kwargs: dict | None = None,
    *,
    bins: Sequence[int] | None = None,
    bounds: Sequence[Sequence[float]] | None = None,
    env_params: Mapping[str, Any] | None = None,
    sticky_actions: float = 0.0,
) -> Env:
    """Makes an env by id, of any suite purerl adapts, optionally discretising its Box observation.

    Args:
      env_id: an env id: a gymnax id, e.g. "FrozenLake-misc" or "CartPole-v1", or SUITE:NAME of
        another suite, e.g. "brax:hopper" (`purerl.config.suites`).
      env_kwargs: constructor keyword arguments, e.g. {"is_slippery": False}.
      bins: cells per observation dimension (turns on the discretiser).
      bounds: [low, high] per dimension; defaults to the observation space's
        bounds, which must then be finite.
      env_params: EnvParams fields to set, e.g. {"gravity": 4.9}. Float fields are traced (a
        sweep over them is one program); integer and boolean ones are static.
      sticky_actions: probability that the env repeats the previous action instead of the
        chosen one (gymnax's `StickyActionWrapper`; the original MinAtar uses 0.1).

    Raises:
      ValueError: unknown suite or env id, a suite not installed, bad kwargs or params, or an
        impossible discretisation.
    """
    env, params = suite_env(env_id, dict(env_kwargs or {}))
    params, traced = set_params(env_id, params, env_params or {})

    if bins is not None:
        space = env.observation_space(params)
        if not isinstance(space, spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"the discretiser needs a 1-D Box observation; {env_id} has {space}")
        dims = space.shape[0]
        if len(bins) != dims or any(int(b) < 1 for b in bins):
            raise ValueError(f"bins must give a positive count for each of {env_id}'s {dims} dims")
        if bounds is None:
            low = np.broadcast_to(np.asarray(space.low, np.float64), (dims,))
            high = np.broadcast_to(np.asarray(space.high, np.float64), (dims,))
            unbounded = [i for i in range(dims) if abs(low[i]) >= _UNBOUNDED or abs(high[i]) >= _UNBOUNDED]
            if unbounded:
                raise ValueError(
                    f"{env_id}'s observation dims {unbounded} are unbounded: give bounds for every dim"
                )
        else:
            if len(bounds) != dims or any(len(b) != 2 or not b[0] < b[1] for b in bounds):
                raise ValueError(f"bounds must be [low, high], low < high, for each of {env_id}'s dims")
            low, high = zip(*bounds)
        env = Discretize(env, bins, low, high)

    obs_space = env.observation_space(params)
    act_space = env.action_space(params)
    if sticky_actions:
        if not isinstance(act_space, spaces.Discrete):
            raise ValueError(f"sticky actions repeat a discrete action; {env_id}'s actions are continuous")
        if not 0.0 <= sticky_actions <= 1.0:
            raise ValueError(f"sticky actions must be a probability in [0, 1], got {sticky_actions}")
        env = StickyActionWrapper(env, sticky_actions)
    obs = jax.eval_shape(env.reset, jax.random.key(0), params)[0]  # shapes only: nothing compiled
    if isinstance(act_space, spaces.Discrete):
        num_actions, action_shape, low, high = int(act_space.n), (), None, None
    elif isinstance(act_space, spaces.Box):
        num_actions, action_shape = None, tuple(act_space.shape)
        low = np.broadcast_to(np.asarray(act_space.low, np.float32), action_shape)
        high = np.broadcast_to(np.asarray(act_space.high, np.float32), action_shape)
    else:
        raise ValueError(f"{env_id}: unsupported action space {act_space}")
    return Env(
        id=env_id,
        env=env,
        params=params,
        obs_shape=tuple(jnp.shape(obs)),
        num_obs=int(obs_space.n) if isinstance(obs_space, spaces.Discrete) else None,
        num_actions=num_actions,
        action_shape=action_shape,
        action_low=low,
        action_high=high,
        max_steps=int(params.max_steps_in_episode),
        traced=traced,
        obs_storage=jnp.bool_ if env_id in BINARY_OBS and bins is None else None,
    )
