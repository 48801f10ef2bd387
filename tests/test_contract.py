"""The contract every registered algorithm keeps (STYLE.md, "Tests that mean something" 2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.config import registry
from purerl.runtime.run import build, prepare, seed_keys
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


def tiny_job(name, updates_per_eval=2, **overrides):
    """The algorithm on its reference env with a budget of a few updates, on one device (splitting
    A3C's actors over devices is checked in test_a3c.py)."""
    static, traced = registry.static_settings(name), registry.traced_settings(name)
    settings = {"num_evals": 2, "eval_episodes": 4}
    small = {"learning_starts": 0, "buffer_size": 256, "batch_size": 16, "num_envs": 4, "rollout_len": 8,
             "num_minibatches": 2, "update_epochs": 2, "hidden": (16,)}
    settings |= {k: v for k, v in small.items() if k in static or k in traced}
    settings |= overrides
    probe = prepare(name, total_steps=1, settings=settings)
    steps = probe.algorithm.steps_per_update * updates_per_eval * settings["num_evals"]
    return build(prepare(name, total_steps=steps, settings=settings).spec, max_devices=1)


def leaves(tree):
    return [np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x)
            for x in jax.tree.leaves(tree)]


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


def counting_traces(job):
    """The job with its trainer's init and period counting their traces: {"init": [...], "period": [...]}."""
    traces = {"init": [], "period": []}
    init, period = job.trainer.init, job.trainer.period
    trainer = job.trainer._replace(
        init=lambda key, hp, env=None: (traces["init"].append(None), init(key, hp, env))[1],
        period=lambda run, hp, env=None: (traces["period"].append(None), period(run, hp, env))[1])
    return job._replace(trainer=trainer), traces


def traced_once(traces) -> bool:
    """One compile: init traced once, the period once for its shapes and once for its body at most,
    never again per chunk, point or seed."""
    return len(traces["init"]) == 1 and 1 <= len(traces["period"]) <= 2


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
