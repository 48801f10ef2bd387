"""Counters that scale: every schedule and threshold stays right past 2^31 env steps, without x64.

Each algorithm starts from a state whose update counter stands a few updates short of 2^31 env
steps and runs jitted updates past it. An int32 env-step counter would wrap negative there: DQN's
epsilon would return to its start and learning stop, DDPG would go back to uniform actions,
A3C's step size would jump back to its initial value.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.algos import a3c, ddpg, dqn, tabular
from purerl.core.policies import INT32_MAX, increment, linear_schedule, updates_until
from purerl.envs import make_env
from purerl.runtime.driver import to_hparams

TWO_31 = 2**31


def run(algo, hp, state, num):
    """`num` jitted updates from `state`: the states before and after each, and the metrics."""
    update = jax.jit(algo.update)
    states, metrics = [state], []
    for _ in range(num):
        state, m = update(state, hp)
        states.append(state)
        metrics.append({k: float(v) for k, v in m.items()})
    return states, metrics


def changed(a, b):
    return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_counter_helpers_are_exact_in_int32():
    assert int(updates_until(0, 8)) == 0 and int(updates_until(1, 8)) == 1 and int(updates_until(16, 8)) == 2
    assert int(updates_until(INT32_MAX, 3)) == -(-INT32_MAX // 3)  # no overflow adding 3 - 1
    assert int(jax.jit(updates_until, static_argnums=1)(jnp.int32(10_000), 7)) == 1429
    np.testing.assert_array_equal(increment(jnp.array([0, INT32_MAX - 1, INT32_MAX], jnp.int32)),
                                  [1, INT32_MAX, INT32_MAX])
    # The fraction of a run past 2^31 updates, as float32: finite and clipped.
    assert float(linear_schedule(1.0, 0.05, 0.5, jnp.int32(INT32_MAX) / (TWO_31 / 2))) == pytest.approx(0.05)


def test_dqn_past_two_to_the_31_env_steps():
    env = make_env("CartPole-v1")
    algo = dqn.make_dqn(env, total_steps=TWO_31 + 2**20, num_envs=2, buffer_size=64, batch_size=8,
                        hidden=(8,))
    hp = to_hparams(dqn.HParams, {"learning_starts": 10_000, "target_period": 2})
    start = algo.init(jax.random.key(0), hp)
    start = start._replace(updates=jnp.int32(TWO_31 // 2 - 3))  # 2^31 - 6 env steps taken
    states, metrics = run(algo, hp, start, 6)  # to 2^31 + 6
    assert [int(s.updates) for s in states] == list(range(TWO_31 // 2 - 3, TWO_31 // 2 + 4))
    assert all(m["epsilon"] == pytest.approx(0.05) for m in metrics)  # at its end value throughout
    assert all(changed(a.params, b.params) for a, b in zip(states, states[1:]))  # a gradient step each
    refreshed = [changed(a.target_params, b.target_params) for a, b in zip(states, states[1:])]
    assert refreshed == [False, True] * 3  # every second gradient step
    # Saturated at the int32 maximum: still learning, epsilon still at its end.
    states, metrics = run(algo, hp, start._replace(updates=jnp.int32(INT32_MAX - 1)), 3)
    assert [int(s.updates) for s in states] == [INT32_MAX - 1] + [INT32_MAX] * 3
    assert metrics[-1]["epsilon"] == pytest.approx(0.05) and changed(states[-2].params, states[-1].params)


def test_ddpg_past_two_to_the_31_env_steps():
    env = make_env("Pendulum-v1")
    algo = ddpg.make_ddpg(env, total_steps=TWO_31 + 64, num_envs=2, buffer_size=64, batch_size=8,
                          hidden=(16,))
    hp = to_hparams(ddpg.HParams, {"noise_sigma": 0.0})  # the actions are mu(s), unless uniform
    start = algo.init(jax.random.key(0), hp)._replace(updates=jnp.int32(TWO_31 // 2 - 3))
    states, _ = run(algo, hp, start, 6)
    for before, after in zip(states, states[1:]):
        taken = after.buffer.data.action[after.buffer.pointer - 2 : after.buffer.pointer]
        np.testing.assert_allclose(taken, algo.act(before, before.obs, jax.random.key(0)), rtol=1e-6)
        assert changed(before.actor_params, after.actor_params)
        assert changed(before.critic_params, after.critic_params)
    assert int(states[-1].updates) == TWO_31 // 2 + 3


def test_a3c_step_size_stays_annealed_past_two_to_the_31_env_steps():
    env = make_env("CartPole-v1")
    algo = a3c.make_a3c(env, total_steps=TWO_31, num_envs=2, rollout_len=4, devices=1, hidden=(16,))
    hp = to_hparams(a3c.HParams, {"lr_decay": 0.5})
    start = algo.init(jax.random.key(0), hp)._replace(updates=jnp.int32(TWO_31 // 8 - 2))  # 2^31 - 16
    states, metrics = run(algo, hp, start, 5)
    lrs = [m["lr"] for m in metrics]
    np.testing.assert_allclose(lrs, 0.5 * 2e-3, rtol=1e-6)  # annealed by half, and stays there
    assert all(b <= a for a, b in zip(lrs, lrs[1:]))
    assert all(changed(a.params, b.params) for a, b in zip(states, states[1:]))
    assert int(states[-1].updates) == TWO_31 // 8 + 3


@pytest.mark.parametrize("rule", ["q_learning", "sarsa"])
def test_tabular_schedules_past_two_to_the_31_env_steps(rule):
    env = make_env("FrozenLake-misc")
    algo = tabular.make_tabular(env, rule=rule, total_steps=TWO_31, num_envs=2)
    hp = to_hparams(tabular.HParams)
    start = algo.init(jax.random.key(0), hp)
    q = jax.random.uniform(jax.random.key(1), start.q.shape)  # nonzero TD errors on zero rewards
    start = start._replace(q=q, updates=jnp.int32(TWO_31 // 2 - 3))
    states, metrics = run(algo, hp, start, 6)
    assert all(m["epsilon"] == pytest.approx(0.1) for m in metrics)  # epsilon_end
    assert all(m["lr"] == pytest.approx(0.01, rel=1e-5) for m in metrics)  # lr_end
    assert all(changed(a.q, b.q) for a, b in zip(states, states[1:]))
