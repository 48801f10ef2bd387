"""The TD errors and losses against hand-computed values, with and without jit, batched and vmapped."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import JIT, maybe_jit

from purerl.core import losses

# Two transitions: the second ends the episode (discount 0).
Q_TM1 = jnp.array([[1.0, 2.0], [0.5, -1.0]])
A_TM1 = jnp.array([1, 0])
R_T = jnp.array([1.0, 3.0])
DISCOUNT_T = jnp.array([0.9, 0.0])
Q_T = jnp.array([[3.0, 5.0], [10.0, 20.0]])  # target network
Q_T_SELECTOR = jnp.array([[4.0, -1.0], [0.0, 1.0]])  # online network, picks action 0 then 1


@JIT
def test_q_learning(jit):
    td = maybe_jit(losses.q_learning, jit)(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T)
    # 1 + 0.9 * max(3, 5) - 2 = 3.5 ; 3 + 0 - 0.5 = 2.5
    np.testing.assert_allclose(td, [3.5, 2.5], rtol=1e-6)


@JIT
def test_double_q_learning_values_the_online_argmax_with_the_target_net(jit):
    td = maybe_jit(losses.double_q_learning, jit)(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T, Q_T_SELECTOR)
    # argmax online = 0 -> target 1 + 0.9 * 3 = 3.7, minus 2 ; terminal: 3 - 0.5
    np.testing.assert_allclose(td, [1.7, 2.5], rtol=1e-6)


def test_batched_equals_vmapped_unbatched():
    batched = losses.double_q_learning(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T, Q_T_SELECTOR)
    vmapped = jax.vmap(losses.double_q_learning)(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T, Q_T_SELECTOR)
    single = losses.double_q_learning(Q_TM1[0], A_TM1[0], R_T[0], DISCOUNT_T[0], Q_T[0], Q_T_SELECTOR[0])
    np.testing.assert_allclose(batched, vmapped)
    np.testing.assert_allclose(batched[0], single)
    np.testing.assert_allclose(
        jax.vmap(losses.q_learning)(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T),
        losses.q_learning(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T),
    )


def test_td_target_is_a_constant():
    grad = jax.grad(lambda q_t: jnp.sum(losses.q_learning(Q_TM1, A_TM1, R_T, DISCOUNT_T, q_t)))(Q_T)
    np.testing.assert_array_equal(grad, 0.0)
    grad_q = jax.grad(lambda q: jnp.sum(losses.q_learning(q, A_TM1, R_T, DISCOUNT_T, Q_T)))(Q_TM1)
    np.testing.assert_array_equal(grad_q, [[0.0, -1.0], [-1.0, 0.0]])


def test_rank_checks():
    with pytest.raises(AssertionError):
        losses.q_learning(Q_TM1, A_TM1[:1], R_T, DISCOUNT_T, Q_T)


@JIT
def test_huber_loss_and_its_clipped_gradient(jit):
    x = jnp.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    huber = maybe_jit(losses.huber_loss, jit)
    np.testing.assert_allclose(huber(x, 1.0), [2.5, 0.125, 0.0, 0.125, 2.5])
    np.testing.assert_allclose(huber(x, 2.0), [4.0, 0.125, 0.0, 0.125, 4.0])
    grad = jax.vmap(jax.grad(huber), in_axes=(0, None))(x, 1.0)
    np.testing.assert_allclose(grad, [-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(losses.l2_loss(x), 0.5 * x**2)
    # Within delta, Huber equals the squared loss.
    np.testing.assert_allclose(huber(x, 10.0), losses.l2_loss(x))


@JIT
def test_policy_gradient_loss_is_the_score_function_estimate(jit):
    logits = jnp.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0], [0.3, 0.3, 0.3]])
    a = jnp.array([1, 2, 0])
    adv = jnp.array([2.0, -1.0, 5.0])
    w = jnp.array([1.0, 1.0, 0.0])  # the last step lies past the episode's end

    def loss(logits, adv, w):
        log_pi = jnp.take_along_axis(jax.nn.log_softmax(logits), a[:, None], -1)[:, 0]
        return losses.policy_gradient_loss(log_pi, adv, w)

    loss = maybe_jit(loss, jit)
    grad = jax.grad(loss)(logits, adv, w)
    pi = jax.nn.softmax(logits)
    score = jax.nn.one_hot(a, 3) - pi  # d log softmax(logits)[a] / d logits
    np.testing.assert_allclose(grad, -(w * adv)[:, None] * score / w.sum(), rtol=1e-5, atol=1e-7)
    log_pi = np.log(np.asarray(pi)[np.arange(3), a])
    np.testing.assert_allclose(loss(logits, adv, w), -(log_pi * adv * w).sum() / 2, rtol=1e-6)
    # The advantage is held constant.
    np.testing.assert_array_equal(jax.grad(loss, argnums=1)(logits, adv, w), 0.0)


@JIT
def test_policy_gradient_loss_without_weights_is_the_mean(jit):
    log_pi = jnp.array([[-1.0, -2.0], [-0.5, -3.0]])  # [T, N]
    adv = jnp.array([[1.0, 2.0], [-4.0, 0.5]])
    loss = maybe_jit(losses.policy_gradient_loss, jit)
    np.testing.assert_allclose(loss(log_pi, adv), -(-1.0 - 4.0 + 2.0 - 1.5) / 4, rtol=1e-6)
    np.testing.assert_allclose(loss(log_pi, adv, jnp.ones((2, 2))), loss(log_pi, adv), rtol=1e-6)
    with pytest.raises(AssertionError):
        losses.policy_gradient_loss(log_pi, adv[0])
