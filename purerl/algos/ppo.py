"""Proximal policy optimisation (Schulman et al. 2017, "Proximal Policy Optimization Algorithms").

The Anakin form of PureJaxRL: every update, each of `num_envs` vmapped actors
runs `rollout_len` steps of the current policy, storing log pi_old(a_t | s_t)
of the action it sampled (before Box actions are clipped to the bounds).
GAE(lambda) advantages (Schulman et al. 2016) stop at termination and
bootstrap at truncation from V of the pre-reset final observation. The
learner then runs `update_epochs` epochs; each permutes all
num_envs * rollout_len samples afresh and splits them into `num_minibatches`
minibatches, so every sample is used once per epoch. On each minibatch,
with advantages normalised over the minibatch and r_t = exp(log pi - log pi_old),
it takes one clipped-Adam step on

    -min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t)
      + value_coef 0.5 max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)
      - entropy_coef H(pi),

with value clipping off when `value_clip_eps` (c) is 0. The step size anneals
linearly over the run (by `lr_decay`). Actor and critic are separate networks
(`purerl.nets.networks`); discrete actions get a categorical policy, Box actions a
diagonal Gaussian in [-1, 1] units with a state-independent learned log-std,
sampled and then clipped to the bounds for the env step. Each update reports
the loss terms, `approx_kl` (the mean of (r - 1) - log r) and `clip_fraction`
(the share of samples with |r - 1| > eps), averaged over its minibatches.

Devices: as in A3C (`purerl.core.parallel`), the actors are split over a device
mesh and gradients are averaged with `lax.pmean`. Each device computes its
actors' advantages; the samples are then gathered onto every device in the
order one device would hold them, every device draws the same permutation from
the replicated learner key, and takes its 1/devices share of each minibatch.
So the minibatches, and the run, are the same to float rounding on 1, 2 or 8
devices.

Evaluation samples the policy, as in training (PureJaxRL's protocol).

Defaults (8 actors x 128 steps, 4 epochs of 4 minibatches, lr 2.5e-3, tanh
64 x 64) reach 500 on CartPole-v1 and about -80 on Acrobot-v1 within 500k env
steps (4 seeds). Pendulum-v1 takes other settings: num_envs 16, update_epochs 10,
num_minibatches 8, lr 1e-3, entropy_coef 0, reward_scale 0.1 (the rest default)
reach about -155 within 500k env steps (4 seeds, sampled policy).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.algos.base import Algorithm
from purerl.algos.onpolicy import Actors, actor_critic, make_optimizer, rollout, split_devices, step_size
from purerl.config.algorithms import PPO
from purerl.core import losses, parallel
from purerl.core.policies import increment
from purerl.core.returns import gae
from purerl.envs import Env

Array = jax.Array
HParams = PPO.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = PPO.static  # the static settings, with defaults


class State(NamedTuple):
    params: Any  # {"policy", "value"[, "log_std"]}, replicated on every device
    opt_state: Any  # Adam state, replicated
    actors: Actors  # leading axis split over devices
    key: Array  # [] learner key (minibatch permutations), replicated
    updates: Array  # [] int32 updates done (num_envs * rollout_len env steps each), saturating


STATE_SPEC = State(parallel.REPLICATED, parallel.REPLICATED, parallel.SHARDED, parallel.REPLICATED,
                   parallel.REPLICATED)


class Batch(NamedTuple):
    """Samples of a rollout, flattened to one leading axis [S]."""

    obs: Array  # [S, *obs_shape]
    action: Array  # [S, *action_shape] as sampled (unclipped)
    log_pi_old: Array  # [S] log pi_old(action | obs) at rollout time
    v_old: Array  # [S] V_old(obs)
    adv: Array  # [S] GAE advantages
    target: Array  # [S] value targets adv + v_old


def normalize(x: Array, axis_name: str | None = None) -> Array:
    """(x - mean) / (std + 1e-8) over every element, of every device's share with `axis_name`."""
    mean = parallel.pmean(jnp.mean(x), axis_name)
    var = parallel.pmean(jnp.mean(jnp.square(x - mean)), axis_name)
    return (x - mean) / (jnp.sqrt(var) + 1e-8)


def minibatches(key: Array, num_samples: int, num_minibatches: int) -> Array:
    """A fresh permutation of range(num_samples), split into num_minibatches rows: [M, num_samples / M]."""
    return jax.random.permutation(key, num_samples).reshape(num_minibatches, -1)


