"""Tabular Q-learning and SARSA against ground truth (the exact FrozenLake model), and Q-learning's
learning target on a discretised CartPole."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from frozen_lake_model import (
    epsilon_soft_optimal_q,
    optimal_q,
    success_probability,
    transition_model,
)

from purerl.algos.tabular import averaged_update, td_target
from purerl.runtime.run import prepare, train

GAMMA = 0.99


@pytest.fixture(scope="module")
def model():
    return transition_model()


def test_ground_truth_matches_targets(model):
    P, R, terminal = model
    q_star = optimal_q(P, R, terminal, GAMMA)
    assert q_star[0].max() == pytest.approx(0.5420, abs=5e-4)
    assert success_probability(P, R, terminal, q_star.argmax(-1), 100) == pytest.approx(0.7402, abs=0.005)
    uniform = success_probability(P, R, terminal, np.zeros(16, int), 100)
    assert uniform < 0.05
    q_soft = epsilon_soft_optimal_q(P, R, terminal, GAMMA, 0.1)
    assert q_soft[0].max() == pytest.approx(0.310, abs=0.005)


def test_q_learning_finds_q_star(model):
    """Off-policy: from epsilon-greedy behaviour, max Q(0) -> V*(0), greedy policy near optimal."""
    P, R, terminal = model
    job = prepare("q_learning", "FrozenLake-misc", total_steps=1_000_000, settings={"num_evals": 2})
    result = train(job, seeds=range(4))
    q = np.asarray(result.final_state.algo.q)  # [seeds, S, A]
    v_star = optimal_q(P, R, terminal, GAMMA)[0].max()
    np.testing.assert_array_less(np.abs(q[:, 0].max(-1) - v_star), 0.03)
    for q_seed in q:
        assert success_probability(P, R, terminal, q_seed.argmax(-1), 100) >= 0.72
    assert result.final_return.mean() >= 0.65  # sampled estimate of the same success rate


def test_sarsa_converges_to_its_own_fixed_point_not_q_star(model):
    """SARSA with fixed epsilon 0.1 learns the epsilon-soft values (0.310), not Q* (0.542)."""
    P, R, terminal = model
    settings = {"epsilon_start": 0.1, "epsilon_end": 0.1, "num_evals": 2}
    job = prepare("sarsa", "FrozenLake-misc", total_steps=1_000_000, settings=settings)
    result = train(job, seeds=range(4))
    q = np.asarray(result.final_state.algo.q)
    fixed_point = epsilon_soft_optimal_q(P, R, terminal, GAMMA, 0.1)[0].max()
    max_q0 = q[:, 0].max(-1)
    assert np.all((max_q0 >= 0.29) & (max_q0 <= 0.33)), max_q0
    np.testing.assert_allclose(max_q0, fixed_point, atol=0.02)
    for q_seed in q:
        assert success_probability(P, R, terminal, q_seed.argmax(-1), 100) >= 0.72


@pytest.mark.parametrize("algo", ["q_learning", "sarsa"])
def test_non_slippery_is_solved(algo):
    job = prepare(algo, "FrozenLake-misc", {"is_slippery": False}, total_steps=100_000)
    result = train(job, seeds=range(4))
    np.testing.assert_array_equal(result.final_return, 1.0)
    q0 = np.asarray(result.final_state.algo.q)[:, 0].max(-1)
    if algo == "q_learning":  # V*(0) = gamma^5: six steps to the goal
        np.testing.assert_allclose(q0, GAMMA**5, atol=0.02)
    else:  # on-policy values include the epsilon = 0.1 exploration: below V*
        assert np.all(q0 < GAMMA**5 - 0.05), q0


@pytest.mark.slow  # a learning check: 4 seeds x 5M env steps
def test_q_learning_on_discretised_cartpole():
    """The learning target: greedy return >= 400 within 5M steps through the discretiser."""
    job = prepare(
        "q_learning", "CartPole-v1", total_steps=5_000_000,
        bins=[3, 3, 8, 12], bounds=[[-2.4, 2.4], [-3, 3], [-0.2095, 0.2095], [-3.5, 3.5]],
    )
    result = train(job, seeds=range(4))
    assert result.final_return.mean() >= 400, result.final_return


# Update rules on hand-computed cases.


def test_td_targets():
    q_t = jnp.array([[1.0, 3.0], [2.0, 0.5]])
    r_t = jnp.array([1.0, 0.0])
    discount_t = jnp.array([0.5, 0.0])  # second transition terminated
    np.testing.assert_allclose(td_target(q_t, r_t, discount_t, None), [2.5, 0.0])
    np.testing.assert_allclose(td_target(q_t, r_t, discount_t, jnp.array([0, 0])), [1.5, 0.0])
    jitted = jax.jit(td_target)(q_t, r_t, discount_t, jnp.array([0, 1]))
    np.testing.assert_allclose(jitted, [1.5, 0.0])


def test_duplicate_pairs_are_averaged_not_dropped():
    q = jnp.zeros((2, 2))
    s, a = jnp.array([0, 0, 1]), jnp.array([1, 1, 0])
    td = jnp.array([1.0, 3.0, -2.0])
    q = averaged_update(q, s, a, td, 0.5)
    np.testing.assert_allclose(q, [[0.0, 1.0], [-1.0, 0.0]])


def _algorithm(rule, epsilon, lr):
    """One env on non-slippery FrozenLake, fixed epsilon and step size."""
    settings = {"num_envs": 1, "epsilon_start": epsilon, "epsilon_end": epsilon, "lr": lr, "lr_end": lr}
    job = prepare(rule, "FrozenLake-misc", {"is_slippery": False}, total_steps=100, settings=settings)
    return job.algorithm, job.hparams


def _update_from(rule, q, seed, epsilon=1.0, lr=0.5):
    """Sets Q, makes the next executed action RIGHT (0 -> 1), and runs one update."""
    algorithm, hparams = _algorithm(rule, epsilon, lr)
    state = algorithm.init(jax.random.key(seed), hparams)._replace(q=q, action=jnp.array([2]))
    return algorithm.update(state, hparams)[0]


Q_AT_1 = jnp.zeros((16, 4)).at[1].set(jnp.array([1.0, 2.0, 0.0, 0.0]))


def test_q_learning_bootstraps_on_the_max():
    after = _update_from("q_learning", Q_AT_1, seed=0)
    # Q(0, RIGHT) += 0.5 * (0 + 0.99 * max_a Q(1, a) - 0), whatever the behaviour does next.
    assert float(after.q[0, 2]) == pytest.approx(0.5 * 0.99 * 2.0)


def test_sarsa_bootstraps_on_the_action_it_takes_next():
    taken = set()
    for seed in range(20):
        after = _update_from("sarsa", Q_AT_1, seed=seed)
        a_next = int(after.action[0])  # the action executed at the next step
        taken.add(a_next)
        assert float(after.q[0, 2]) == pytest.approx(0.5 * 0.99 * float(Q_AT_1[1, a_next]))
    assert len(taken) > 1  # epsilon = 1: a' is sampled, not the argmax
