"""What the replay-based actor-critic algorithms on Box actions (DDPG, TD3, SAC) share.

Inside these algorithms actions live in [-1, 1] units (the range of a tanh); the env sees them
mapped to its bounds (`envs.to_bounds`), and the replay buffer stores them in env units. Each
update steps N vmapped envs once and adds the transitions to a uniform replay buffer; until
`learning_starts` env steps (all envs together) are stored, the actions are uniform in the
bounds and nothing is learned. The thresholds count updates, so they hold past 2^31 env steps.

    critics = offpolicy.Critics(networks.make(...), count=2)
    q = critics.apply(params, obs, unit_action)  # [count, B]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl.core import replay
from purerl.core.policies import updates_until
from purerl.envs import Env, Transition, from_bounds, to_bounds
from purerl.nets.networks import Network

Array = jax.Array


def check(name: str, env: Env, static: Any) -> int:
    """Raises ValueError naming what does not fit; returns the number of action dimensions.

    Args:
      name: the algorithm, for the message.
      env: the environment.
      static: the algorithm's static settings (`num_envs`, `buffer_size`, `batch_size` are read).
    """
    num_envs, buffer_size, batch_size = static.num_envs, static.buffer_size, static.batch_size
    if env.discrete_actions:
        raise ValueError(f"{name} needs a continuous (Box) action space; {env.id} has a discrete one")
    if min(num_envs, buffer_size, batch_size) <= 0:
        raise ValueError("num_envs, buffer_size and batch_size must be positive")
    if buffer_size < num_envs:
        raise ValueError(f"buffer_size ({buffer_size}) must hold one step of {num_envs} envs")
    if batch_size > buffer_size:
        raise ValueError(f"batch_size ({batch_size}) must not exceed buffer_size ({buffer_size})")
    return int(np.prod(env.action_shape))


def to_env(env: Env, unit_action: Array) -> Array:
    """[N, D] actions in [-1, 1] units -> [N, *action_shape] in the env's bounds (clipped)."""
    return to_bounds(unit_action.reshape(-1, *env.action_shape), env.action_low, env.action_high)


def to_unit(env: Env, action: Array) -> Array:
    """[N, *action_shape] env actions -> [N, D] in [-1, 1] units."""
    return from_bounds(action, env.action_low, env.action_high).reshape(action.shape[0], -1)


def init_buffer(env: Env, key: Array, env_state: Any, obs: Array, buffer_size: int) -> replay.BufferState:
    """An empty buffer of `envs.Transition`s shaped like one step of these envs (nothing is stepped)."""
    dims = int(np.prod(env.action_shape))
    action = to_env(env, jnp.zeros((obs.shape[0], dims)))
    example = jax.eval_shape(env.step, key, env_state, obs, action)[0]
    example = jax.tree.map(lambda x: jnp.zeros(x.shape[1:], x.dtype), env.storage(example))
    return replay.init(example, buffer_size)  # observations in the env's storage dtype


def learning(updates: Array, learning_starts: Array, num_envs: int) -> Array:
    """Whether an update (counted after its env step) learns: `learning_starts` env steps are stored."""
    return updates >= updates_until(learning_starts, num_envs)


def warm_up(key: Array, unit_action: Array, updates: Array, learning_starts: Array, num_envs: int) -> Array:
    """The actions, or uniform ones in [-1, 1] while the update (counted before its step) cannot learn."""
    uniform = jax.random.uniform(key, unit_action.shape, minval=-1.0, maxval=1.0)
    return jnp.where(updates < updates_until(learning_starts, num_envs), uniform, unit_action)


def interact(env: Env, key: Array, env_state: Any, obs: Array, action: Array,
             buffer: replay.BufferState) -> tuple[Transition, Array, Any, replay.BufferState]:
    """Steps the envs with `action` (env units) and stores the step: (transition, obs, env_state, buffer)."""
    transition, obs, env_state = env.step(key, env_state, obs, action)
    return transition, obs, env_state, replay.add(buffer, transition)


def keep_until(learn: Array, learned: dict[str, Any], state: NamedTuple) -> dict[str, Any]:
    """The learned fields where `learn` is true, else the state's own: {field: value}."""
    before = {name: getattr(state, name) for name in learned}
    return jax.tree.map(lambda new, old: jnp.where(learn, new, old), learned, before)


class Critics(NamedTuple):
    """`count` critics Q_i(s, a) of one network; two are stacked on a leading axis of every leaf.

    One critic keeps the network's own parameters (no stacking), so a single-critic algorithm is
    unchanged by this wrapper.
    """

    network: Network  # takes the observation and the [B, D] unit action as an extra input
    count: int  # 1 or 2

    def init(self, key: Array, obs: Array, unit_action: Array) -> Any:
        if self.count == 1:
            return self.network.init(key, obs, unit_action)
        keys = jax.random.split(key, self.count)
        return jax.vmap(self.network.init, in_axes=(0, None, None))(keys, obs, unit_action)

    def apply(self, params: Any, obs: Array, unit_action: Array) -> Array:
        """[count, B] values of [B, ...] observations and [B, D] actions."""
        if self.count == 1:
            return self.network.apply(params, obs, unit_action)[None, ..., 0]
        return jax.vmap(self.network.apply, in_axes=(0, None, None))(params, obs, unit_action)[..., 0]

    def apply_first(self, params: Any, obs: Array, unit_action: Array) -> Array:
        """[B] values of the first critic alone (the one DDPG's and TD3's actors follow)."""
        first = params if self.count == 1 else jax.tree.map(lambda x: x[0], params)
        return self.network.apply(first, obs, unit_action)[..., 0]
