"""Advantage actor-critic (Mnih et al. 2016, "Asynchronous Methods for Deep Reinforcement Learning").

The synchronous form (A2C): every update, each of `num_envs` vmapped actors
runs `rollout_len` steps of the current policy, and the learner takes one
gradient step on

    -log pi(a_t | s_t) A_t + value_coef (R_t - V(s_t))^2 - entropy_coef H(pi(. | s_t)),

averaged over steps and actors, with A_t held constant. A_t is the n-step
advantage R_t - V(s_t), R_t the discounted rewards to the end of the rollout
bootstrapped from V there (`gae_lambda = 1`), or GAE(lambda) (Schulman et al.
2016). Both stop at episode ends: a terminated step adds nothing after its
reward, a truncated one bootstraps from V of its pre-reset final observation.
Rewards enter the losses times `reward_scale` (0.1), which keeps value
targets near unit scale on every classic-control task, and the step size
anneals linearly to zero over the run, as in the paper.

`num_envs` counts the learner's actors, all devices together: `devices` only
splits them over a device mesh with `jax.shard_map`, each device holding
num_envs / devices of them, and the gradients are averaged with `lax.pmean`
(`purerl.core.parallel`). The paper's asynchronous (Hogwild) workers become one
synchronous learner that sees the same parallel actors without stale
gradients. Each actor carries its own PRNG key and every device starts from
the same parameters, so the same settings are the same run, to float
rounding, on 1, 2 or 8 devices. Discrete actions get a categorical policy,
Box actions a diagonal Gaussian in [-1, 1] units (state-independent learned
log-std, or a state-dependent one), sampled and then clipped to the bounds for
the env step; the log-probability is that of the unclipped sample.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from purerl.algos.base import Algorithm
from purerl.algos.onpolicy import Actors, rollout, to_env
from purerl.config.algorithms import A3C
from purerl.core import losses, parallel
from purerl.core.distributions import Categorical, Normal, sample_each
from purerl.core.policies import increment
from purerl.core.returns import gae
from purerl.envs import Env
from purerl.nets import networks

Array = jax.Array
HParams = A3C.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = A3C.static  # the static settings, with defaults


class State(NamedTuple):
    params: Any  # {"policy", "value"[, "log_std"]}, replicated on every device
    opt_state: Any  # Adam state, replicated
    actors: Actors  # leading axis split over devices
    updates: Array  # [] int32 updates done (num_envs * rollout_len env steps each), saturating


STATE_SPEC = State(parallel.REPLICATED, parallel.REPLICATED, parallel.SHARDED, parallel.REPLICATED)


def step_size(hp: HParams, progress: Array) -> Array:
    """The Adam step size at `progress` (fraction of the run done): lr annealed by lr_decay, linearly."""
    return hp.lr * (1.0 - hp.lr_decay * jnp.clip(progress, 0.0, 1.0))


def make_optimizer(hp: HParams, progress: Array = 0.0) -> optax.GradientTransformation:
    """Clipped Adam at the step size of `progress`, rebuilt from hparams."""
    return optax.chain(optax.clip_by_global_norm(hp.max_grad_norm), optax.adam(step_size(hp, progress)))


def make_a3c(env: Env, *, total_steps: int, **static: Any) -> Algorithm:
    """Synchronous advantage actor-critic, its actors split over `devices` devices.

    Args:
      env: the environment.
      total_steps: env steps per seed, over which the step size anneals.
      **static: the static settings (`purerl.config.algorithms.A3CStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    if min(s.num_envs, s.rollout_len) <= 0 or s.devices < 0:
        raise ValueError("num_envs and rollout_len must be positive, devices non-negative")
    s = s._replace(devices=s.devices or parallel.divisor_devices(s.num_envs))
    if s.num_envs % s.devices:
        raise ValueError(f"devices ({s.devices}) must divide num_envs ({s.num_envs}), the actors they split")
    steps_per_update = s.num_envs * s.rollout_len
    total_updates = total_steps / steps_per_update
    discrete = env.discrete_actions
    dims = env.num_actions if discrete else int(np.prod(env.action_shape))
    outputs = dims * (1 if discrete or not s.state_dependent_std else 2)
    sizes = {"hidden": s.hidden, "activation": s.activation}
    policy = networks.make(s.network, env, outputs=outputs, last_scale=0.01, **sizes)
    value = networks.make(s.network, env, outputs=1, **sizes)

    def distribution(params, obs):
        """A categorical over logits [..., A], or a Gaussian [..., D] in [-1, 1] units."""
        out = policy.apply(params["policy"], obs)
        if discrete:
            return Categorical(out)
        if s.state_dependent_std:
            return Normal(out[..., :dims], params["log_std"] + out[..., dims:])
        return Normal(out, jnp.broadcast_to(params["log_std"], out.shape))

    def sample(params, obs, keys):
        """One action per actor from its own key: [N] keys -> [N, ...] (unclipped)."""
        action = sample_each(distribution(params, obs), keys)
        return action if discrete else action.reshape(-1, *env.action_shape)

    def v(params, obs):
        return value.apply(params["value"], obs)[..., 0]

    def init(key, hp):
        policy_key, value_key, reset_key, actor_key = jax.random.split(key, 4)
        obs, env_state = env.reset(reset_key, s.num_envs)
        params = {"policy": policy.init(policy_key, obs), "value": value.init(value_key, obs)}
        if not discrete:
            params["log_std"] = jnp.full((dims,), hp.init_log_std, jnp.float32)
        actors = Actors(obs, env_state, jax.random.split(actor_key, s.num_envs))
        return State(params, make_optimizer(hp).init(params), actors, jnp.zeros((), jnp.int32))

    def loss_fn(params, traj, hp):
        v_t = v(params, traj.obs)
        v_tp1 = jax.lax.stop_gradient(v(params, traj.next_obs))
        adv = gae(hp.reward_scale * traj.reward, jax.lax.stop_gradient(v_t), v_tp1, traj.terminated,
                  traj.terminated | traj.truncated, hp.gamma, hp.gae_lambda)
        returns = jax.lax.stop_gradient(adv + v_t)
        dist = distribution(params, traj.obs)
        policy_loss = losses.policy_gradient_loss(dist.log_prob(traj.action), adv)
        value_loss = jnp.mean(jnp.square(returns - v_t))
        entropy = jnp.mean(dist.entropy())
        loss = policy_loss + hp.value_coef * value_loss - hp.entropy_coef * entropy
        return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}

    def update(state, hp, axis_name=None):
        """One rollout and gradient step; with `axis_name`, gradients and metrics are pmean'd."""
        policy = lambda obs, keys: (sample(state.params, obs, keys), None)
        actors, (traj, _) = rollout(env, policy, state.actors, s.rollout_len)
        (loss, metrics), grads = parallel.loss_and_pgrad(loss_fn, axis_name, has_aux=True)(
            state.params, traj, hp
        )
        progress = state.updates / total_updates
        optimizer = make_optimizer(hp, progress)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = {"loss": loss, **metrics, "grad_norm": optax.tree.norm(grads)}
        metrics = {**parallel.pmean(metrics, axis_name), "lr": step_size(hp, progress)}
        return State(params, opt_state, actors, increment(state.updates)), metrics

    def act(state, obs, key):
        keys = jax.random.split(key, obs.shape[0])
        return to_env(env, sample(state.params, obs, keys))

    return Algorithm(init, parallel.data_parallel(update, s.devices, STATE_SPEC), act,
                     steps_per_update=steps_per_update)
