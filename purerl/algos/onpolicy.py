"""On-policy rollouts of vmapped actors, shared by the actor-critic algorithms (A3C, PPO).

Each actor carries its own PRNG key, so a rollout's samples do not depend on
how the actors are batched or split over devices. Policies act in [-1, 1]
units on Box actions; `to_env` maps them to the env's bounds (clipped) for the
env step, while the transition keeps the unclipped action the policy sampled,
whose log-probability the losses need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from purerl.envs import Env, Transition, to_bounds

Array = jax.Array


class Actors(NamedTuple):
    obs: Array  # [num_envs, *obs_shape] current observation of each actor
    env_state: Any  # [num_envs] gymnax states
    key: Array  # [num_envs] one PRNG key per actor


def split_each(keys: Array, num: int) -> tuple[Array, ...]:
    """Splits every key of [N] keys into `num` new ones: `num` arrays of [N] keys."""
    parts = jax.vmap(jax.random.split, in_axes=(0, None))(keys, num)
    return tuple(parts[:, i] for i in range(num))


def to_env(env: Env, action: Array) -> Array:
    """A policy's action -> the env's: discrete unchanged, a unit-box action mapped to the bounds, clipped."""
    return action if env.discrete_actions else to_bounds(action, env.action_low, env.action_high)


def rollout(
    env: Env, policy: Callable[[Array, Array], tuple[Array, Any]], actors: Actors, length: int
) -> tuple[Actors, tuple[Transition, Any]]:
    """`length` steps of every actor with auto-reset.

    Args:
      env: the environment.
      policy: `policy(obs [N, ...], keys [N]) -> (action [N, ...], extras)`, one
        action per actor from its own key; `extras` (any pytree with a leading
        actor axis, e.g. log-probabilities) is kept with each step.
      actors: the actors' observations, env states and keys.
      length: T, steps per actor.

    Returns:
      (actors after the rollout, (transitions [T, N], extras [T, N])); the
      transitions hold the policy's actions, before `to_env`.
    """

    def env_step(actors, _):
        keys, act_keys, step_keys = split_each(actors.key, 3)
        action, extras = policy(actors.obs, act_keys)
        transition, obs, env_state = env.step(step_keys, actors.env_state, actors.obs, to_env(env, action))
        return Actors(obs, env_state, keys), (transition._replace(action=action), extras)

    return jax.lax.scan(env_step, actors, length=length)
