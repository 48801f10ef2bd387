"""Deep Q-network (Mnih et al. 2015, "Human-level control through deep reinforcement learning").

Each update steps N vmapped envs `train_freq` times with an epsilon-greedy
policy, stores the transitions in a uniform replay buffer, then takes one
gradient step on a sampled minibatch towards

    y = r + gamma (1 - terminated) max_a' Q_target(s', a')

(Double DQN, van Hasselt et al. 2016: Q_target(s', argmax_a' Q(s', a'))),
where s' is the pre-reset next observation: a time-limit truncation still
bootstraps. Every `target_period` gradient steps the target moves to
tau * online + (1 - tau) * target (tau = 1: the paper's hard copy). Gradient
steps start once `learning_starts` env steps are in the buffer. The state
counts updates, not env steps, so nothing wraps past 2^31 env steps. The loss is
0.5 td^2 by default: on CartPole with these settings Huber with delta 1 (the
paper's error clipping) diverged in 10 of 10 runs (Q-values 1e3-1e6) where the
squared error converged; `loss="huber"` keeps it as an option.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.algos.base import Algorithm
from purerl.config.algorithms import DQN
from purerl.core import losses, replay
from purerl.core.policies import epsilon_greedy, greedy, increment, linear_schedule, updates_until
from purerl.envs import Env, Transition
from purerl.nets import networks

Array = jax.Array
HParams = DQN.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = DQN.static  # the static settings, with defaults


class State(NamedTuple):
    params: Any  # online Q-network parameters
    target_params: Any  # target Q-network parameters
    opt_state: Any  # Adam state
    buffer: replay.BufferState  # of envs.Transition
    obs: Array  # [N, *obs_shape] current observation of each env
    env_state: Any  # [N] gymnax states
    obs_0: Array  # [N, *obs_shape] initial observations, for the max Q(s0) metric
    key: Array  # PRNG key
    updates: Array  # [] int32 updates done (num_envs * train_freq env steps each), saturating
    target_age: Array  # [] int32 gradient steps since the target network last moved


def td_error(
    batch: Transition, q_tm1: Array, q_t: Array, gamma: Array, q_t_selector: Array | None = None
) -> Array:
    """DQN TD errors of a batch of transitions; only `terminated` stops the bootstrap.

    Args:
      batch: transitions with a leading axis [B].
      q_tm1: [B, A] online values at batch.obs.
      q_t: [B, A] target-network values at batch.next_obs (the pre-reset observation).
      gamma: discount.
      q_t_selector: [B, A] online values at batch.next_obs for the Double DQN
        target, or None for the max over q_t.
    """
    discount_t = gamma * (1.0 - batch.terminated.astype(q_tm1.dtype))
    if q_t_selector is None:
        return losses.q_learning(q_tm1, batch.action, batch.reward, discount_t, q_t)
    return losses.double_q_learning(q_tm1, batch.action, batch.reward, discount_t, q_t, q_t_selector)


def make_optimizer(hp: HParams) -> optax.GradientTransformation:
    """Clipped Adam, rebuilt from (traced) hparams wherever it is used."""
    return optax.chain(optax.clip_by_global_norm(hp.max_grad_norm), optax.adam(hp.lr))


def make_dqn(env: Env, *, total_steps: int, **static: Any) -> Algorithm:
    """DQN on a discrete-action env.

    Args:
      env: the environment.
      total_steps: env steps per seed (the epsilon schedule's horizon).
      **static: the static settings (`purerl.config.algorithms.DQNStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    if not env.discrete_actions:
        raise ValueError(f"DQN needs a discrete action space; {env.id} has a continuous one")
    if s.loss not in ("mse", "huber"):
        raise ValueError(f"loss must be 'mse' or 'huber', not {s.loss!r}")
    if min(s.num_envs, s.train_freq, s.buffer_size, s.batch_size) <= 0:
        raise ValueError("num_envs, train_freq, buffer_size and batch_size must be positive")
    if s.buffer_size < s.num_envs:
        raise ValueError(f"buffer_size ({s.buffer_size}) must hold one step of {s.num_envs} envs")
    if s.batch_size > s.buffer_size:
        raise ValueError(f"batch_size ({s.batch_size}) must not exceed buffer_size ({s.buffer_size})")
    q_network = networks.make(s.network, env, outputs=env.num_actions, hidden=s.hidden)
    steps_per_update = s.num_envs * s.train_freq
    total_updates = total_steps / steps_per_update

    def q_values(params, obs):
        return q_network.apply(params, obs)

    def init(key, hp):
        net_key, reset_key, key = jax.random.split(key, 3)
        obs, env_state = env.reset(reset_key, s.num_envs)
        params = q_network.init(net_key, obs)
        step = jax.eval_shape(env.step, key, env_state, obs, jnp.zeros(s.num_envs, jnp.int32))
        example = jax.tree.map(lambda x: jnp.zeros(x.shape[1:], x.dtype), env.storage(step[0]))
        buffer = replay.init(example, s.buffer_size)  # observations in the env's storage dtype
        zero = jnp.zeros((), jnp.int32)
        return State(params, params, make_optimizer(hp).init(params), buffer, obs, env_state, obs,
                     key, zero, zero)

    def loss_fn(params, target_params, batch, hp):
        q_tm1 = q_values(params, batch.obs)
        q_t = q_values(target_params, batch.next_obs)
        q_t_selector = q_values(jax.lax.stop_gradient(params), batch.next_obs) if s.double else None
        td = td_error(batch, q_tm1, q_t, hp.gamma, q_t_selector)
        per_item = losses.l2_loss(td) if s.loss == "mse" else losses.huber_loss(td, hp.huber_delta)
        return jnp.mean(per_item), q_tm1

    def update(state, hp):
        progress = state.updates / total_updates
        eps = linear_schedule(hp.epsilon_start, hp.epsilon_end, hp.epsilon_decay, progress)

        # Every key of the update from one split: on CPU each PRNG call costs
        # about as much as a small layer.
        keys = jax.random.split(state.key, 2 + s.train_freq * (1 + s.num_envs))
        key, sample_key = keys[0], keys[1]
        act_keys = keys[2 : 2 + s.train_freq]
        env_keys = keys[2 + s.train_freq :].reshape(s.train_freq, s.num_envs)  # one per env and step

        def env_step(carry, keys):
            obs, env_state, buffer = carry
            act_key, env_key = keys
            action = epsilon_greedy(act_key, q_values(state.params, obs), eps)
            transition, obs, env_state = env.step(env_key, env_state, obs, action)
            return (obs, env_state, replay.add(buffer, transition)), None

        carry = (state.obs, state.env_state, state.buffer)
        (obs, env_state, buffer), _ = jax.lax.scan(env_step, carry, (act_keys, env_keys))

        batch = replay.sample(buffer, sample_key, s.batch_size)
        (loss_value, q_tm1), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.target_params, batch, hp
        )
        updates, opt_state = make_optimizer(hp).update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)

        # After this update's steps, (updates + 1) * steps_per_update >= learning_starts.
        learning = state.updates >= updates_until(hp.learning_starts, steps_per_update) - 1
        keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(learning, n, o), new, old)
        params, opt_state = keep(params, state.params), keep(opt_state, state.opt_state)
        target_age = state.target_age + learning.astype(jnp.int32)
        refresh = learning & (target_age >= hp.target_period)
        moved = optax.incremental_update(params, state.target_params, hp.tau)
        target_params = jax.tree.map(lambda p, t: jnp.where(refresh, p, t), moved, state.target_params)
        target_age = jnp.where(refresh, 0, target_age)
        metrics = {
            "loss": loss_value,
            "epsilon": eps,
            "mean_max_q": jnp.mean(jnp.max(q_tm1, -1)),
            "max_q_s0": jnp.mean(jnp.max(q_values(params, state.obs_0), -1)),
        }
        new_state = State(params, target_params, opt_state, buffer, obs, env_state, state.obs_0,
                          key, increment(state.updates), target_age)
        return new_state, metrics

    def act(state, obs, key):
        return greedy(key, q_values(state.params, obs))

    return Algorithm(init, update, act, steps_per_update=steps_per_update)
