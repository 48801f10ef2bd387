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
import optax

from purerl.algos.base import Algorithm
from purerl.algos.onpolicy import Actors, actor_critic, make_optimizer, rollout, split_devices, step_size
from purerl.config.algorithms import A3C
from purerl.core import losses, parallel
from purerl.core.policies import increment
from purerl.core.returns import gae
from purerl.envs import Env

Array = jax.Array
HParams = A3C.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = A3C.static  # the static settings, with defaults


class State(NamedTuple):
    params: Any  # {"policy", "value"[, "log_std"]}, replicated on every device
    opt_state: Any  # Adam state, replicated
    actors: Actors  # leading axis split over devices
    updates: Array  # [] int32 updates done (num_envs * rollout_len env steps each), saturating


STATE_SPEC = State(parallel.REPLICATED, parallel.REPLICATED, parallel.SHARDED, parallel.REPLICATED)


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
    s = s._replace(devices=split_devices(s.num_envs, s.devices))
    steps_per_update = s.num_envs * s.rollout_len
    total_updates = total_steps / steps_per_update
    net = actor_critic(env, network=s.network, hidden=s.hidden, activation=s.activation,
                       state_dependent_std=s.state_dependent_std)

    def init(key, hp):
        policy_key, value_key, reset_key, actor_key = jax.random.split(key, 4)
        obs, env_state = env.reset(reset_key, s.num_envs)
        params = net.init(policy_key, value_key, obs, hp.init_log_std)
        actors = Actors(obs, env_state, jax.random.split(actor_key, s.num_envs))
        return State(params, make_optimizer(hp).init(params), actors, jnp.zeros((), jnp.int32))

    def loss_fn(params, traj, hp):
        v_t = net.value(params, traj.obs)
        v_tp1 = jax.lax.stop_gradient(net.value(params, traj.next_obs))
        adv = gae(hp.reward_scale * traj.reward, jax.lax.stop_gradient(v_t), v_tp1, traj.terminated,
                  traj.terminated | traj.truncated, hp.gamma, hp.gae_lambda)
        returns = jax.lax.stop_gradient(adv + v_t)
        dist = net.distribution(params, traj.obs)
        policy_loss = losses.policy_gradient_loss(dist.log_prob(traj.action), adv)
        value_loss = jnp.mean(jnp.square(returns - v_t))
        entropy = jnp.mean(dist.entropy())
        loss = policy_loss + hp.value_coef * value_loss - hp.entropy_coef * entropy
        return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}

    def update(state, hp, axis_name=None):
        """One rollout and gradient step; with `axis_name`, gradients and metrics are pmean'd."""
        policy = lambda obs, keys: (net.sample(state.params, obs, keys)[0], None)
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
        return net.act(state.params, obs, key)

    return Algorithm(init, parallel.data_parallel(update, s.devices, STATE_SPEC), act,
                     steps_per_update=steps_per_update)
