"""Environments: gymnax by id, a discretising wrapper, and vmapped stepping.

gymnax 1.x auto-resets inside `step` and reports `terminated` and `truncated`
apart, with the pre-reset observation in `info["final_observation"]`. Every
algorithm bootstraps from that observation and zeroes the continuation only on
`terminated` (Pardo et al. 2018, "Time Limits in Reinforcement Learning").
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import environment, spaces

Array = jax.Array
_UNBOUNDED = 1e30  # gymnax writes "unbounded" as float32 max.

# Envs whose observations are 0/1 grids that gymnax casts to float32: a replay buffer stores them as
# bool (a quarter of the bytes), exactly. tests/test_envs.py checks the values on random rollouts.
BINARY_OBS = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
              "SpaceInvaders-MinAtar", "Catch-bsuite", "DeepSea-bsuite")

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
    env: environment.Environment
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
        from gymnax.wrappers import StickyActionWrapper

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


def evaluate(env: Env, act, key: Array, num_episodes: int) -> Array:
    """Mean undiscounted return of the first episode in each of N vmapped envs.

    Args:
      env: the environment.
      act: `act(obs [N, ...], key) -> action [N, ...]`, the evaluation policy.
      key: PRNG key.
      num_episodes: N, the number of episodes (one per env).

    Returns:
      scalar mean return.
    """
    reset_key, key = jax.random.split(key)
    obs, env_state = env.reset(reset_key, num_episodes)
    carry = (obs, env_state, jnp.zeros(num_episodes), jnp.zeros(num_episodes, bool), key, 0)

    def cond(carry):
        *_, done, _, t = carry
        return (t < env.max_steps) & ~jnp.all(done)

    def body(carry):
        obs, env_state, ret, done, key, t = carry
        key, act_key, step_key = jax.random.split(key, 3)
        action = act(obs, act_key)
        tr, obs, env_state = env.step(step_key, env_state, obs, action)
        ret = ret + jnp.where(done, 0.0, tr.reward)
        done = done | tr.terminated | tr.truncated
        return obs, env_state, ret, done, key, t + 1

    return jnp.mean(jax.lax.while_loop(cond, body, carry)[2])
