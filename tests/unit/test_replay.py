"""The replay buffer: circular writes, uniform sampling of filled slots only, any pytree."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import maybe_jit

from purerl.core import replay
from purerl.envs import Transition


def transitions(start, num):
    """`num` transitions whose every field encodes its index start..start+num-1."""
    i = jnp.arange(start, start + num)
    return Transition(
        obs=jnp.stack([i, -i], -1).astype(jnp.float32),
        action=i.astype(jnp.int32),
        reward=i.astype(jnp.float32),
        terminated=i % 2 == 0,
        truncated=i % 3 == 0,
        next_obs=jnp.stack([i + 1, -i - 1], -1).astype(jnp.float32),
    )


def example():
    return jax.tree.map(lambda x: x[0], transitions(0, 1))


def test_init_shapes_and_dtypes():
    buf = replay.init(example(), 5)
    assert buf.data.obs.shape == (5, 2) and buf.data.obs.dtype == jnp.float32
    assert buf.data.action.shape == (5,) and buf.data.action.dtype == jnp.int32
    assert buf.data.terminated.dtype == jnp.bool_ and buf.data.truncated.dtype == jnp.bool_
    assert int(buf.size) == 0 and int(buf.pointer) == 0 and replay.num_slots(buf) == 5


@pytest.mark.parametrize("jit", [False, True])
def test_add_wraps_around_and_overwrites_the_oldest(jit):
    add = maybe_jit(replay.add, jit)
    buf = replay.init(example(), 5)
    buf = add(buf, transitions(0, 3))
    assert (int(buf.pointer), int(buf.size)) == (3, 3)
    np.testing.assert_array_equal(buf.data.action, [0, 1, 2, 0, 0])
    buf = add(buf, transitions(3, 3))  # slots 3, 4, then wraps to 0
    assert (int(buf.pointer), int(buf.size)) == (1, 5)
    np.testing.assert_array_equal(buf.data.action, [5, 1, 2, 3, 4])
    buf = add(buf, transitions(6, 4))  # slots 1..4
    assert (int(buf.pointer), int(buf.size)) == (0, 5)
    np.testing.assert_array_equal(buf.data.action, [5, 6, 7, 8, 9])
    # Every field of a slot belongs to the same transition.
    np.testing.assert_array_equal(buf.data.obs[:, 0], buf.data.action)
    np.testing.assert_array_equal(buf.data.next_obs[:, 0], buf.data.action + 1)
    np.testing.assert_array_equal(buf.data.terminated, buf.data.action % 2 == 0)
    np.testing.assert_array_equal(buf.data.truncated, buf.data.action % 3 == 0)


def test_add_rejects_a_batch_larger_than_the_buffer():
    with pytest.raises(ValueError, match="capacity 4"):
        replay.add(replay.init(example(), 4), transitions(0, 5))


def test_sample_draws_only_filled_slots_uniformly():
    buf = replay.add(replay.init(example(), 100), transitions(10, 3))
    batch = jax.jit(replay.sample, static_argnums=2)(buf, jax.random.key(0), 3000)
    counts = np.bincount(np.asarray(batch.action), minlength=100)
    assert set(np.flatnonzero(counts)) == {10, 11, 12}
    np.testing.assert_allclose(counts[10:13] / 3000, 1 / 3, atol=0.04)
    # Items come out whole: fields still agree with each other.
    np.testing.assert_array_equal(batch.reward, batch.action)
    np.testing.assert_array_equal(batch.next_obs[:, 1], -batch.action - 1)


def test_sample_after_wrap_covers_the_whole_buffer():
    buf = replay.init(example(), 4)
    for start in range(0, 10, 2):
        buf = replay.add(buf, transitions(start, 2))
    batch = replay.sample(buf, jax.random.key(1), 400)
    assert set(np.unique(np.asarray(batch.action))) == {6, 7, 8, 9}


def test_vmapped_buffers_are_independent():
    bufs = jax.vmap(lambda _: replay.init(example(), 3))(jnp.arange(2))
    batch = jax.tree.map(lambda x: jnp.stack([x, x + 10]), transitions(0, 2))
    bufs = jax.vmap(replay.add)(bufs, batch)
    np.testing.assert_array_equal(bufs.data.action, [[0, 1, 0], [10, 11, 0]])
    samples = jax.vmap(replay.sample, in_axes=(0, 0, None))(bufs, jax.random.split(jax.random.key(2), 2), 50)
    assert set(np.unique(np.asarray(samples.action[0]))) <= {0, 1}
    assert set(np.unique(np.asarray(samples.action[1]))) <= {10, 11}
