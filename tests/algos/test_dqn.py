"""DQN: its target on hand-made transitions, the target network and warm-up, bad input, and CartPole."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import JIT, leaves, maybe_jit

from purerl.algos import dqn
from purerl.cli import main
from purerl.envs import Transition, make_env
from purerl.runtime.driver import to_hparams
from purerl.runtime.run import prepare, train


def hand_made_batch():
    """Four transitions: running on, truncated (time limit), terminated, and both flags set."""
    return Transition(
        obs=jnp.zeros((4, 1)),
        action=jnp.array([0, 1, 0, 1]),
        reward=jnp.array([1.0, 1.0, 1.0, 1.0]),
        terminated=jnp.array([False, False, True, True]),
        truncated=jnp.array([False, True, False, True]),
        next_obs=jnp.zeros((4, 1)),
    )


Q_TM1 = jnp.array([[2.0, 0.0], [0.0, 3.0], [4.0, 0.0], [0.0, 5.0]])
Q_T = jnp.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0], [70.0, 80.0]])  # target net at next_obs
Q_T_ONLINE = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])  # online net at next_obs


@JIT
def test_target_bootstraps_through_truncation_not_termination(jit):
    td_error = maybe_jit(dqn.td_error, jit)
    td = td_error(hand_made_batch(), Q_TM1, Q_T, 0.5)
    # y = r + 0.5 max Q_target(s') unless terminated; truncated alone still bootstraps.
    np.testing.assert_allclose(td, [1 + 10 - 2, 1 + 20 - 3, 1 - 4, 1 - 5])


@JIT
def test_double_dqn_target(jit):
    td_error = maybe_jit(dqn.td_error, jit)
    td = td_error(hand_made_batch(), Q_TM1, Q_T, 0.5, Q_T_ONLINE)
    # The online net picks a' = 0, 0, (1, 1 terminated); the target net values it.
    np.testing.assert_allclose(td, [1 + 5 - 2, 1 + 15 - 3, 1 - 4, 1 - 5])


def test_rejects_a_continuous_action_space(capsys):
    with pytest.raises(ValueError, match="discrete action space; Pendulum-v1 has a continuous one"):
        prepare("dqn", "Pendulum-v1")
    with pytest.raises(ValueError, match="discrete action space"):
        dqn.make_dqn(make_env("Pendulum-v1"), total_steps=1000)
    assert main(["train", "dqn", "--env", "Pendulum-v1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["purerl: error: dqn needs a discrete action space; Pendulum-v1 has a continuous one"]


def test_rejects_an_unknown_loss():
    with pytest.raises(ValueError, match="loss must be one of 'mse', 'huber'"):
        prepare("dqn", settings={"loss": "l1"})
    with pytest.raises(ValueError, match="loss must be 'mse' or 'huber'"):
        dqn.make_dqn(make_env("CartPole-v1"), total_steps=1000, loss="l1")


def test_refuses_a_batch_larger_than_the_buffer_before_compiling():
    with pytest.raises(ValueError, match=r"batch_size \(128\) must not exceed buffer_size \(100\)"):
        prepare("dqn", settings={"buffer_size": 100})


def test_refuses_a_table_on_box_observations():
    with pytest.raises(ValueError, match="the table network needs discrete observations; CartPole-v1"):
        prepare("dqn", settings={"network": "table"})


def run_updates(num_updates, static=None, **hparams):
    env = make_env("CartPole-v1")
    static = {"num_envs": 2, "buffer_size": 64, "batch_size": 8, "hidden": (8,), **(static or {})}
    algo = dqn.make_dqn(env, total_steps=10_000, **static)
    hp = to_hparams(dqn.HParams, hparams)
    state = algo.init(jax.random.key(0), hp)
    states = [state]
    update = jax.jit(algo.update)
    for _ in range(num_updates):
        state, metrics = update(state, hp)
        states.append(state)
    return states, metrics


def same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(leaves(a), leaves(b)))


def test_no_gradient_step_before_learning_starts_and_the_buffer_fills():
    states, _ = run_updates(4, learning_starts=6)  # 2 envs: the third update reaches 6 env steps
    assert [int(s.updates) for s in states] == [0, 1, 2, 3, 4]
    assert [int(s.target_age) for s in states] == [0, 0, 0, 1, 2]  # gradient steps since the refresh
    assert same(states[0].params, states[2].params) and not same(states[2].params, states[3].params)
    assert [int(s.buffer.size) for s in states] == [0, 2, 4, 6, 8]


def test_hard_target_copy_every_target_period_gradient_steps():
    states, _ = run_updates(7, learning_starts=0, target_period=3, tau=1.0)
    assert [int(s.target_age) for s in states] == [0, 1, 2, 0, 1, 2, 0, 1]
    for i, s in enumerate(states):
        if i < 3:
            assert same(s.target_params, states[0].params)
        elif i < 6:
            assert same(s.target_params, states[3].params)
        else:
            assert same(s.target_params, states[6].params)
    assert not same(states[3].params, states[0].params)


def test_polyak_target_update():
    states, _ = run_updates(2, learning_starts=0, target_period=1, tau=0.25)
    expected = jax.tree.map(lambda p, t: 0.25 * p + 0.75 * t, states[2].params, states[1].target_params)
    for a, b in zip(leaves(states[2].target_params), leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_metrics():
    _, metrics = run_updates(2, learning_starts=0, epsilon_start=0.8)
    assert set(metrics) == {"loss", "epsilon", "mean_max_q", "max_q_s0"}
    assert float(metrics["epsilon"]) < 0.8 and float(metrics["loss"]) > 0


@pytest.mark.parametrize("static", [{"double": True}, {"loss": "huber"}, {"train_freq": 3}])
def test_variants_learn(static):
    states, metrics = run_updates(2, static, learning_starts=0)
    assert int(states[-1].updates) == 2
    assert np.isfinite(float(metrics["loss"])) and not same(states[0].params, states[-1].params)


def test_discrete_observations_are_one_hot_encoded():
    job = prepare("dqn", "FrozenLake-misc", total_steps=64,
                  settings={"num_envs": 4, "learning_starts": 0, "batch_size": 8, "buffer_size": 64,
                            "num_evals": 2, "eval_episodes": 2})
    params = job.algorithm.init(jax.random.key(0), job.hparams).params
    assert jax.tree.leaves(params)[1].shape[0] == 16  # first layer's kernel takes 16 one-hot inputs


def test_a_q_table_learns_by_gradient_on_discrete_observations():
    job = prepare("dqn", "FrozenLake-misc", total_steps=64,
                  settings={"network": "table", "num_envs": 4, "learning_starts": 0, "batch_size": 8,
                            "buffer_size": 64, "num_evals": 2, "eval_episodes": 2})
    algo, hp = job.algorithm, job.hparams
    state = algo.init(jax.random.key(0), hp)
    assert jax.tree.leaves(state.params)[0].shape == (16, 4)  # one row of Q-values per state
    ones = jax.tree.map(jnp.ones_like, state.params)  # TD errors 0.99 - 1 on zero rewards
    new_state, metrics = jax.jit(algo.update)(state._replace(params=ones, target_params=ones), hp)
    state = state._replace(params=ones)
    assert np.isfinite(metrics["loss"]) and not same(state.params, new_state.params)


def test_matrix_observations_are_flattened():
    """Catch-bsuite's 10 x 5 board: the MLP takes 50 inputs, not a Dense over its last axis."""
    job = prepare("dqn", "Catch-bsuite", total_steps=64,
                  settings={"num_envs": 4, "learning_starts": 0, "batch_size": 8, "buffer_size": 64,
                            "num_evals": 2, "eval_episodes": 2})
    state = job.algorithm.init(jax.random.key(0), job.hparams)
    assert jax.tree.leaves(state.params)[1].shape[0] == 50
    _, metrics = jax.jit(job.algorithm.update)(state, job.hparams)
    assert np.ndim(metrics["max_q_s0"]) == 0 and np.isfinite(metrics["loss"])


@pytest.mark.slow
def test_cartpole_reaches_the_targets_row():
    """The learning target: best periodic greedy eval >= 475, final >= 300, max Q(s0) <= 110 within
    500k steps."""
    job = prepare("dqn", "CartPole-v1", total_steps=500_000)
    result = train(job, seeds=range(4))
    returns = result.metrics["eval_return"]  # [seeds, evals]
    assert returns.max(1).mean() >= 475, returns
    assert result.final_return.mean() >= 300, returns
    assert result.metrics["max_q_s0"][:, -1].max() <= 110
