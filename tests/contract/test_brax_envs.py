"""The Brax adapter (`brax:NAME`, extra `purerl[brax]`): exact about episode ends, against Brax's own
step and reset; and algorithms train on it or are refused in one line.

Slow: Brax's physics take tens of seconds to compile on a CPU. CI installs the extra before the
slow tests; without it these tests fail, naming the pip command (they are never skipped)."""

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def brax_env():
    if importlib.util.find_spec("brax") is None:
        pytest.fail("the Brax tests need the brax extra: pip install -e '.[brax]'")
    from purerl import envs

    # A pendulum on a cart: upright under no force for a few steps, fallen (|angle| > 0.2) under full force.
    return envs.make_env("brax:inverted_pendulum", env_params={"max_steps_in_episode": 4})


def test_the_time_limit_is_truncation_with_the_suites_own_final_observation(brax_env):
    suite_env, params = brax_env.env, brax_env.params  # the gymnax-API env; .env is Brax's own
    brax = suite_env.env
    obs, state = suite_env.reset(jax.random.key(0), params)
    np.testing.assert_array_equal(obs, brax.reset(jax.random.key(0)).obs)
    step = jax.jit(suite_env.step)
    no_force = jnp.zeros(brax.action_size)
    for t in range(1, 5):
        key = jax.random.key(t)
        expected = brax.step(state.pipeline, no_force)  # Brax's own next state
        obs, state, reward, terminated, truncated, info = step(key, state, no_force, params)
        assert not terminated
        assert bool(truncated) == (t == 4)  # the 4th step reaches max_steps_in_episode
        np.testing.assert_allclose(info["final_observation"], expected.obs, rtol=1e-6, atol=1e-6)
        assert float(reward) == float(expected.reward)
    # The auto-reset draws a fresh start from its own key, as Brax's reset does with it.
    fresh = brax.reset(jax.random.split(jax.random.key(4))[1])
    np.testing.assert_array_equal(obs, fresh.obs)
    assert int(state.time) == 0


def test_a_fall_is_termination_not_truncation(brax_env):
    suite_env, params = brax_env.env, brax_env.params
    obs, state = suite_env.reset(jax.random.key(1), params)
    step = jax.jit(suite_env.step)
    full_force = jnp.ones(suite_env.env.action_size)
    for t in range(1, 4):
        expected = suite_env.env.step(state.pipeline, full_force)
        obs, state, reward, terminated, truncated, info = step(jax.random.key(t), state, full_force, params)
        np.testing.assert_allclose(info["final_observation"], expected.obs, rtol=1e-6, atol=1e-6)
        if terminated:
            break
    assert bool(terminated) and not bool(truncated), f"no fall within {t} steps"
    assert int(state.time) == 0  # reset


def test_the_specs_are_brax_s(brax_env):
    assert brax_env.id == "brax:inverted_pendulum"
    assert brax_env.obs_shape == (4,) and brax_env.action_shape == (1,) and brax_env.num_actions is None
    np.testing.assert_array_equal(brax_env.action_low, [-1.0]) and np.testing.assert_array_equal(
        brax_env.action_high, [1.0])
    assert brax_env.max_steps == 4 and brax_env.traced == ()


# Every algorithm that takes Box actions, at a tiny budget; the others are refused (below).
OFF_POLICY = ["num_envs=4", "batch_size=16", "buffer_size=256", "learning_starts=32"]
TINY = {"a3c": ["num_envs=4", "rollout_len=8"], "ppo": ["num_envs=4", "rollout_len=8", "num_minibatches=2"],
        "ddpg": OFF_POLICY, "td3": OFF_POLICY, "sac": OFF_POLICY}


@pytest.mark.parametrize("algo", TINY)
def test_a_continuous_algorithm_trains_on_brax(tmp_path, algo):
    settings = TINY[algo]
    done = run_cli("train", algo, "--env", "brax:inverted_pendulum", "--total-steps", "256", "--env-params",
                   "max_steps_in_episode=50", "--set", "num_evals=1", "eval_episodes=2", *settings,
                   "--out", str(tmp_path / algo))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "final return" in done.stdout


REFUSED = ["q_learning", "sarsa", "dqn", "reinforce"]  # discrete actions only


def test_every_registered_algorithm_is_walked_on_brax():
    from purerl.config import registry

    assert sorted([*TINY, *REFUSED]) == sorted(registry.ALGORITHMS)


@pytest.mark.parametrize("algo", REFUSED)
def test_a_discrete_action_algorithm_is_refused_in_one_line(tmp_path, algo):
    done = run_cli("train", algo, "--env", "brax:inverted_pendulum", "--out", str(tmp_path / algo))
    assert done.returncode == 2
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith("purerl")]
    assert len(lines) == 1 and "brax:inverted_pendulum" in lines[0], done.stderr[-2000:]


def test_physical_params_change_the_dynamics_and_the_defaults_are_brax_s(brax_env):
    from purerl import envs

    def final_obs(env):
        obs, state = env.env.reset(jax.random.key(0), env.params)
        step = jax.jit(env.env.step)
        for t in range(3):
            obs, state, *_, info = step(jax.random.key(t), state, jnp.full(1, 0.3), env.params)
        return np.asarray(info["final_observation"])

    default = final_obs(brax_env)
    for params in ({"gravity": 0.0}, {"mass_scale": 3.0}):
        changed = envs.make_env("brax:inverted_pendulum", env_params={"max_steps_in_episode": 4, **params})
        assert changed.traced == tuple(params)
        assert not np.allclose(final_obs(changed), default), params
    with pytest.raises(ValueError, match="^brax:inverted_pendulum has no env param 'viscosity'; its params "
                                         "are: max_steps_in_episode, friction, mass_scale, gravity$"):
        envs.make_env("brax:inverted_pendulum", env_params={"viscosity": 1.0})


def test_a_sweep_over_gravity_is_one_program_whose_members_equal_their_lone_runs(tmp_path):
    job = ["ppo", "--env", "brax:inverted_pendulum", "--total-steps", "256", "--seeds", "2", "--set",
           "num_envs=4", "rollout_len=8", "num_minibatches=2", "num_evals=1", "eval_episodes=2"]
    done = run_cli("sweep", *job, "--env-params", "max_steps_in_episode=50", "--grid", "env.gravity=4.9,19.6",
                   "--out", str(tmp_path / "sweep"))
    assert done.returncode == 0, done.stderr[-2000:]
    from purerl.io import records

    swept = records.read_summary(tmp_path / "sweep")["points"]
    for point, gravity in zip(swept, ["4.9", "19.6"], strict=True):
        alone = run_cli("train", *job, "--env-params", "max_steps_in_episode=50", f"gravity={gravity}",
                        "--out", str(tmp_path / gravity))
        assert alone.returncode == 0, alone.stderr[-2000:]
        assert point["final_return"]["per_seed"] == records.read_summary(tmp_path / gravity)["final_return"][
            "per_seed"]
