"""The contract every registered algorithm keeps: finite updates of unchanged structure, jit equal to
no jit, seeds reproducible and distinct, a vmapped or swept member equal to its own run, a sweep
compiled once."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import counting_traces, leaves, tiny_job, traced_once

from purerl.config import registry
from purerl.runtime.run import seed_keys
from purerl.runtime.sweep import sweep

# TD3 is DDPG's module with three settings on (test_ddpg.py checks each); its contract runs with the
# slow tests, keeping the default suite within CI's time.
ALGOS = [pytest.param(a, marks=pytest.mark.slow) if a == "td3" else a for a in registry.ALGORITHMS]
# Op by op without jit, REINFORCE's whole episodes and the actor-critics' scans take a minute or so.
EAGER_SLOW = {"reinforce", "td3", "sac", "ppo"}
# The batched-program checks compile two programs each: in the default suite for one algorithm of
# each kind (tabular, value-based, on-policy actor-critic, off-policy actor-critic), the others slow.
BATCHED_DEFAULT = {"q_learning", "dqn", "ppo", "ddpg"}


def some_slow(fast):
    return [pytest.param(a, marks=pytest.mark.slow) if a not in fast else a for a in registry.ALGORITHMS]


@pytest.fixture(scope="module", params=ALGOS)
def job(request):
    return tiny_job(request.param)


def test_update_keeps_state_structure_and_is_finite(job):
    algo, hp = job.algorithm, job.hparams
    state = algo.init(jax.random.key(0), hp)
    new_state, metrics = jax.jit(algo.update)(state, hp)
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(new_state)):
        assert a.shape == b.shape and a.dtype == b.dtype
    assert all(np.all(np.isfinite(v)) for v in jax.tree.leaves(metrics))
    assert all(np.ndim(v) == 0 for v in metrics.values())


@pytest.mark.parametrize(
    "name", some_slow(set(registry.ALGORITHMS) - EAGER_SLOW)
)
def test_jit_equals_no_jit(name):
    job = tiny_job(name)
    algo, hp = job.algorithm, job.hparams

    def two_updates(key):
        state = algo.init(key, hp)
        state, _ = algo.update(state, hp)
        return algo.update(state, hp)

    jitted = jax.jit(two_updates)(jax.random.key(3))
    with jax.disable_jit():
        eager = two_updates(jax.random.key(3))
    for a, b in zip(leaves(jitted), leaves(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_same_seed_is_bit_identical_and_seeds_differ(job):
    run = jax.jit(jax.vmap(job.trainer.train, in_axes=(0, None)))
    keys = seed_keys([0, 1])
    first, second = run(keys, job.hparams), run(keys, job.hparams)
    for a, b in zip(leaves(first), leaves(second)):
        np.testing.assert_array_equal(a, b)
    params_0 = [x[0] for x in leaves(first[0].algo)]
    params_1 = [x[1] for x in leaves(first[0].algo)]
    assert any(not np.array_equal(a, b) for a, b in zip(params_0, params_1))


@pytest.mark.parametrize("name", some_slow(BATCHED_DEFAULT))
def test_vmapped_member_equals_its_own_run(name):
    job = tiny_job(name)
    keys = seed_keys([5, 6])
    batched = jax.jit(jax.vmap(job.trainer.train, in_axes=(0, None)))(keys, job.hparams)
    single = jax.jit(job.trainer.train)(keys[1], job.hparams)
    for a, b in zip(leaves(batched), leaves(single)):
        np.testing.assert_allclose(a[1], b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", some_slow(BATCHED_DEFAULT - {"ddpg"}))
def test_sweep_compiles_once_and_its_members_equal_runs_trained_one_by_one(name):
    job = tiny_job(name)
    counted, traces = counting_traces(job)
    points = [{"gamma": 0.9}, {"gamma": 0.99}]
    result = sweep(counted, points, seeds=[0, 1], chunk_size=3)  # two chunks
    assert traced_once(traces) and result.metrics["eval_return"].shape == (2, 2, 2)
    one_by_one = jax.jit(jax.vmap(job.trainer.train, in_axes=(0, None)))  # the seeds of one point
    for point, swept in zip(points, result.metrics["eval_return"]):
        alone = one_by_one(seed_keys([0, 1]), job.hparams._replace(gamma=jnp.float32(point["gamma"])))
        np.testing.assert_allclose(swept, alone[1]["eval_return"], rtol=1e-4, atol=1e-5)
