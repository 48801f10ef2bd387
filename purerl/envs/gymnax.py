"""The gymnax adapter: every gymnax 1.x env by id, with its EnvParams as (traced) settings, the
discretiser and sticky actions.

gymnax 1.x auto-resets inside `step` and reports `terminated` and `truncated` apart, with the
pre-reset observation in `info["final_observation"]`, which `Env.step` returns as `next_obs`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces
from gymnax.wrappers import StickyActionWrapper

from purerl.envs.protocol import Env
from purerl.envs.wrappers import Discretize

_UNBOUNDED = 1e30  # gymnax writes "unbounded" as float32 max.

# Envs whose observations are 0/1 grids that gymnax casts to float32: a replay buffer stores them as
# bool (a quarter of the bytes), exactly. The env tests check the values on random rollouts.
BINARY_OBS = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
              "SpaceInvaders-MinAtar", "Catch-bsuite", "DeepSea-bsuite")


@functools.cache
def check_gymnax() -> None:
    """Raises ValueError unless `gymnax` is gymnax 1.x, whose `step` returns six values.

    Some packages (stable-gymnax) install a module of the same name with the old five-value
    `step` (no `truncated`), which would train on wrong bootstraps or fail deep inside JAX.
    """
    try:
        env, params = gymnax.make("CartPole-v1")
        obs, state = jax.eval_shape(env.reset, jax.random.key(0), params)
        out = jax.eval_shape(env.step, jax.random.key(0), state, 0, params)
    except Exception as e:  # an API this purerl does not know fails anywhere in there
        raise ValueError(f"the installed gymnax does not work as gymnax 1.x ({type(e).__name__}: {e}); "
                         "reinstall it with pip install --force-reinstall 'gymnax>=1.0'") from None
    if len(out) != 6:
        raise ValueError(
            f"the installed gymnax's step returns {len(out)} values, not gymnax 1.x's 6 (obs, state, reward, "
            "terminated, truncated, info): another package (e.g. stable-gymnax) replaced it; "
            "reinstall it with pip install --force-reinstall 'gymnax>=1.0'")


def env_param_fields(params: Any) -> dict[str, str]:
    """The settable EnvParams fields by kind: "float" (traced), "int" or "bool" (static)."""
    kinds = {}
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if np.ndim(value) != 0:
            continue  # array-valued fields (Acrobot's torques) are not settable one by one
        value = np.asarray(value)
        kinds[field.name] = {"b": "bool", "i": "int", "u": "int"}.get(value.dtype.kind, "float")
    return kinds


def set_params(env_id: str, params: Any, values: Mapping[str, Any]) -> tuple[Any, tuple[str, ...]]:
    """EnvParams with `values` set, checked; returns (params, the float fields given: traced)."""
    kinds = env_param_fields(params)
    changes, traced = {}, []
    for name, value in values.items():
        if name not in kinds:
            raise ValueError(f"{env_id} has no env param {name!r}; its params are: {', '.join(kinds)}")
        kind = kinds[name]
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"env param {name} of {env_id} takes true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"env param {name} of {env_id} takes a finite number, got {value!r}")
        elif kind == "int":
            if not float(value).is_integer():
                raise ValueError(f"env param {name} of {env_id} takes an integer, got {value!r}")
            value = int(value)
        else:
            value = float(value)
            traced.append(name)
        changes[name] = value
    if changes.get("max_steps_in_episode", 1) < 1:
        given = values["max_steps_in_episode"]
        raise ValueError(f"env param max_steps_in_episode must be positive, got {given!r}")
    return params.replace(**changes), tuple(traced)


def make_env(
    env_id: str,
    env_kwargs: dict | None = None,
    *,
    bins: Sequence[int] | None = None,
    bounds: Sequence[Sequence[float]] | None = None,
    env_params: Mapping[str, Any] | None = None,
    sticky_actions: float = 0.0,
) -> Env:
    """Makes a gymnax env by id, optionally discretising its Box observation.

    Args:
      env_id: a gymnax id, e.g. "FrozenLake-misc" or "CartPole-v1".
      env_kwargs: constructor keyword arguments, e.g. {"is_slippery": False}.
      bins: cells per observation dimension (turns on the discretiser).
      bounds: [low, high] per dimension; defaults to the observation space's
        bounds, which must then be finite.
      env_params: EnvParams fields to set, e.g. {"gravity": 4.9}. Float fields are traced (a
        sweep over them is one program); integer and boolean ones are static.
      sticky_actions: probability that the env repeats the previous action instead of the
        chosen one (gymnax's `StickyActionWrapper`; the original MinAtar uses 0.1).

    Raises:
      ValueError: unknown env id, bad kwargs or params, or an impossible discretisation.
    """
    check_gymnax()
    env_kwargs = dict(env_kwargs or {})
    if env_id not in gymnax.registered_envs:
        raise ValueError(
            f"unknown env {env_id!r}; gymnax envs are: {', '.join(gymnax.registered_envs)}"
        )
    try:
        env, params = gymnax.make(env_id, **env_kwargs)
    except (TypeError, ValueError) as e:
        raise ValueError(f"bad --env-kwargs for {env_id}: {e}") from None
    except OSError as e:  # MNISTBandit downloads MNIST inside gymnax.make
        raise ValueError(f"{env_id} could not be made: gymnax.make downloads its data and that failed "
                         f"({' '.join(str(e).split())})") from None
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
    obs, _ = env.reset(jax.random.key(0), params)
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
