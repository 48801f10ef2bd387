"""A3C: n-step and GAE advantages, policies, device equivalence, and its learning targets."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import device_copies, leaves, tiny_algorithm

from purerl.algos import a3c
from purerl.cli import main
from purerl.core.returns import gae
from purerl.envs import make_env
from purerl.runtime.driver import to_hparams
from purerl.runtime.run import prepare, seed_keys, train

# A rollout of 4 steps, gamma 0.9: step 1 is cut by the time limit (bootstrap from V(s'_1) = 5),
# step 2 ends in a terminal state with both flags set (no bootstrap), step 3 is cut by the end
# of the rollout (bootstrap from V(s'_3) = 50).
R = jnp.array([1.0, 2.0, 3.0, 4.0])
V_T = jnp.array([10.0, 20.0, 30.0, 40.0])
V_TP1 = jnp.array([20.0, 5.0, 40.0, 50.0])
TERMINATED = jnp.array([False, False, True, False])
TRUNCATED = jnp.array([False, True, True, False])
# n-step returns: R_3 = 4 + 0.9 * 50, R_2 = 3, R_1 = 2 + 0.9 * 5, R_0 = 1 + 0.9 * R_1.
N_STEP_ADV = np.array([6.85 - 10.0, 6.5 - 20.0, 3.0 - 30.0, 49.0 - 40.0])
# GAE(0.5): deltas (9, -13.5, -27, 9); A_0 = 9 + 0.9 * 0.5 * -13.5, the others stop at their ends.
GAE_ADV = np.array([2.925, -13.5, -27.0, 9.0])


@pytest.mark.parametrize("lambda_, expected", [(1.0, N_STEP_ADV), (0.5, GAE_ADV)])
def test_advantages_against_hand_computed_values(lambda_, expected):
    def advantages(r, v_t, v_tp1, terminated, truncated):
        return gae(r, v_t, v_tp1, terminated, terminated | truncated, 0.9, lambda_)

    args = (R, V_T, V_TP1, TERMINATED, TRUNCATED)
    np.testing.assert_allclose(advantages(*args), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(advantages)(*args), expected, rtol=1e-6)
    batched = jax.vmap(advantages)(*(jnp.stack([x, x]) for x in args))
    np.testing.assert_allclose(batched, np.stack([expected, expected]), rtol=1e-6)
    time_major = advantages(*(jnp.stack([x, x], 1) for x in args))  # [T, N]
    np.testing.assert_allclose(time_major, np.stack([expected, expected], 1), rtol=1e-6)


tiny = functools.partial(tiny_algorithm, a3c.make_a3c,
                         {"num_envs": 2, "rollout_len": 4, "devices": 1, "hidden": (16,)})


@pytest.mark.parametrize("env_id, devices", [
    pytest.param("CartPole-v1", 4, marks=pytest.mark.slow), ("CartPole-v1", 2),
    pytest.param("Pendulum-v1", 4, marks=pytest.mark.slow)])  # the 4-device ones with the slow tests
def test_the_same_settings_are_the_same_run_on_several_devices_and_on_one(env_id, devices):
    """8 actors split over 4 (or 2) devices and on 1 device: same parameters after 3 updates, seeds
    vmapped; on several devices every device holds bit-identical parameters and Adam state."""
    _, sharded_algo = tiny(env_id, devices=devices, num_envs=8)
    _, one = tiny(env_id, devices=1, num_envs=8)
    assert sharded_algo.steps_per_update == one.steps_per_update == 32
    hp = to_hparams(a3c.HParams)
    keys = seed_keys([0, 1])

    def run(algo):
        def train(key):
            updates = lambda state, _: algo.update(state, hp)
            return jax.lax.scan(updates, algo.init(key, hp), length=3)[0]

        return jax.jit(jax.vmap(train))(keys)

    sharded, single = run(sharded_algo), run(one)
    for a, b in zip(leaves(sharded), leaves(single)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    params = leaves(sharded.params)
    assert any(not np.array_equal(p[0], p[1]) for p in params)  # the two seeds differ
    initial = leaves(jax.vmap(sharded_algo.init, (0, None))(keys, hp).params)
    assert not np.array_equal(params[0][0], initial[0][0])
    for x in jax.tree.leaves((sharded.params, sharded.opt_state)):
        copies = device_copies(x)
        assert len(copies) == devices and all(np.array_equal(c, copies[0]) for c in copies[1:])
    assert len(sharded.actors.obs.sharding.device_set) == devices  # the actors were split


def test_devices_default_to_as_many_as_divide_the_actors():
    """devices=0: the most of the 4 devices that divide num_envs (6 actors: 3 devices)."""
    _, algo = tiny("CartPole-v1", devices=0, num_envs=6)
    hp = to_hparams(a3c.HParams)
    state, metrics = jax.jit(algo.update)(algo.init(jax.random.key(0), hp), hp)
    assert len(state.actors.obs.sharding.device_set) == 3 and np.isfinite(metrics["loss"])


def test_gaussian_actions_stay_within_the_bounds():
    env, algo = tiny("Pendulum-v1")
    hp = to_hparams(a3c.HParams, {"init_log_std": 2.0})  # std 7.4 half-ranges: most samples clip
    state = algo.init(jax.random.key(0), hp)
    obs, _ = env.reset(jax.random.key(1), 512)
    actions = np.asarray(jax.jit(algo.act)(state, obs, jax.random.key(2)))
    assert actions.shape == (512, 1)
    assert np.all(actions >= env.action_low) and np.all(actions <= env.action_high)
    assert np.mean(np.abs(actions) == env.action_high) > 0.5
    state, metrics = jax.jit(algo.update)(state, hp)
    assert all(np.isfinite(v) for v in metrics.values())
    np.testing.assert_allclose(metrics["entropy"], 2.0 + 0.5 * np.log(2 * np.pi * np.e), rtol=1e-3)


def test_state_dependent_std_and_discrete_observations_run():
    _, algo = tiny("Pendulum-v1", state_dependent_std=True)
    hp = to_hparams(a3c.HParams)
    state, metrics = jax.jit(algo.update)(algo.init(jax.random.key(0), hp), hp)
    assert state.params["log_std"].shape == (1,) and np.isfinite(metrics["loss"])
    _, algo = tiny("FrozenLake-misc")
    state, metrics = jax.jit(algo.update)(algo.init(jax.random.key(0), hp), hp)
    assert np.isfinite(metrics["loss"]) and state.updates == 1


def test_lambda_is_wired_and_categorical_actions_are_sampled():
    env, algo = tiny("CartPole-v1")
    hps = jax.tree.map(lambda x: jnp.stack([x, x]), to_hparams(a3c.HParams))
    hps = hps._replace(gae_lambda=jnp.array([1.0, 0.5]))
    init = jax.vmap(algo.init, in_axes=(None, 0))(jax.random.key(0), hps)
    state, metrics = jax.jit(jax.vmap(algo.update))(init, hps)
    assert metrics["value_loss"][0] != metrics["value_loss"][1]  # same rollout, other targets
    obs, _ = env.reset(jax.random.key(1), 256)
    one = jax.tree.map(lambda x: x[0], state)
    actions = np.asarray(algo.act(one, obs, jax.random.key(2)))
    assert set(actions.tolist()) == {0, 1}  # a near-uniform initial policy samples both


def test_bad_settings_are_named():
    env = make_env("CartPole-v1")
    with pytest.raises(ValueError, match="devices must be between 1 and the 4 available, got 8"):
        a3c.make_a3c(env, total_steps=1000, num_envs=16, devices=8)
    with pytest.raises(ValueError, match=r"devices \(3\) must divide num_envs \(8\)"):
        a3c.make_a3c(env, total_steps=1000, num_envs=8, devices=3)
    with pytest.raises(ValueError, match="positive"):
        a3c.make_a3c(env, total_steps=1000, rollout_len=0)
    with pytest.raises(ValueError, match="devices non-negative"):
        a3c.make_a3c(env, total_steps=1000, devices=-1)
    with pytest.raises(ValueError, match="the table network needs discrete observations; CartPole-v1"):
        a3c.make_a3c(env, total_steps=1000, network="table")


@pytest.mark.slow
@pytest.mark.parametrize("env_id, target", [("CartPole-v1", 475.0), ("Acrobot-v1", -100.0)])
def test_reaches_the_targets_row(env_id, target):
    """The learning target: sampled-policy return within 500k env steps, 4 seeds in one vmapped call."""
    result = train(prepare("a3c", env_id, total_steps=500_000), seeds=range(4))
    assert result.final_return.mean() >= target, result.metrics["eval_return"]


@pytest.mark.slow
def test_gaussian_policy_on_pendulum_is_clearly_above_random():
    """The learning target: >= -600 within 5M env steps (random: about -1200); -167 when the defaults
    were set."""
    result = train(prepare("a3c", "Pendulum-v1", total_steps=5_000_000), seeds=range(4))
    assert result.final_return.mean() >= -600, result.metrics["eval_return"]


@pytest.mark.slow
def test_cli_on_four_devices_learns_cartpole(tmp_path):
    """`purerl train a3c --devices 4`: the default run's num_envs actors split over 4 devices."""
    code = main(["train", "a3c", "--env", "CartPole-v1", "--devices", "4", "--seeds", "2",
                 "--out", str(tmp_path)])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final_return"]["mean"] >= 475, summary["final_return"]
