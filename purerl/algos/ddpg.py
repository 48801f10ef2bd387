"""Deep deterministic policy gradient (Lillicrap et al. 2016, "Continuous control with deep RL").

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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from purerl import losses, networks, replay, settings
from purerl.driver import Algorithm
from purerl.envs import Env, from_bounds, to_bounds
from purerl.policies import increment, updates_until
from purerl.settings import NON_NEGATIVE, POSITIVE, SIZES, UNIT, Range, one_of

Array = jax.Array


class HParams(NamedTuple):
    actor_lr: float = 1e-4  # Adam step size of the actor (the paper's)
    critic_lr: float = 1e-3  # Adam step size of the critic (the paper's)
    gamma: float = 0.99
    tau: float = 0.005  # Polyak step of both target networks
    noise_sigma: float = 0.1  # exploration noise scale, as a fraction of the action half-range
    noise_theta: float = 0.15  # OU mean reversion per step (noise="ou")
    learning_starts: int = 1_000  # env steps (all envs together) of uniform random actions first


class State(NamedTuple):
    actor_params: Any
    critic_params: Any
    target_actor_params: Any
    target_critic_params: Any
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

    Args:
      r_t: [B] rewards.
      terminated_t: [B] natural episode ends (not time limits).
      q_t: [B] target critic at the pre-reset next observation and the target actor's action.
      gamma: discount.
    """
    return r_t + gamma * (1.0 - terminated_t.astype(r_t.dtype)) * q_t