def make_ppo(env: Env, *, total_steps: int, **static: Any) -> Algorithm:
    """PPO with the clipped objective, its actors split over `devices` devices.

    Args:
      env: the environment.
      total_steps: env steps per seed, over which the step size anneals.
      **static: the static settings (`purerl.config.algorithms.PPOStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    if min(s.num_envs, s.rollout_len, s.update_epochs, s.num_minibatches) <= 0 or s.devices < 0:
        raise ValueError("num_envs, rollout_len, update_epochs and num_minibatches must be positive, "
                         "devices non-negative")
    steps_per_update = s.num_envs * s.rollout_len
    if steps_per_update % s.num_minibatches:
        raise ValueError(f"num_minibatches ({s.num_minibatches}) must divide num_envs * rollout_len "
                         f"({steps_per_update}), the samples of an update")
    s = s._replace(devices=split_devices(s.num_envs, s.devices))
    minibatch_size = steps_per_update // s.num_minibatches
    if minibatch_size % s.devices:
        raise ValueError(f"devices ({s.devices}) must divide the minibatch size ({minibatch_size}), "
                         "which they share")
    total_updates = total_steps / steps_per_update
    net = actor_critic(env, network=s.network, hidden=s.hidden, activation=s.activation)

    def init(key, hp):
        policy_key, value_key, reset_key, actor_key, learner_key = jax.random.split(key, 5)
        obs, env_state = env.reset(reset_key, s.num_envs)
        params = net.init(policy_key, value_key, obs, hp.init_log_std)
        actors = Actors(obs, env_state, jax.random.split(actor_key, s.num_envs))
        return State(params, make_optimizer(hp).init(params), actors, learner_key, jnp.zeros((), jnp.int32))

    def loss_fn(params, batch, hp):
        dist = net.distribution(params, batch.obs)
        log_ratio = dist.log_prob(batch.action) - batch.log_pi_old
        ratio = jnp.exp(log_ratio)
        policy_loss = losses.ppo_clip_loss(ratio, batch.adv, hp.clip_eps)
        v_new = net.value(params, batch.obs)
        error = jnp.square(v_new - batch.target)
        v_clipped = batch.v_old + jnp.clip(v_new - batch.v_old, -hp.value_clip_eps, hp.value_clip_eps)
        clipped_error = jnp.maximum(error, jnp.square(v_clipped - batch.target))
        value_loss = 0.5 * jnp.mean(jnp.where(hp.value_clip_eps > 0, clipped_error, error))
        entropy = jnp.mean(dist.entropy())
        loss = policy_loss + hp.value_coef * value_loss - hp.entropy_coef * entropy
        ratio, log_ratio = jax.lax.stop_gradient((ratio, log_ratio))
        return loss, {
            "policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
            "approx_kl": jnp.mean(ratio - 1.0 - log_ratio),
            "clip_fraction": jnp.mean((jnp.abs(ratio - 1.0) > hp.clip_eps).astype(jnp.float32)),
        }

    def samples(params, traj, log_pi, hp):
        """The rollout's Batch, actor-major: sample a * rollout_len + t is actor a's step t."""
        v_t, v_tp1 = net.value(params, traj.obs), net.value(params, traj.next_obs)
        adv = gae(hp.reward_scale * traj.reward, v_t, v_tp1, traj.terminated,
                  traj.terminated | traj.truncated, hp.gamma, hp.gae_lambda)
        batch = Batch(traj.obs, traj.action, log_pi, v_t, adv, adv + v_t)  # [T, N, ...]
        return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1).reshape(-1, *x.shape[2:]), batch)

    def update(state, hp, axis_name=None):
        """One rollout and `update_epochs` epochs of minibatch steps; with `axis_name`, gradients and
        metrics are pmean'd and samples gathered."""
        params = state.params
        actors, (traj, log_pi) = rollout(env, lambda obs, keys: net.sample(params, obs, keys), state.actors,
                                         s.rollout_len)
        batch = parallel.gather(samples(params, traj, log_pi, hp), axis_name)  # every actor, as on one device
        shard = 0 if axis_name is None else jax.lax.axis_index(axis_name)
        progress = state.updates / total_updates
        optimizer = make_optimizer(hp, progress)

        def minibatch_step(carry, idx):
            params, opt_state = carry
            mb = jax.tree.map(lambda x: x[idx], batch)
            mb = mb._replace(adv=normalize(mb.adv, axis_name))
            (loss, metrics), grads = parallel.loss_and_pgrad(loss_fn, axis_name, has_aux=True)(params, mb, hp)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            return (params, opt_state), {"loss": loss, **metrics, "grad_norm": optax.tree.norm(grads)}

        def epoch(carry, key):
            idx = minibatches(key, steps_per_update, s.num_minibatches)
            idx = idx.reshape(s.num_minibatches, s.devices, -1)[:, shard]  # this device's share of each
            return jax.lax.scan(minibatch_step, carry, idx)

        key, epochs_key = jax.random.split(state.key)
        (params, opt_state), metrics = jax.lax.scan(
            epoch, (params, state.opt_state), jax.random.split(epochs_key, s.update_epochs))
        metrics = parallel.pmean({k: jnp.mean(x) for k, x in metrics.items()}, axis_name)
        metrics["lr"] = step_size(hp, progress)
        return State(params, opt_state, actors, key, increment(state.updates)), metrics

    def act(state, obs, key):
        return net.act(state.params, obs, key)

    return Algorithm(init, parallel.data_parallel(update, s.devices, STATE_SPEC), act,
                     steps_per_update=steps_per_update)
