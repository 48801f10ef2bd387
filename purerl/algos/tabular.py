"""Tabular Q-learning and SARSA (Sutton & Barto 2018, sections 6.4-6.5).

Q-learning:  Q(s,a) += lr [r + gamma (1 - term) max_a' Q(s',a') - Q(s,a)]
SARSA:       Q(s,a) += lr [r + gamma (1 - term) Q(s',a') - Q(s,a)],
             a' ~ epsilon-greedy(Q(s',.)) is the action actually taken next.

N envs step in lock-step. Where several envs update the same (s, a) pair in
one step, their TD errors are averaged (a scatter `.set` would keep one). At an
auto-reset the next executed action belongs to the new episode, so SARSA's
target draws its own epsilon-greedy a' on the final observation. The state
counts updates, not env steps, so the schedules hold past 2^31 env steps.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl.algos.base import Algorithm
from purerl.config.algorithms import Q_LEARNING
from purerl.core.policies import epsilon_greedy, greedy, increment, linear_schedule
from purerl.envs import Env

Array = jax.Array
HParams = Q_LEARNING.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = Q_LEARNING.static  # the static settings, with defaults


class State(NamedTuple):
    q: Array  # [S, A] action values
    obs: Array  # [N] current observation of each env
    action: Array  # [N] action each env executes next
    env_state: Any  # [N] gymnax states
    key: Array  # PRNG key
    updates: Array  # [] int32 updates done (num_envs env steps each), saturating


def td_target(q_t: Array, r_t: Array, discount_t: Array, a_t: Array | None) -> Array:
    """r + discount * Q(s', a') (SARSA) or r + discount * max Q(s', .) (a_t None).

    Args:
      q_t: [N, A] values at the next (pre-reset) observation.
      r_t: [N] rewards; discount_t: [N] gamma * (1 - terminated).
      a_t: [N] next actions for SARSA, or None for Q-learning.
    """
    v_t = q_t.max(-1) if a_t is None else jnp.take_along_axis(q_t, a_t[:, None], -1)[:, 0]
    return r_t + discount_t * v_t


def averaged_update(q: Array, s: Array, a: Array, td_error: Array, lr: Array) -> Array:
    """q[s, a] += lr * mean of the TD errors that hit (s, a) in this batch."""
    sums_counts = jnp.zeros((*q.shape, 2)).at[s, a].add(jnp.stack([td_error, jnp.ones_like(td_error)], -1))
    return q + lr * sums_counts[..., 0] / jnp.maximum(sums_counts[..., 1], 1.0)


def make_tabular(env: Env, *, rule: str, total_steps: int, **static: Any) -> Algorithm:
    """Tabular TD control on a discrete-observation, discrete-action env.

    Args:
      env: env with `num_obs` and `num_actions` (FrozenLake, or a discretised Box).
      rule: "q_learning" or "sarsa".
      total_steps: env steps per seed (the epsilon schedule's horizon).
      **static: the static settings (`purerl.config.algorithms.TabularStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    if rule not in ("q_learning", "sarsa"):
        raise ValueError(f"rule must be 'q_learning' or 'sarsa', not {rule!r}")
    if env.num_obs is None or env.num_actions is None:
        raise ValueError(f"tabular {rule} needs discrete observations and actions; {env.id} has not")
    total_updates = total_steps / s.num_envs

    def init(key, hp):
        reset_key, act_key, key = jax.random.split(key, 3)
        obs, env_state = env.reset(reset_key, s.num_envs)
        q = jnp.zeros((env.num_obs, env.num_actions))
        action = epsilon_greedy(act_key, q[obs], hp.epsilon_start)
        return State(q, obs, action, env_state, key, jnp.zeros((), jnp.int32))

    def update(state, hp):
        key, step_key, next_key, final_key = jax.random.split(state.key, 4)
        progress = state.updates / total_updates
        eps = linear_schedule(hp.epsilon_start, hp.epsilon_end, hp.epsilon_decay, progress)
        tr, obs, env_state = env.step(step_key, state.env_state, state.obs, state.action)
        next_action = epsilon_greedy(next_key, state.q[obs], eps)
        q_t = state.q[tr.next_obs]
        if rule == "sarsa":
            episode_end = tr.terminated | tr.truncated
            a_t = jnp.where(episode_end, epsilon_greedy(final_key, q_t, eps), next_action)
        else:
            a_t = None
        target = td_target(q_t, tr.reward, hp.gamma * (1.0 - tr.terminated), a_t)
        td_error = target - state.q[tr.obs, tr.action]
        lr = linear_schedule(hp.lr, hp.lr_end, 1.0, progress)
        q = averaged_update(state.q, tr.obs, tr.action, td_error, lr)
        metrics = {
            "epsilon": eps,
            "lr": lr,
            "abs_td_error": jnp.mean(jnp.abs(td_error)),
            "mean_max_q": jnp.mean(jnp.max(q[tr.obs], -1)),
        }
        new_state = State(q, obs, next_action, env_state, key, increment(state.updates))
        return new_state, metrics

    def act(state, obs, key):
        return greedy(key, state.q[obs])

    return Algorithm(init, update, act, steps_per_update=s.num_envs)


make_q_learning = functools.partial(make_tabular, rule="q_learning")  # Q-learning (Watkins 1989)
make_sarsa = functools.partial(make_tabular, rule="sarsa")  # SARSA (Rummery & Niranjan 1994)