def make_ddpg(
    env: Env,
    *,
    total_steps: int,
    num_envs: int = 1,
    buffer_size: int = 100_000,
    batch_size: int = 256,
    network: str = "auto",
    hidden: Sequence[int] = (64, 64),
    noise: str = "gaussian",
) -> Algorithm:
    """DDPG on a Box-action env.

    Args:
      env: the environment.
      total_steps: env steps per seed (unused: nothing is scheduled).
      num_envs: envs stepped together; one gradient step per vectorised step.
      buffer_size: replay capacity in transitions.
      batch_size: minibatch size of a gradient step; at most buffer_size.
      network: the actor and critic networks (`purerl.networks.NETWORKS`, or "auto": cnn on grids,
        else mlp); the critic takes the action after the encoded observation.
      hidden: their hidden layer sizes.
      noise: "gaussian" (independent per step) or "ou" (Ornstein-Uhlenbeck, as in the paper).
    """
    del total_steps
    if env.discrete_actions:
        raise ValueError(f"DDPG needs a continuous (Box) action space; {env.id} has a discrete one")
    if noise not in ("gaussian", "ou"):
        raise ValueError(f"noise must be 'gaussian' or 'ou', not {noise!r}")
    if min(num_envs, buffer_size, batch_size) <= 0:
        raise ValueError("num_envs, buffer_size and batch_size must be positive")
    if buffer_size < num_envs:
        raise ValueError(f"buffer_size ({buffer_size}) must hold one step of {num_envs} envs")
    if batch_size > buffer_size:
        raise ValueError(f"batch_size ({batch_size}) must not exceed buffer_size ({buffer_size})")
    dims = int(np.prod(env.action_shape))
    actor = networks.make(network, env, outputs=dims, hidden=hidden)
    critic = networks.make(network, env, outputs=1, hidden=hidden, extra_inputs=dims)

    def mu(params, obs):
        """Deterministic action in [-1, 1] units, [N, D]."""
        return jnp.tanh(actor.apply(params, obs))

    def q(params, obs, unit_action):
        return critic.apply(params, obs, unit_action)[..., 0]

    def to_env(unit_action):
        return to_bounds(unit_action.reshape(-1, *env.action_shape), env.action_low, env.action_high)

    def to_unit(action):
        return from_bounds(action, env.action_low, env.action_high).reshape(-1, dims)

    def init(key, hp):
        actor_key, critic_key, reset_key, key = jax.random.split(key, 4)
        obs, env_state = env.reset(reset_key, num_envs)
        actor_params = actor.init(actor_key, obs)
        critic_params = critic.init(critic_key, obs, jnp.zeros((num_envs, dims)))
        example = jax.eval_shape(env.step, key, env_state, obs, to_env(jnp.zeros((num_envs, dims))))[0]
        buffer = replay.init(jax.tree.map(lambda x: jnp.zeros(x.shape[1:], x.dtype), env.storage(example)),
                             buffer_size)
        return State(actor_params, critic_params, actor_params, critic_params,
                     optax.adam(hp.actor_lr).init(actor_params), optax.adam(hp.critic_lr).init(critic_params),
                     buffer, obs, env_state, jnp.zeros((num_envs, dims)), key, jnp.zeros((), jnp.int32))

    def explore(state, hp, key):
        """Noisy (or, before learning starts, uniform) actions in env units and the next OU state."""
        normal_key, uniform_key = jax.random.split(key)
        eps = jax.random.normal(normal_key, (num_envs, dims))
        if noise == "ou":
            process = state.noise - hp.noise_theta * state.noise + hp.noise_sigma * eps
        else:
            process = hp.noise_sigma * eps
        unit = mu(state.actor_params, state.obs) + process
        uniform = jax.random.uniform(uniform_key, (num_envs, dims), minval=-1.0, maxval=1.0)
        unit = jnp.where(state.updates < updates_until(hp.learning_starts, num_envs), uniform, unit)
        return to_env(unit), process

    def critic_loss(critic_params, state, batch, hp):
        q_t = q(state.target_critic_params, batch.next_obs, mu(state.target_actor_params, batch.next_obs))
        y = jax.lax.stop_gradient(critic_target(batch.reward, batch.terminated, q_t, hp.gamma))
        q_tm1 = q(critic_params, batch.obs, to_unit(batch.action))
        return jnp.mean(losses.l2_loss(y - q_tm1)), q_tm1

    def actor_loss(actor_params, critic_params, obs):
        return -jnp.mean(q(critic_params, obs, mu(actor_params, obs)))

    def learn(state, batch, hp):
        """One critic and one actor step, then both soft target updates: ({field: value}, metrics)."""
        (c_loss, q_tm1), grads = jax.value_and_grad(critic_loss, has_aux=True)(
            state.critic_params, state, batch, hp)
        updates, critic_opt_state = optax.adam(hp.critic_lr).update(grads, state.critic_opt_state)
        critic_params = optax.apply_updates(state.critic_params, updates)
        a_loss, grads = jax.value_and_grad(actor_loss)(state.actor_params, critic_params, batch.obs)
        updates, actor_opt_state = optax.adam(hp.actor_lr).update(grads, state.actor_opt_state)
        actor_params = optax.apply_updates(state.actor_params, updates)
        learned = {
            "actor_params": actor_params, "critic_params": critic_params,
            "target_actor_params": optax.incremental_update(actor_params, state.target_actor_params, hp.tau),
            "target_critic_params": optax.incremental_update(critic_params, state.target_critic_params,
                                                             hp.tau),
            "actor_opt_state": actor_opt_state, "critic_opt_state": critic_opt_state,
        }
        return learned, {"critic_loss": c_loss, "actor_loss": a_loss, "mean_q": jnp.mean(q_tm1)}

    def update(state, hp):
        key, act_key, step_key, sample_key = jax.random.split(state.key, 4)
        action, process = explore(state, hp, act_key)
        transition, obs, env_state = env.step(step_key, state.env_state, state.obs, action)
        done = (transition.terminated | transition.truncated)[:, None]
        state = state._replace(
            buffer=replay.add(state.buffer, transition), obs=obs, env_state=env_state,
            noise=jnp.where(done, 0.0, process) if noise == "ou" else state.noise,
            key=key, updates=increment(state.updates))
        learned, metrics = learn(state, replay.sample(state.buffer, sample_key, batch_size), hp)
        # Learn once updates * num_envs >= learning_starts env steps are in the buffer.
        learning = state.updates >= updates_until(hp.learning_starts, num_envs)
        before = {name: getattr(state, name) for name in learned}
        learned = jax.tree.map(lambda new, old: jnp.where(learning, new, old), learned, before)
        return state._replace(**learned), metrics

    def act(state, obs, key):
        del key
        return to_env(mu(state.actor_params, obs))

    return Algorithm(init, update, act, steps_per_update=num_envs)


DEFINITION = settings.Definition(
    make=make_ddpg,
    hparams=HParams,
    ranges={
        "actor_lr": POSITIVE, "critic_lr": POSITIVE, "gamma": UNIT, "tau": Range(0.0, 1.0, low_open=True),
        "noise_sigma": NON_NEGATIVE, "noise_theta": UNIT, "learning_starts": NON_NEGATIVE,
        "num_envs": POSITIVE, "buffer_size": POSITIVE, "batch_size": POSITIVE,
        "network": one_of(networks.AUTO, *networks.NETWORKS), "hidden": SIZES,
        "noise": one_of("gaussian", "ou"),
    },
    obs="any",
    actions="continuous",
    default_env="Pendulum-v1",
    default_total_steps=20_000,
    evaluation="deterministic",
    summary="deep deterministic policy gradient (Lillicrap et al. 2016)",
)
