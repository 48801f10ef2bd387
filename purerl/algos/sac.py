"""Soft actor-critic with automatic temperature (Haarnoja et al. 2018, "Soft actor-critic algorithms
and applications").

A stochastic actor pi(a|s): a = tanh(u), u ~ N(mu(s), sigma(s)^2) with a state-dependent mean and
log-std (clipped to [LOG_STD_MIN, LOG_STD_MAX]), scaled to the action bounds; twin critics
Q1, Q2 with Polyak-averaged targets; and a temperature alpha, learned as log alpha. Each update
steps N vmapped envs once, stores the transitions in a uniform replay buffer and takes one
gradient step each on

  the critics, both towards y = r + gamma (1 - terminated) (min_i Q_i'(s', a') - alpha log pi(a'|s')),
      with a' ~ pi(.|s') sampled afresh at the pre-reset next observation s';
  the actor, down alpha log pi(a|s) - min_i Q_i(s, a), a ~ pi(.|s) reparameterised;
  the temperature, down -log alpha (log pi(a|s) + target_entropy), the log-probability held
      constant: alpha grows while the policy's entropy is below the target and shrinks above it;

then the target critics move to tau * online + (1 - tau) * target. The target entropy is
-target_entropy_scale |A| (the paper's -|A| at the default scale 1); alpha_lr = 0 keeps alpha at
init_alpha. Until `learning_starts` env steps the actions are uniform in the bounds and nothing is
learned. Evaluation runs the deterministic tanh(mu(s)).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.algos import offpolicy
from purerl.algos.base import Algorithm
from purerl.config.algorithms import SAC
from purerl.core import losses, replay
from purerl.core.distributions import TanhNormal, sample_each
from purerl.core.policies import increment
from purerl.envs import Env
from purerl.nets import networks

Array = jax.Array
HParams = SAC.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = SAC.static  # the static settings, with defaults
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class State(NamedTuple):
    actor_params: Any
    critic_params: Any  # both critics stacked on a leading axis of 2
    target_critic_params: Any  # like critic_params
    log_alpha: Array  # [] log temperature
    actor_opt_state: Any  # Adam state
    critic_opt_state: Any  # Adam state
    alpha_opt_state: Any  # Adam state
    buffer: replay.BufferState  # of envs.Transition, actions in env units
    obs: Array  # [N, *obs_shape] current observation of each env
    env_state: Any  # [N] gymnax states
    key: Array  # PRNG key
    updates: Array  # [] int32 updates done (num_envs env steps each), saturating


def soft_critic_target(r_t: Array, terminated_t: Array, q_t: Array, log_pi_t: Array, alpha: Array,
                       gamma: Array) -> Array:
    """y = r_t + gamma (1 - terminated_t) (min_i Q_i'(s'_t, a'_t) - alpha log pi(a'_t | s'_t)).

    Args:
      r_t: [B] rewards.
      terminated_t: [B] natural episode ends (not time limits).
      q_t: [C, B] target critics at the pre-reset next observation s'_t and a fresh a'_t ~ pi(.|s'_t).
      log_pi_t: [B] log pi(a'_t | s'_t) of that same sample.
      alpha: temperature.
      gamma: discount.
    """
    soft_value = jnp.min(q_t, 0) - alpha * log_pi_t
    return r_t + gamma * (1.0 - terminated_t.astype(r_t.dtype)) * soft_value


def temperature_loss(log_alpha: Array, log_pi: Array, target_entropy: Array) -> Array:
    """-log_alpha * mean(log pi + target_entropy), the log-probabilities held constant.

    Its gradient in log alpha is -mean(log pi) - target_entropy = entropy - target: descent raises
    alpha while the (sampled) entropy is below the target.

    Args:
      log_alpha: [] log temperature.
      log_pi: [B] log-probabilities of the policy's own samples.
      target_entropy: the entropy alpha steers towards.
    """
    return -log_alpha * jnp.mean(jax.lax.stop_gradient(log_pi) + target_entropy)


def make_sac(env: Env, *, total_steps: int, **static: Any) -> Algorithm:
    """SAC on a Box-action env.

    Args:
      env: the environment.
      total_steps: env steps per seed (unused: nothing is scheduled).
      **static: the static settings (`purerl.config.algorithms.SACStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    del total_steps
    dims = offpolicy.check("SAC", env, s)
    actor = networks.make(s.network, env, outputs=2 * dims, hidden=s.hidden)
    critics = offpolicy.Critics(networks.make(s.network, env, outputs=1, hidden=s.hidden, extra_inputs=dims),
                                count=2)

    def policy(params, obs):
        """pi(.|s) over [-1, 1] units, [N, D]."""
        mean, log_std = jnp.split(actor.apply(params, obs), 2, axis=-1)
        return TanhNormal(mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX))

    def sample(params, obs, key):
        """(a [B, D], log pi(a) [B]) of a learner's batch: one key for all rows."""
        return policy(params, obs).sample_and_log_prob(key)

    def init(key, hp):
        actor_key, critic_key, reset_key, key = jax.random.split(key, 4)
        obs, env_state = env.reset(reset_key, s.num_envs)
        actor_params = actor.init(actor_key, obs)
        critic_params = critics.init(critic_key, obs, jnp.zeros((s.num_envs, dims)))
        log_alpha = jnp.log(jnp.asarray(hp.init_alpha, jnp.float32))
        buffer = offpolicy.init_buffer(env, key, env_state, obs, s.buffer_size)
        return State(actor_params, critic_params, critic_params, log_alpha,
                     optax.adam(hp.actor_lr).init(actor_params), optax.adam(hp.critic_lr).init(critic_params),
                     optax.adam(hp.alpha_lr).init(log_alpha), buffer, obs, env_state, key,
                     jnp.zeros((), jnp.int32))

    def critic_loss(critic_params, state, batch, key, hp):
        """Both critics regress to the one soft target: sum_i mean 0.5 (y - Q_i(s, a))^2."""
        a_t, log_pi_t = sample(state.actor_params, batch.next_obs, key)  # fresh at s'
        q_t = critics.apply(state.target_critic_params, batch.next_obs, a_t)
        y = soft_critic_target(batch.reward, batch.terminated, q_t, log_pi_t, jnp.exp(state.log_alpha),
                               hp.gamma)
        q_tm1 = critics.apply(critic_params, batch.obs, offpolicy.to_unit(env, batch.action))
        return jnp.sum(jnp.mean(losses.l2_loss(jax.lax.stop_gradient(y) - q_tm1), -1)), q_tm1

    def actor_loss(actor_params, critic_params, log_alpha, obs, key):
        a, log_pi = sample(actor_params, obs, key)
        q = jnp.min(critics.apply(critic_params, obs, a), 0)
        return jnp.mean(jnp.exp(log_alpha) * log_pi - q), log_pi

    def learn(state, batch, key, hp):
        """A critic, an actor and a temperature step, then the soft target update."""
        target_key, actor_key = jax.random.split(key)
        (c_loss, q_tm1), grads = jax.value_and_grad(critic_loss, has_aux=True)(
            state.critic_params, state, batch, target_key, hp)
        updates, critic_opt_state = optax.adam(hp.critic_lr).update(grads, state.critic_opt_state)
        critic_params = optax.apply_updates(state.critic_params, updates)
        (a_loss, log_pi), grads = jax.value_and_grad(actor_loss, has_aux=True)(
            state.actor_params, critic_params, state.log_alpha, batch.obs, actor_key)
        updates, actor_opt_state = optax.adam(hp.actor_lr).update(grads, state.actor_opt_state)
        actor_params = optax.apply_updates(state.actor_params, updates)
        target_entropy = -hp.target_entropy_scale * dims
        t_loss, grad = jax.value_and_grad(temperature_loss)(state.log_alpha, log_pi, target_entropy)
        updates, alpha_opt_state = optax.adam(hp.alpha_lr).update(grad, state.alpha_opt_state)
        learned = {
            "actor_params": actor_params, "critic_params": critic_params,
            "target_critic_params": optax.incremental_update(critic_params, state.target_critic_params,
                                                             hp.tau),
            "log_alpha": optax.apply_updates(state.log_alpha, updates),
            "actor_opt_state": actor_opt_state, "critic_opt_state": critic_opt_state,
            "alpha_opt_state": alpha_opt_state,
        }
        metrics = {"critic_loss": c_loss, "actor_loss": a_loss, "temperature_loss": t_loss,
                   "alpha": jnp.exp(state.log_alpha), "entropy": -jnp.mean(log_pi), "mean_q": jnp.mean(q_tm1)}
        return learned, metrics

    def update(state, hp):
        key, act_key, step_key, sample_key, learn_key = jax.random.split(state.key, 5)
        policy_key, uniform_key = jax.random.split(act_key)
        unit = sample_each(policy(state.actor_params, state.obs), jax.random.split(policy_key, s.num_envs))
        unit = offpolicy.warm_up(uniform_key, unit, state.updates, hp.learning_starts, s.num_envs)
        _, obs, env_state, buffer = offpolicy.interact(env, step_key, state.env_state, state.obs,
                                                       offpolicy.to_env(env, unit), state.buffer)
        state = state._replace(buffer=buffer, obs=obs, env_state=env_state, key=key,
                               updates=increment(state.updates))
        learned, metrics = learn(state, replay.sample(state.buffer, sample_key, s.batch_size), learn_key, hp)
        learning = offpolicy.learning(state.updates, hp.learning_starts, s.num_envs)
        return state._replace(**offpolicy.keep_until(learning, learned, state)), metrics

    def act(state, obs, key):
        del key
        return offpolicy.to_env(env, policy(state.actor_params, obs).mode())

    return Algorithm(init, update, act, steps_per_update=s.num_envs)
