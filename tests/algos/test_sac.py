"""SAC: the tanh log-probability, the temperature's direction, the soft target, the learning target."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import JIT, maybe_jit

from purerl.algos import sac
from purerl.core.distributions import TanhNormal, tanh_log_det_jacobian
from purerl.envs import make_env
from purerl.runtime.run import prepare, train


@JIT
def test_tanh_log_det_jacobian_matches_a_float64_reference_and_is_stable_for_large_u(jit):
    u = np.array([-30.0, -12.0, -4.0, -1.0, -0.1, 0.0, 0.3, 2.0, 9.0, 20.0, 50.0])
    got = np.asarray(maybe_jit(tanh_log_det_jacobian, jit)(jnp.asarray(u, jnp.float32)))
    # log(1 - tanh(u)^2) = -2 log cosh(u), in float64; where 1 - tanh^2 still resolves, a naive
    # float64 log and a central finite difference of tanh agree with it.
    reference = -2.0 * (np.logaddexp(u, -u) - np.log(2.0))
    np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-5)
    moderate = np.abs(u) <= 9.0
    np.testing.assert_allclose(got[moderate], np.log1p(-np.tanh(u[moderate]) ** 2), rtol=1e-5, atol=1e-5)
    h = 1e-6
    slope = (np.tanh(u[moderate] + h) - np.tanh(u[moderate] - h)) / (2 * h)
    np.testing.assert_allclose(got[moderate], np.log(slope), rtol=1e-4, atol=1e-4)
    with np.errstate(divide="ignore"):
        naive = np.log(1.0 - np.tanh(np.float32(u)) ** 2)  # float32: -inf from |u| ~ 9 on
    assert np.all(np.isfinite(got)) and not np.all(np.isfinite(naive))
    grad = jax.grad(lambda x: jnp.sum(tanh_log_det_jacobian(x)))(jnp.asarray(u, jnp.float32))
    np.testing.assert_allclose(grad, -2.0 * np.tanh(u), rtol=1e-5, atol=1e-6)  # finite everywhere


def test_tanh_normal_density_is_the_change_of_variables_of_its_gaussian():
    """log pi(a) against a float64 density of a = tanh(u) with a numerical Jacobian of atanh."""
    mean, log_std = np.array([[0.3, -1.5], [2.0, 0.0]]), np.array([[-0.5, 0.2], [0.1, -1.0]])
    u = np.array([[0.1, -2.0], [3.0, 0.7]])
    a = np.tanh(u)
    h = 1e-7
    d_atanh = (np.arctanh(a + h) - np.arctanh(a - h)) / (2 * h)
    std = np.exp(log_std)
    log_normal = -0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
    expected = np.sum(log_normal + np.log(d_atanh), -1)
    dist = TanhNormal(jnp.asarray(mean, jnp.float32), jnp.asarray(log_std, jnp.float32))
    np.testing.assert_allclose(dist.log_prob_pre_tanh(jnp.asarray(u, jnp.float32)), expected, rtol=1e-5)
    np.testing.assert_allclose(dist.log_prob(jnp.asarray(a, jnp.float32)), expected, rtol=1e-3)
    np.testing.assert_allclose(jax.vmap(lambda d, x: d.log_prob_pre_tanh(x))(dist, jnp.asarray(u)),
                               expected, rtol=1e-5)
    action, log_pi = jax.jit(lambda d, k: d.sample_and_log_prob(k))(dist, jax.random.key(0))
    assert np.all(np.abs(action) < 1.0)
    np.testing.assert_allclose(log_pi, dist.log_prob(action), rtol=1e-3)
    np.testing.assert_allclose(dist.mode(), np.tanh(mean), rtol=1e-6)
    # A sample far out on the tails keeps a finite log-probability.
    wide = TanhNormal(jnp.array([40.0]), jnp.array([0.0]))
    assert np.isfinite(wide.sample_and_log_prob(jax.random.key(1))[1])


@JIT
def test_temperature_rises_below_the_target_entropy_and_falls_above(jit):
    grad = maybe_jit(jax.grad(sac.temperature_loss), jit)
    target = -1.0
    low_entropy = jnp.array([2.0, 3.0])  # log pi: entropy estimate -2.5, below the target
    high_entropy = jnp.array([-0.5, 0.5, 0.0])  # entropy estimate 0, above it
    assert float(grad(jnp.float32(0.0), low_entropy, target)) == pytest.approx(-1.5)  # descent raises alpha
    assert float(grad(jnp.float32(0.0), high_entropy, target)) == pytest.approx(1.0)  # descent lowers it
    # The log-probabilities are constants of this loss: no gradient reaches the policy.
    np.testing.assert_array_equal(jax.grad(sac.temperature_loss, 1)(0.3, low_entropy, target), 0.0)


def test_soft_target_takes_the_min_of_the_twin_critics_and_the_samples_log_prob():
    r = jnp.array([1.0, 2.0, 3.0])
    terminated = jnp.array([False, True, False])
    q_t = jnp.array([[10.0, 7.0, -10.0], [4.0, 9.0, -12.0]])  # [2 critics, 3]
    log_pi_t = jnp.array([-1.0, 5.0, 2.0])
    expected = np.array([1.0 + 0.9 * (4.0 + 0.5), 2.0, 3.0 + 0.9 * (-12.0 - 0.5 * 2.0)])
    np.testing.assert_allclose(sac.soft_critic_target(r, terminated, q_t, log_pi_t, 0.5, 0.9), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(jax.jit(sac.soft_critic_target)(r, terminated, q_t, log_pi_t, 0.5, 0.9),
                               expected, rtol=1e-6)
    batched = jax.vmap(sac.soft_critic_target, in_axes=(0, 0, 0, 0, None, None))(
        jnp.stack([r, r]), jnp.stack([terminated, terminated]), jnp.stack([q_t, q_t[::-1]]),
        jnp.stack([log_pi_t, log_pi_t]), 0.5, 0.9)
    np.testing.assert_allclose(batched, np.stack([expected, expected]), rtol=1e-6)


def test_warm_up_and_learning_and_deterministic_evaluation():
    job = prepare("sac", settings={"num_envs": 2, "buffer_size": 64, "batch_size": 4, "hidden": [16],
                                   "learning_starts": 6})
    algo, hp = job.algorithm, job.hparams

    def body(state, _):
        new, metrics = algo.update(state, hp)
        return new, (new.log_alpha != state.log_alpha, metrics["alpha"])

    init = jax.jit(algo.init)(jax.random.key(0), hp)
    state, (alpha_moved, alpha) = jax.jit(lambda s: jax.lax.scan(body, s, length=6))(init)
    actions = np.asarray(state.buffer.data.action[:12])  # 2 envs x 6 steps
    assert np.all(np.abs(actions) <= 2.0) and np.std(actions) > 0.3  # uniform, then sampled, in bounds
    np.testing.assert_array_equal(alpha_moved, [False, False, True, True, True, True])  # 6 env steps first
    np.testing.assert_allclose(alpha[:3], 1.0)  # init_alpha
    np.testing.assert_array_equal(state.target_critic_params["params"]["Dense_0"]["kernel"].shape, (2, 4, 16))
    obs, _ = job.env.reset(jax.random.key(1), 8)
    first, second = algo.act(state, obs, jax.random.key(2)), algo.act(state, obs, jax.random.key(3))
    np.testing.assert_array_equal(first, second)
    assert first.shape == (8, 1) and np.all(np.abs(first) <= 2.0)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="sac needs a continuous"):
        prepare("sac", "CartPole-v1")
    with pytest.raises(ValueError, match="SAC needs a continuous"):
        sac.make_sac(make_env("CartPole-v1"), total_steps=1000)
    with pytest.raises(ValueError, match=r"batch_size \(256\) must not exceed buffer_size \(100\)"):
        prepare("sac", settings={"buffer_size": 100})
    with pytest.raises(ValueError, match="init_alpha must be positive"):
        prepare("sac", settings={"init_alpha": 0.0})


@pytest.mark.slow
def test_pendulum_reaches_the_targets_row():
    """The learning target: deterministic return >= -200 within 20k env steps, 4 seeds in one vmapped
    call."""
    result = train(prepare("sac", "Pendulum-v1", total_steps=20_000), seeds=range(4))
    assert result.final_return.mean() >= -200, result.metrics["eval_return"]
