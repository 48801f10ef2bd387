"""What the on-policy actor-critics (A3C, PPO) share: the policy and value networks with their action
distribution, the annealed step size and optimizer, the actors' device split, and the rollout.

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
import jax.numpy as jnp
import numpy as np
import optax

from purerl.core import parallel
from purerl.core.distributions import Categorical, Normal, sample_each
from purerl.envs import Env, Transition, to_bounds
from purerl.nets import networks

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


def step_size(hp: Any, progress: Array) -> Array:
    """The Adam step size at `progress` (fraction of the run done): lr annealed by lr_decay, linearly."""
    return hp.lr * (1.0 - hp.lr_decay * jnp.clip(progress, 0.0, 1.0))


def make_optimizer(hp: Any, progress: Array = 0.0) -> optax.GradientTransformation:
    """Clipped Adam at the step size of `progress`, rebuilt from (traced) hparams wherever it is used."""
    return optax.chain(optax.clip_by_global_norm(hp.max_grad_norm), optax.adam(step_size(hp, progress)))


def split_devices(num_envs: int, devices: int) -> int:
    """The devices the actors are split over: `devices`, or (0) as many as divide num_envs.

    Raises:
      ValueError: the devices do not divide the actors.
    """
    devices = devices or parallel.divisor_devices(num_envs)
    if num_envs % devices:
        raise ValueError(f"devices ({devices}) must divide num_envs ({num_envs}), the actors they split")
    return devices


class ActorCritic(NamedTuple):
    """A policy network with its action distribution and a separate value network, as pure functions.

    init: (policy_key, value_key, obs [N, ...], init_log_std) -> params {"policy", "value"[, "log_std"]}.
    distribution: (params, obs) -> a categorical over logits [..., A], or a Gaussian [..., D] in
      [-1, 1] units.
    sample: (params, obs [N, ...], keys [N]) -> (action [N, ...], log pi(action) [N]), one action per
      actor from its own key; Box actions unclipped, in [-1, 1] units.
    value: (params, obs) -> V(obs) [...].
    act: (params, obs [N, ...], key) -> the env's action [N, ...], sampled (the evaluation policy).
    """

    init: Callable[..., Any]
    distribution: Callable[[Any, Array], Any]
    sample: Callable[[Any, Array, Array], tuple[Array, Array]]
    value: Callable[[Any, Array], Array]
    act: Callable[[Any, Array, Array], Array]


def actor_critic(env: Env, *, network: str, hidden: Any, activation: str,
                 state_dependent_std: bool = False) -> ActorCritic:
    """Separate policy and value networks for `env`.

    Discrete actions get a categorical policy; Box actions a diagonal Gaussian in [-1, 1] units whose
    log-std is a learned vector (`log_std`, initialised to `init_log_std`), plus the network's second
    half of outputs with `state_dependent_std`.
    """
    discrete = env.discrete_actions
    dims = env.num_actions if discrete else int(np.prod(env.action_shape))
    outputs = dims * (1 if discrete or not state_dependent_std else 2)
    sizes = {"hidden": hidden, "activation": activation}
    policy = networks.make(network, env, outputs=outputs, last_scale=0.01, **sizes)
    value_net = networks.make(network, env, outputs=1, **sizes)

    def init(policy_key, value_key, obs, init_log_std):
        params = {"policy": policy.init(policy_key, obs), "value": value_net.init(value_key, obs)}
        if not discrete:
            params["log_std"] = jnp.full((dims,), init_log_std, jnp.float32)
        return params

    def distribution(params, obs):
        out = policy.apply(params["policy"], obs)
        if discrete:
            return Categorical(out)
        if state_dependent_std:
            return Normal(out[..., :dims], params["log_std"] + out[..., dims:])
        return Normal(out, jnp.broadcast_to(params["log_std"], out.shape))

    def sample(params, obs, keys):
        dist = distribution(params, obs)
        action = sample_each(dist, keys)
        log_pi = dist.log_prob(action)
        return (action if discrete else action.reshape(-1, *env.action_shape)), log_pi

    def value(params, obs):
        return value_net.apply(params["value"], obs)[..., 0]

    def act(params, obs, key):
        keys = jax.random.split(key, obs.shape[0])
        return to_env(env, sample(params, obs, keys)[0])

    return ActorCritic(init, distribution, sample, value, act)
