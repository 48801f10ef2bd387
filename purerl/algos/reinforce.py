"""REINFORCE with a learned baseline (Williams 1992; Sutton & Barto 2018, sections 13.3-13.4).

Each update resets N vmapped envs and samples one whole episode in each from
the current softmax policy: a rollout of the env's time limit
(`env.max_steps` steps) in which every step after an env's first episode end
is masked out. The env-step count charges every update these N x max_steps
simulated steps, masked ones included. With G_t the return-to-go and b = V_w
the learned state-value baseline, the policy ascends

    sum_t grad log pi(a_t | s_t) (G_t - V_w(s_t))  [+ entropy_coef grad H(pi(. | s_t))]

averaged over the episodes' steps, and V_w descends 0.5 (G_t - V_w(s_t))^2.
The constant gamma^t of Sutton & Barto's update is left out, as in most
implementations: it would all but silence the late steps of a 500-step
CartPole episode. An episode cut by the time limit (truncated, not
terminated) bootstraps G from V_w of its final observation, since truncation
is not an end of the task (Pardo et al. 2018). The `network` setting picks the
policy and value networks; "auto" gives discrete observations a tabular
softmax policy and a table of values, and Box observations MLPs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from purerl.algos.base import Algorithm
from purerl.config.algorithms import REINFORCE
from purerl.core import losses
from purerl.core.distributions import Categorical
from purerl.core.policies import increment
from purerl.core.returns import discounted_returns
from purerl.envs import Env
from purerl.nets import networks

Array = jax.Array
HParams = REINFORCE.hparams  # the traced settings, with defaults (`purerl.config.algorithms`)
Static = REINFORCE.static  # the static settings, with defaults


class State(NamedTuple):
    policy_params: Any
    value_params: Any
    policy_opt_state: Any  # Adam state
    value_opt_state: Any  # Adam state
    key: Array  # PRNG key
    updates: Array  # [] int32 updates done (num_envs * max_steps env steps each, masked ones too)


def first_episode_mask(done_t: Array) -> Array:
    """1 up to and including each env's first episode end, 0 after it.

    Args:
      done_t: [T, N] episode-end flags (terminated or truncated).

    Returns:
      [T, N] float weights.
    """
    ends_before = jnp.cumsum(done_t, 0) - done_t
    return (ends_before == 0).astype(jnp.float32)


def returns_to_go(r_t: Array, terminated_t: Array, truncated_t: Array, v_tp1: Array, gamma: Array) -> Array:
    """G_t over a rollout; every episode end stops the sum.

    A terminated episode adds nothing after its last reward; one cut short (by
    the time limit, or by the end of the rollout) adds gamma V(s'_t) of its
    final observation.

    Args:
      r_t: [T, N] rewards.
      terminated_t, truncated_t: [T, N] episode-end flags.
      v_tp1: [T, N] baseline values of the pre-reset next observations.
      gamma: discount.

    Returns:
      [T, N] returns-to-go.
    """
    last = jnp.arange(r_t.shape[0])[:, None] == r_t.shape[0] - 1
    cut = (truncated_t | last) & ~terminated_t
    done = terminated_t | truncated_t
    return discounted_returns(r_t + gamma * cut * v_tp1, gamma * (1.0 - done), jnp.zeros_like(r_t[0]))


def make_reinforce(env: Env, *, total_steps: int, **static: Any) -> Algorithm:
    """REINFORCE with a state-value baseline on a discrete-action env.

    Args:
      env: the environment.
      total_steps: env steps per seed (unused: the update has no schedule).
      **static: the static settings (`purerl.config.algorithms.ReinforceStatic`); those not given take
        its defaults.
    """
    s = Static(**static)
    del total_steps
    if not env.discrete_actions:
        raise ValueError(f"REINFORCE needs a discrete action space; {env.id} has a continuous one")
    if s.num_envs <= 0:
        raise ValueError(f"num_envs must be positive, got {s.num_envs}")
    horizon = env.max_steps
    if s.network == "auto":
        s = s._replace(network=networks.choose(env, table=True))
    policy = networks.make(s.network, env, outputs=env.num_actions, hidden=s.hidden, activation=s.activation,
                           last_scale=0.01)
    value = networks.make(s.network, env, outputs=1, hidden=s.hidden, activation=s.activation)

    def pi(params, obs):
        return Categorical(policy.apply(params, obs))

    def v(params, obs):
        return value.apply(params, obs)[..., 0]

    def init(key, hp):
        policy_key, value_key, obs_key, key = jax.random.split(key, 4)
        obs, _ = env.reset(obs_key, 1)
        policy_params, value_params = policy.init(policy_key, obs), value.init(value_key, obs)
        return State(policy_params, value_params, optax.adam(hp.lr).init(policy_params),
                     optax.adam(hp.value_lr).init(value_params), key, jnp.zeros((), jnp.int32))

    def loss_fn(params, obs, action, g, weight, hp):
        policy_params, value_params = params
        dist = pi(policy_params, obs)
        baseline = v(value_params, obs)
        policy_loss = losses.policy_gradient_loss(dist.log_prob(action), g - baseline, weight)
        steps = jnp.maximum(jnp.sum(weight), 1.0)
        value_loss = jnp.sum(weight * losses.l2_loss(g - baseline)) / steps
        entropy = jnp.sum(weight * dist.entropy()) / steps
        return policy_loss + value_loss - hp.entropy_coef * entropy, (policy_loss, value_loss, entropy)

    def rollout(policy_params, key):
        """One episode per env, stored [T, N]; steps after an env's first episode end follow on."""
        reset_key, key = jax.random.split(key)
        obs, env_state = env.reset(reset_key, s.num_envs)

        def env_step(carry, _):
            obs, env_state, key = carry
            key, act_key, step_key = jax.random.split(key, 3)
            action = pi(policy_params, obs).sample(act_key)
            transition, obs, env_state = env.step(step_key, env_state, obs, action)
            return (obs, env_state, key), transition

        # A fixed-length scan: a while loop that stops at the last episode end
        # is slower under vmap, where every iteration selects the whole carry.
        return jax.lax.scan(env_step, (obs, env_state, key), length=horizon)[1]

    def update(state, hp):
        key, rollout_key = jax.random.split(state.key)
        traj = rollout(state.policy_params, rollout_key)  # [T, N]
        weight = first_episode_mask(traj.terminated | traj.truncated)
        v_tp1 = v(state.value_params, traj.next_obs)
        g = returns_to_go(traj.reward, traj.terminated, traj.truncated, v_tp1, hp.gamma)

        flat = lambda x: x.reshape(horizon * s.num_envs, *x.shape[2:])
        params = (state.policy_params, state.value_params)
        (policy_grads, value_grads), (policy_loss, value_loss, entropy) = jax.grad(loss_fn, has_aux=True)(
            params, flat(traj.obs), flat(traj.action), flat(g), flat(weight), hp
        )
        updates, policy_opt_state = optax.adam(hp.lr).update(policy_grads, state.policy_opt_state)
        policy_params = optax.apply_updates(state.policy_params, updates)
        updates, value_opt_state = optax.adam(hp.value_lr).update(value_grads, state.value_opt_state)
        value_params = optax.apply_updates(state.value_params, updates)
        metrics = {
            "loss": policy_loss,
            "value_loss": value_loss,
            "entropy": entropy,
            "episode_return": jnp.mean(jnp.sum(weight * traj.reward, 0)),
            "episode_length": jnp.mean(jnp.sum(weight, 0)),
        }
        new_state = State(policy_params, value_params, policy_opt_state, value_opt_state, key,
                          increment(state.updates))
        return new_state, metrics

    def act(state, obs, key):
        return pi(state.policy_params, obs).sample(key)

    return Algorithm(init, update, act, steps_per_update=s.num_envs * horizon)
