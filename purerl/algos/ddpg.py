"""Deep deterministic policy gradient (Lillicrap et al. 2016, "Continuous control with deep RL"), and
TD3 (Fujimoto et al. 2018, "Addressing function approximation error in actor-critic methods").

A deterministic actor mu(s) = tanh(.) scaled to the action bounds and a critic
Q(s, a). Each update steps N vmapped envs once, with exploration noise added
to mu(s) and the result clipped to the bounds (Gaussian, or the paper's
Ornstein-Uhlenbeck process reset at episode ends; no epsilon-greedy), stores
the transitions in a uniform replay buffer, and takes one gradient step each
on the critic, towards

    y = r + gamma (1 - terminated) Q'(s', mu'(s')),

with both target networks and s' the pre-reset next observation (so a
time-limit truncation still bootstraps), and on the actor, up the
deterministic policy gradient grad_a Q(s, a)|a=mu(s) grad mu(s). Both targets
then move to tau * online + (1 - tau) * target. Until `learning_starts` env
steps the actions are uniform in the bounds and nothing is learned; the state
counts updates, so that holds past 2^31 env steps too. Evaluation runs mu(s)
without noise.

TD3 is DDPG with three settings turned on (`TD3`; DDPG's defaults keep them off):
`twin` critics, both regressing to one target built on the min of the two target
critics, y = r + gamma (1 - terminated) min(Q1', Q2')(s', a'), while the actor
follows Q1 alone; target-policy smoothing, a' = clip(mu'(s') + clip(eps, -c, c),
bounds) with eps ~ N(0, target_noise^2) and c = target_noise_clip (in half-ranges;
0 = off); and delayed updates: the actor and both targets move on every
`policy_delay`-th update only (1 = off), the critics on every update.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.algos import offpolicy
from purerl.algos.base import Algorithm
from purerl.config.algorithms import DDPG, TD3
from purerl.core import losses, replay
from purerl.core.policies import increment
from purerl.envs import Env
from purerl.nets import networks

Array = jax.Array
HParams = DDPG.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = DDPG.static  # the static settings, with defaults
TD3HParams = TD3.hparams  # TD3's defaults (Fujimoto et al. 2018): make_ddpg with TD3.static is TD3




class State(NamedTuple):
    actor_params: Any
    critic_params: Any  # twin: both critics stacked on a leading axis of 2
    target_actor_params: Any
    target_critic_params: Any  # like critic_params
    actor_opt_state: Any  # Adam state
    critic_opt_state: Any  # Adam state
    buffer: replay.BufferState  # of envs.Transition, actions in env units
    obs: Array  # [N, *obs_shape] current observation of each env
    env_state: Any  # [N] gymnax states
    noise: Array  # [N, D] OU process state (zeros for Gaussian noise)
    key: Array  # PRNG key
    updates: Array  # [] int32 updates done (num_envs env steps each), saturating


def critic_target(r_t: Array, terminated_t: Array, q_t: Array, gamma: Array) -> Array:
    """y = r_t + gamma (1 - terminated_t) Q'(s'_t, mu'(s'_t)); only termination stops the bootstrap.

    With twin critics (TD3) Q' is the min of the two target critics, min(Q1', Q2').

    Args:
      r_t: [B] rewards.
      terminated_t: [B] natural episode ends (not time limits).
      q_t: [B] target critic, or [C, B] target critics (the min over C is taken), at the
        pre-reset next observation and the target actor's action.
      gamma: discount.
    """
    if jnp.ndim(q_t) > jnp.ndim(r_t):
        q_t = jnp.min(q_t, 0)
    return r_t + gamma * (1.0 - terminated_t.astype(r_t.dtype)) * q_t


def smoothed_target_action(unit_action: Array, eps: Array, sigma: Array, clip: Array) -> Array:
    """TD3's target-policy smoothing: clip(mu'(s') + clip(sigma eps, -clip, clip), -1, 1).

    Args:
      unit_action: [B, D] target actor's actions mu'(s') in [-1, 1] units.
      eps: [B, D] standard normal draws.
      sigma: noise scale in half-ranges (0: the action itself).
      clip: bound c on the noise, in half-ranges.
    """
    return jnp.clip(unit_action + jnp.clip(sigma * eps, -clip, clip), -1.0, 1.0)


def make_ddpg(env: Env, *, total_steps: int, **static: Any) -> Algorithm:
    """DDPG (or, with `twin` and TD3's hparams, TD3) on a Box-action env.

    Args:
      env: the environment.
      total_steps: env steps per seed (unused: nothing is scheduled).
      **static: the static settings (`purerl.config.algorithms.DDPGStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    del total_steps
    if s.noise not in ("gaussian", "ou"):
        raise ValueError(f"noise must be 'gaussian' or 'ou', not {s.noise!r}")
    name = "TD3" if s.twin else "DDPG"
    dims = offpolicy.check(name, env, s)
    actor = networks.make(s.network, env, outputs=dims, hidden=s.hidden)
    critics = offpolicy.Critics(networks.make(s.network, env, outputs=1, hidden=s.hidden, extra_inputs=dims),
                                count=2 if s.twin else 1)

    def mu(params, obs):
        """Deterministic action in [-1, 1] units, [N, D]."""
        return jnp.tanh(actor.apply(params, obs))

    def to_env(unit_action):
        return offpolicy.to_env(env, unit_action)

    def init(key, hp):
        actor_key, critic_key, reset_key, key = jax.random.split(key, 4)
        obs, env_state = env.reset(reset_key, s.num_envs)
        actor_params = actor.init(actor_key, obs)
        critic_params = critics.init(critic_key, obs, jnp.zeros((s.num_envs, dims)))
        buffer = offpolicy.init_buffer(env, key, env_state, obs, s.buffer_size)
        return State(actor_params, critic_params, actor_params, critic_params,
                     optax.adam(hp.actor_lr).init(actor_params), optax.adam(hp.critic_lr).init(critic_params),
                     buffer, obs, env_state, jnp.zeros((s.num_envs, dims)), key, jnp.zeros((), jnp.int32))

    def explore(state, hp, key):
        """Noisy (or, before learning starts, uniform) actions in env units and the next OU state."""
        normal_key, uniform_key = jax.random.split(key)
        eps = jax.random.normal(normal_key, (s.num_envs, dims))
        if s.noise == "ou":
            process = state.noise - hp.noise_theta * state.noise + hp.noise_sigma * eps
        else:
            process = hp.noise_sigma * eps
        unit = mu(state.actor_params, state.obs) + process
        unit = offpolicy.warm_up(uniform_key, unit, state.updates, hp.learning_starts, s.num_envs)
        return to_env(unit), process

    def critic_loss(critic_params, state, batch, noise_key, hp):
        """Every critic regresses to the one target y: sum_i mean 0.5 (y - Q_i(s, a))^2."""
        eps = jax.random.normal(noise_key, (s.batch_size, dims))
        a_t = smoothed_target_action(mu(state.target_actor_params, batch.next_obs), eps,
                                     hp.target_noise, hp.target_noise_clip)
        q_t = critics.apply(state.target_critic_params, batch.next_obs, a_t)  # [C, B]
        y = jax.lax.stop_gradient(critic_target(batch.reward, batch.terminated, q_t, hp.gamma))
        q_tm1 = critics.apply(critic_params, batch.obs, offpolicy.to_unit(env, batch.action))
        return jnp.sum(jnp.mean(losses.l2_loss(y - q_tm1), -1)), q_tm1

    def actor_loss(actor_params, critic_params, obs):
        return -jnp.mean(critics.apply_first(critic_params, obs, mu(actor_params, obs)))  # Q1 alone

    def learn(state, batch, noise_key, hp):
        """A critic step, then (every policy_delay-th update) an actor step and both soft target
        updates: ({field: value}, metrics)."""
        (c_loss, q_tm1), grads = jax.value_and_grad(critic_loss, has_aux=True)(
            state.critic_params, state, batch, noise_key, hp)
        updates, critic_opt_state = optax.adam(hp.critic_lr).update(grads, state.critic_opt_state)
        critic_params = optax.apply_updates(state.critic_params, updates)
        a_loss, grads = jax.value_and_grad(actor_loss)(state.actor_params, critic_params, batch.obs)
        updates, actor_opt_state = optax.adam(hp.actor_lr).update(grads, state.actor_opt_state)
        actor_params = optax.apply_updates(state.actor_params, updates)
        delayed = offpolicy.keep_until(state.updates % hp.policy_delay == 0, {
            "actor_params": actor_params, "actor_opt_state": actor_opt_state,
            "target_actor_params": optax.incremental_update(actor_params, state.target_actor_params, hp.tau),
            "target_critic_params": optax.incremental_update(critic_params, state.target_critic_params,
                                                             hp.tau),
        }, state)
        learned = {"critic_params": critic_params, "critic_opt_state": critic_opt_state, **delayed}
        return learned, {"critic_loss": c_loss, "actor_loss": a_loss, "mean_q": jnp.mean(q_tm1)}

    def update(state, hp):
        key, act_key, step_key, sample_key, noise_key = jax.random.split(state.key, 5)
        action, process = explore(state, hp, act_key)
        transition, obs, env_state, buffer = offpolicy.interact(env, step_key, state.env_state, state.obs,
                                                                action, state.buffer)
        done = (transition.terminated | transition.truncated)[:, None]
        state = state._replace(
            buffer=buffer, obs=obs, env_state=env_state,
            noise=jnp.where(done, 0.0, process) if s.noise == "ou" else state.noise,
            key=key, updates=increment(state.updates))
        learned, metrics = learn(state, replay.sample(state.buffer, sample_key, s.batch_size), noise_key, hp)
        learning = offpolicy.learning(state.updates, hp.learning_starts, s.num_envs)
        return state._replace(**offpolicy.keep_until(learning, learned, state)), metrics

    def act(state, obs, key):
        del key
        return to_env(mu(state.actor_params, obs))

    return Algorithm(init, update, act, steps_per_update=s.num_envs)
