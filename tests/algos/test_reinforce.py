"""REINFORCE: masking, returns-to-go, the score-function gradient, and its learning target."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import JIT, maybe_jit

from purerl.algos import reinforce
from purerl.core import losses
from purerl.core.distributions import Categorical
from purerl.nets.networks import Table
from purerl.runtime.run import prepare, train


@JIT
def test_first_episode_mask(jit):
    done = jnp.array([[0, 0, 1], [1, 0, 0], [0, 1, 1], [1, 0, 0]], bool)  # [T=4, N=3]
    mask = maybe_jit(reinforce.first_episode_mask, jit)(done)
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 1, 0], [0, 1, 0], [0, 0, 0]])


@JIT
def test_returns_to_go_stop_at_episode_ends_and_bootstrap_only_when_cut(jit):
    # Env 0: terminates after step 1, a new episode runs to the rollout's end.
    # Env 1: truncated (time limit) after step 2.
    r = jnp.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]])
    terminated = jnp.array([[0, 0], [1, 0], [0, 0], [0, 0]], bool)
    truncated = jnp.array([[0, 0], [0, 0], [0, 1], [0, 0]], bool)
    v_tp1 = jnp.array([[100.0, 100.0], [100.0, 100.0], [100.0, 10.0], [20.0, 100.0]])
    fn = maybe_jit(reinforce.returns_to_go, jit)
    g = fn(r, terminated, truncated, v_tp1, 0.5)
    expected = np.array([
        [1 + 0.5 * 2, 1 + 0.5 * (2 + 0.5 * (3 + 0.5 * 10))],
        [2, 2 + 0.5 * (3 + 0.5 * 10)],
        [3 + 0.5 * (4 + 0.5 * 20), 3 + 0.5 * 10],
        [4 + 0.5 * 20, 4 + 0.5 * 100],
    ])
    np.testing.assert_allclose(g, expected, rtol=1e-6)


def test_gradient_of_a_tabular_softmax_policy_is_the_score_function():
    """d/dtheta of the loss = -(1/sum w) sum_t w_t adv_t (onehot(a_t) - pi(.|s_t)) at row s_t."""
    num_obs, num_actions = 3, 4
    table = Table(num_obs, num_actions)
    zeros = table.init(jax.random.key(1), jnp.zeros((), int))
    params = jax.tree.map(lambda x: jax.random.normal(jax.random.key(0), x.shape), zeros)
    s = jnp.array([0, 2, 2, 1, 0])
    a = jnp.array([3, 1, 0, 2, 3])
    adv = jnp.array([1.5, -2.0, 0.5, 3.0, -1.0])
    w = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0])

    def loss(params):
        return losses.policy_gradient_loss(Categorical(table.apply(params, s)).log_prob(a), adv, w)

    grad = jax.grad(loss)(params)["params"]["table"]
    theta = np.asarray(params["params"]["table"])
    pi = np.exp(theta - theta.max(1, keepdims=True))
    pi /= pi.sum(1, keepdims=True)
    expected = np.zeros_like(theta)
    for s_t, a_t, adv_t, w_t in zip(s, a, adv, w):
        expected[s_t] -= w_t * adv_t * (np.eye(num_actions)[a_t] - pi[s_t])
    np.testing.assert_allclose(grad, expected / w.sum(), rtol=1e-5, atol=1e-6)


def test_expected_score_function_gradient_is_the_policy_gradient():
    """On a bandit, E_a~pi[-grad loss(a, adv=r(a))] = grad_theta sum_a pi_theta(a) r(a)."""
    theta = jnp.array([0.3, -0.2, 1.0])
    r = jnp.array([1.0, 5.0, -2.0])

    def loss(theta, a):
        return losses.policy_gradient_loss(Categorical(theta).log_prob(a), r[a])

    def sample_gradient(a):
        return -jax.grad(loss)(theta, a)

    pi = jax.nn.softmax(theta)
    expected = jnp.sum(pi[:, None] * jax.vmap(sample_gradient)(jnp.arange(3)), 0)
    true = jax.grad(lambda t: jnp.sum(jax.nn.softmax(t) * r))(theta)
    np.testing.assert_allclose(expected, true, rtol=1e-5)


def test_rejects_a_continuous_action_space():
    with pytest.raises(ValueError, match="discrete action space; Pendulum-v1 has a continuous one"):
        prepare("reinforce", "Pendulum-v1")


def test_the_network_setting_picks_tables_or_mlps():
    """auto: tables on discrete observations, MLPs on Box ones; either can be asked for where it fits."""
    def policy_params(env_id, network):
        job = prepare("reinforce", env_id, settings={"network": network, "num_envs": 1})
        return job.algorithm.init(jax.random.key(0), job.hparams).policy_params["params"]

    assert set(policy_params("FrozenLake-misc", "auto")) == {"table"}
    assert set(policy_params("CartPole-v1", "auto")) == {"Dense_0", "Dense_1", "Dense_2"}
    one_hot_mlp = policy_params("FrozenLake-misc", "mlp")
    assert one_hot_mlp["Dense_0"]["kernel"].shape == (16, 64)
    with pytest.raises(ValueError, match="the table network needs discrete observations; CartPole-v1"):
        prepare("reinforce", "CartPole-v1", settings={"network": "table"})


def test_update_metrics_and_masked_steps():
    job = prepare("reinforce", "CartPole-v1", total_steps=2000, settings={"num_envs": 2})
    algo, hp = job.algorithm, job.hparams
    assert algo.steps_per_update == 2 * 500
    state, metrics = jax.jit(algo.update)(algo.init(jax.random.key(0), hp), hp)
    assert set(metrics) == {"loss", "value_loss", "entropy", "episode_return", "episode_length"}
    # CartPole pays 1 per step, so a first episode's return is its length, well under the 500-step limit.
    assert float(metrics["episode_return"]) == float(metrics["episode_length"]) < 100
    assert float(metrics["entropy"]) == pytest.approx(np.log(2), abs=0.01)  # near-uniform initial policy
    assert int(state.updates) == 1


def test_tabular_policy_solves_deterministic_frozen_lake():
    """The tabular softmax variant on a discrete-observation env (success 1.0 is optimal)."""
    job = prepare("reinforce", "FrozenLake-misc", {"is_slippery": False}, total_steps=160_000,
                  settings={"lr": 0.1, "value_lr": 0.1, "num_evals": 2, "eval_episodes": 64})
    assert "table" in job.algorithm.init(jax.random.key(0), job.hparams).policy_params["params"]
    result = train(job, seeds=range(2))
    assert np.all(result.final_return >= 0.95), result.final_return


@pytest.mark.slow
def test_cartpole_reaches_the_targets_row():
    """The learning target: sampled-policy return >= 450 within 2M env steps, 4 seeds in one vmapped
    call."""
    job = prepare("reinforce", "CartPole-v1", total_steps=2_000_000)
    result = train(job, seeds=range(4))
    assert result.final_return.mean() >= 450, result.metrics["eval_return"]
