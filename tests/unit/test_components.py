"""Components by name: the observation encoder, the network registry, action distributions, bounds."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import JIT, maybe_jit

from purerl.config import registry
from purerl.core.distributions import Categorical, Normal, sample_each
from purerl.envs import from_bounds, make_env, to_bounds
from purerl.nets import networks

# Observation encoder and networks.


def test_encoder_one_hots_flattens_and_casts():
    lake = networks.encoder(make_env("FrozenLake-misc"))
    x = lake(jnp.array([[0, 5], [15, 1]], jnp.int32))  # [2, 2] batch of discrete observations
    assert x.shape == (2, 2, 16) and x.dtype == jnp.float32
    np.testing.assert_array_equal(x[1, 0], np.eye(16)[15])
    catch = make_env("Catch-bsuite")
    assert catch.obs_shape == (10, 5)
    board = jnp.arange(2 * 3 * 50).reshape(2, 3, 10, 5)  # [2, 3] batch of 10 x 5 boards, int
    x = networks.encoder(catch)(board)
    assert x.shape == (2, 3, 50) and x.dtype == jnp.float32
    np.testing.assert_array_equal(x[1, 2], np.arange(250, 300))
    grid = networks.encoder(catch, flatten=False)(board)  # for a convolutional torso
    assert grid.shape == (2, 3, 10, 5) and grid.dtype == jnp.float32
    cartpole = networks.encoder(make_env("CartPole-v1"))
    obs = jnp.ones((7, 4), jnp.float32)
    np.testing.assert_array_equal(cartpole(obs), obs)
    assert cartpole(obs[0]).shape == (4,)  # no batch axis


def test_networks_by_name_take_raw_observations():
    lake = make_env("FrozenLake-misc")
    obs = jnp.array([3, 7, 3])
    for name, path, shape in [("mlp", ("Dense_0", "kernel"), (16, 8)), ("table", ("table",), (16, 4))]:
        net = networks.make(name, lake, outputs=4, hidden=(8,))
        params = net.init(jax.random.key(0), obs)
        leaf = params["params"]
        for key in path:
            leaf = leaf[key]
        assert leaf.shape == shape  # one-hot inputs to the MLP, one row per state in the table
        out = jax.jit(net.apply)(params, obs)
        assert out.shape == (3, 4)
        np.testing.assert_array_equal(out[0], out[2])  # same observation, same row
    critic = networks.make("mlp", make_env("Pendulum-v1"), outputs=1, hidden=(8,), extra_inputs=1)
    obs, action = jnp.zeros((5, 3)), jnp.ones((5, 1))
    params = critic.init(jax.random.key(0), obs, action)
    assert params["params"]["Dense_0"]["kernel"].shape == (4, 8)  # observation, then the action
    assert critic.apply(params, obs, action).shape == (5, 1)


def test_unsuitable_networks_are_refused_with_one_line():
    cartpole, lake = make_env("CartPole-v1"), make_env("FrozenLake-misc")
    with pytest.raises(ValueError, match=r"^the table network needs discrete observations; CartPole-v1 has "
                                         r"shape \(4,\)$"):
        networks.make("table", cartpole, outputs=2)
    with pytest.raises(ValueError, match="^the table network takes a discrete observation alone, not 1 more"):
        networks.make("table", lake, outputs=1, extra_inputs=1)
    with pytest.raises(ValueError, match="^unknown network 'resnet'; choose from auto, mlp, table, cnn$"):
        networks.make("resnet", cartpole, outputs=2)
    with pytest.raises(ValueError, match="^the cnn network needs H x W x C grid observations .*; "
                                         "CartPole-v1's are 4: use mlp$"):
        networks.make("cnn", cartpole, outputs=2)
    with pytest.raises(ValueError, match="^the cnn network needs .*; Catch-bsuite's are 10x5: use mlp$"):
        networks.make("cnn", make_env("Catch-bsuite"), outputs=2)


def test_every_setting_has_a_range_and_network_settings_name_the_registry():
    for name, definition in registry.ALGORITHMS.items():
        static = set(definition.static._fields)
        assert set(definition.ranges) == static | set(definition.hparams._fields), name
        assert callable(registry.factory(name)), name
        if "network" in static:
            assert set(definition.ranges["network"].choices) == {"auto", *networks.NETWORKS}, name


# Distributions.


@JIT
def test_categorical_against_hand_computed_values(jit):
    p = np.array([[0.2, 0.8, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    logits = jnp.log(jnp.asarray(p, jnp.float32))  # -inf marks the impossible third action
    log_prob = maybe_jit(lambda logits, a: Categorical(logits).log_prob(a), jit)
    np.testing.assert_allclose(log_prob(logits, jnp.array([1, 2])), np.log([0.8, 1 / 3]), rtol=1e-6)
    entropy = maybe_jit(lambda logits: Categorical(logits).entropy(), jit)
    expected = [-(0.2 * np.log(0.2) + 0.8 * np.log(0.8)), np.log(3)]
    np.testing.assert_allclose(entropy(logits), expected, rtol=1e-6)
    np.testing.assert_array_equal(Categorical(logits).mode(), [1, 0])
    np.testing.assert_allclose(jax.vmap(entropy)(logits), expected, rtol=1e-6)


def test_categorical_entropy_and_its_gradient_are_finite_with_impossible_actions():
    logits = jnp.array([0.0, -jnp.inf, 1.0, -jnp.inf])
    grad = jax.grad(lambda x: Categorical(x).entropy())(logits)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[[1, 3]] == 0.0)
    p = np.exp([0.0, 1.0]) / np.exp([0.0, 1.0]).sum()
    np.testing.assert_allclose(Categorical(logits).entropy(), -(p * np.log(p)).sum(), rtol=1e-6)
    assert float(Categorical(jnp.array([0.0, -1e9])).entropy()) == pytest.approx(0.0, abs=1e-6)
    samples = Categorical(jnp.broadcast_to(logits, (2000, 4))).sample(jax.random.key(0))
    assert set(np.asarray(samples).tolist()) == {0, 2}


@JIT
def test_normal_against_hand_computed_values(jit):
    mean, log_std = jnp.array([[0.0, 1.0]]), jnp.log(jnp.array([[1.0, 2.0]]))
    x = jnp.array([[1.0, 0.0]])
    log_prob = maybe_jit(lambda m, s, x: Normal(m, s).log_prob(x), jit)
    expected = -0.5 * 1.0 - 0.5 * np.log(2 * np.pi) + (-0.5 * 0.25 - np.log(2.0) - 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(log_prob(mean, log_std, x), [expected], rtol=1e-6)
    entropy = Normal(mean, jnp.log(jnp.array([1.0, 2.0]))).entropy()  # log_std broadcast to the mean
    np.testing.assert_allclose(entropy, [np.log(2.0) + np.log(2 * np.pi * np.e)], rtol=1e-6)
    np.testing.assert_array_equal(Normal(mean, log_std).mode(), mean)
    draws = Normal(jnp.full((20000, 2), 3.0), jnp.full((20000, 2), np.log(0.5))).sample(jax.random.key(0))
    np.testing.assert_allclose(draws.mean(0), 3.0, atol=0.02)
    np.testing.assert_allclose(draws.std(0), 0.5, atol=0.02)


def test_sample_each_uses_one_key_per_row():
    """Row i's sample depends only on its own key: the same whether drawn in a batch of 4 or of 1."""
    keys = jax.random.split(jax.random.key(0), 4)
    dist = Normal(jnp.zeros((4, 3)), jnp.zeros((4, 3)))
    batch = sample_each(dist, keys)
    alone = Normal(jnp.zeros(3), jnp.zeros(3)).sample(keys[2])
    np.testing.assert_array_equal(batch[2], alone)
    logits = jnp.zeros((4, 5))
    actions = sample_each(Categorical(logits), keys)
    np.testing.assert_array_equal(actions[1], Categorical(logits[1]).sample(keys[1]))


# Bounds.


def test_unit_box_to_bounds_and_back():
    low, high = np.array([-2.0, 0.0], np.float32), np.array([2.0, 10.0], np.float32)
    unit = jnp.array([[-1.0, 1.0], [0.0, 0.5], [3.0, -7.0]])  # the last row lies outside the box
    action = jax.jit(to_bounds)(unit, low, high)
    np.testing.assert_allclose(action, [[-2.0, 10.0], [0.0, 7.5], [2.0, 0.0]])
    np.testing.assert_allclose(from_bounds(action, low, high), np.clip(unit, -1.0, 1.0), atol=1e-6)
