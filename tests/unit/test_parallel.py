"""The parallel layer: gradients averaged over a device mesh, replicated learner, sharded actors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.core import parallel
from purerl.nets.networks import MLP

NET = MLP((16, 3))


def loss_fn(params, x, y):
    return jnp.mean(jnp.square(NET.apply(params, x) - y))


@pytest.fixture(scope="module")
def problem():
    x_key, y_key, net_key = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(x_key, (32, 5))
    y = jax.random.normal(y_key, (32, 3))
    return NET.init(net_key, x), x, y


def test_gradient_on_four_devices_is_the_mean_of_the_per_device_gradients(problem):
    params, x, y = problem
    per_device = [jax.grad(loss_fn)(params, xs, ys) for xs, ys in zip(jnp.split(x, 4), jnp.split(y, 4))]
    expected = jax.tree.map(lambda *g: np.mean(np.stack(g), 0), *per_device)

    def local(params, x, y):
        return parallel.loss_and_pgrad(loss_fn, parallel.AXIS)(params, x, y)[1]

    sharded = jax.shard_map(local, mesh=parallel.make_mesh(4),
                            in_specs=(parallel.REPLICATED, parallel.SHARDED, parallel.SHARDED),
                            out_specs=parallel.REPLICATED, check_vma=False)
    got = jax.jit(sharded)(params, x, y)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # Equal shards: the mean of the shard gradients is the full-batch gradient.
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(jax.grad(loss_fn)(params, x, y))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_without_an_axis_it_is_value_and_grad(problem):
    params, x, y = problem
    value, grads = parallel.loss_and_pgrad(loss_fn)(params, x, y)
    expected_value, expected_grads = jax.value_and_grad(loss_fn)(params, x, y)
    np.testing.assert_array_equal(value, expected_value)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(expected_grads)):
        np.testing.assert_array_equal(a, b)
    tree = {"a": jnp.ones(3)}
    assert parallel.pmean(tree, None) is tree


def test_data_parallel_shards_actors_and_replicates_the_learner():
    def update(state, hparams, axis_name=None):
        learner, actors = state
        local_sum = jnp.sum(actors)  # this device's shard only
        metrics = {"shard_rows": jnp.asarray(actors.shape[0], jnp.float32),
                   "mean_sum": parallel.pmean(local_sum, axis_name)}
        return (learner + hparams * parallel.pmean(local_sum, axis_name), actors + 1.0), metrics

    spec = (parallel.REPLICATED, parallel.SHARDED)
    state = (jnp.zeros(()), jnp.arange(8.0))
    for devices in (1, 4):
        step = jax.jit(parallel.data_parallel(update, devices, spec))
        (learner, actors), metrics = step(state, jnp.asarray(2.0))
        assert metrics["shard_rows"] == 8 // devices
        np.testing.assert_allclose(metrics["mean_sum"], 28.0 / devices)
        np.testing.assert_allclose(learner, 2.0 * 28.0 / devices)
        np.testing.assert_array_equal(actors, np.arange(8.0) + 1.0)
    # vmap outside the sharded update: a batch of seeds on every device.
    step = parallel.data_parallel(update, 4, spec)
    batch = (jnp.zeros(3), jnp.stack([jnp.arange(8.0)] * 3))
    (learner, actors), _ = jax.jit(jax.vmap(step))(batch, jnp.asarray([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(learner, np.array([1.0, 2.0, 3.0]) * 7.0)
    assert actors.shape == (3, 8)


def test_too_many_devices_is_named():
    with pytest.raises(ValueError, match="xla_force_host_platform_device_count"):
        parallel.make_mesh(jax.device_count() + 1)


def test_meshes_name_their_axis_and_devices_default_to_the_divisors():
    mesh = parallel.make_mesh(2, axis="sweep")
    assert mesh.axis_names == ("sweep",) and mesh.devices.size == 2
    assert parallel.make_mesh(4).axis_names == (parallel.AXIS,)
    with pytest.raises(ValueError, match="devices must be between 1 and the 4 available, got 0"):
        parallel.make_mesh(0)
    assert [parallel.divisor_devices(n) for n in (1, 2, 3, 6, 8, 7, 12)] == [1, 2, 3, 3, 4, 1, 4]


def test_device_copies_can_differ_so_checking_them_means_something():
    """An update that forgets its pmean leaves each device with its own "replicated" learner."""
    def update(state, hparams, axis_name=None):
        learner, actors = state
        return (learner + jnp.sum(actors), actors), {}

    step = jax.jit(parallel.data_parallel(update, 4, (parallel.REPLICATED, parallel.SHARDED)))
    learner = step((jnp.zeros(()), jnp.arange(8.0)), jnp.asarray(0.0))[0][0]
    copies = [float(shard.data) for shard in learner.addressable_shards]
    assert copies == [1.0, 5.0, 9.0, 13.0]  # each device's shard sum
