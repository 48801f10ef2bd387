"""The env layer: flags kept apart, pre-reset observations, the discretiser, evaluation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from purerl.core.policies import epsilon_greedy, greedy, linear_schedule
from purerl.envs import evaluate, make_env

CARTPOLE_BOUNDS = [[-2.4, 2.4], [-3, 3], [-0.2095, 0.2095], [-3.5, 3.5]]


def test_env_kwargs_reach_gymnax():
    env = make_env("FrozenLake-misc", {"map_name": "8x8"})
    assert env.num_obs == 64 and env.max_steps == 200
    env = make_env("FrozenLake-misc", {"desc": ["SF", "HG"]})
    assert env.num_obs == 4 and env.num_actions == 4


@pytest.mark.parametrize(
    "env_id, kwargs, match",
    [
        ("NoSuchEnv-v0", {}, "unknown env 'NoSuchEnv-v0'"),
        ("FrozenLake-misc", {"slippery": True}, "bad --env-kwargs for FrozenLake-misc"),
        ("FrozenLake-misc", {"map_name": "5x5"}, "bad --env-kwargs"),
    ],
)
def test_bad_envs_are_named(env_id, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_env(env_id, kwargs)


def test_truncation_is_not_termination():
    """Always LEFT keeps the agent on the start tile until the 100-step limit."""
    env = make_env("FrozenLake-misc", {"is_slippery": False})
    obs, state = env.reset(jax.random.key(0), 2)

    def body(carry, key):
        obs, state = carry
        tr, obs, state = env.step(key, state, obs, jnp.zeros(2, jnp.int32))
        return (obs, state), tr

    _, trs = jax.lax.scan(body, (obs, state), jax.random.split(jax.random.key(1), 100))
    assert not trs.terminated.any()
    np.testing.assert_array_equal(trs.truncated[-1], True)
    assert not trs.truncated[:-1].any()


def test_next_obs_is_the_pre_reset_observation():
    """Reaching the goal terminates; next_obs is the goal, the returned obs the reset start."""
    env = make_env("FrozenLake-misc", {"is_slippery": False, "desc": ["SG", "FF"]})
    obs, state = env.reset(jax.random.key(0), 1)
    tr, obs, state = env.step(jax.random.key(1), state, obs, jnp.array([2]))  # RIGHT
    assert bool(tr.terminated[0]) and not bool(tr.truncated[0])
    assert int(tr.next_obs[0]) == 1 and int(obs[0]) == 0 and float(tr.reward[0]) == 1.0


def test_discretiser_cells():
    env = make_env("CartPole-v1", bins=[3, 3, 8, 12], bounds=CARTPOLE_BOUNDS)
    assert env.num_obs == 3 * 3 * 8 * 12 and env.obs_shape == ()
    cell = env.env.cell
    assert int(cell(jnp.array([-9.0, -9.0, -9.0, -9.0]))) == 0  # below every bound: first cell
    assert int(cell(jnp.array([9.0, 9.0, 9.0, 9.0]))) == env.num_obs - 1
    # x in the middle third, x_dot low, theta in cell 4 of 8, theta_dot in cell 11 of 12
    expected = ((1 * 3 + 0) * 8 + 4) * 12 + 11
    assert int(cell(jnp.array([0.0, -2.5, 0.01, 3.4]))) == expected
    obs, _ = env.reset(jax.random.key(0), 5)
    assert obs.shape == (5,) and obs.dtype == jnp.int32


@pytest.mark.parametrize(
    "bins, bounds, match",
    [
        ([3, 3, 8], CARTPOLE_BOUNDS[:3], "each of CartPole-v1's 4"),
        ([3, 3, 8, 12], None, "unbounded"),
        ([3, 3, 8, 12], [[1, 0]] * 4, "low < high"),
    ],
)
def test_bad_discretisation(bins, bounds, match):
    with pytest.raises(ValueError, match=match):
        make_env("CartPole-v1", bins=bins, bounds=bounds)


def test_discretiser_needs_a_box():
    with pytest.raises(ValueError, match="needs a 1-D Box"):
        make_env("FrozenLake-misc", bins=[4])


def test_evaluate_hand_computed_returns():
    env = make_env("FrozenLake-misc", {"is_slippery": False})
    path = jnp.zeros(16, jnp.int32).at[jnp.array([0, 4, 8, 9, 13, 14])].set(jnp.array([1, 1, 2, 1, 2, 2]))
    assert float(evaluate(env, lambda obs, key: path[obs], jax.random.key(0), 8)) == 1.0
    assert float(evaluate(env, lambda obs, key: jnp.zeros_like(obs), jax.random.key(0), 8)) == 0.0
    cartpole = make_env("CartPole-v1")
    # Always pushing left fails within a few dozen steps; the first episode only is counted.
    always_left = lambda obs, key: jnp.zeros(obs.shape[0], jnp.int32)
    ret = float(evaluate(cartpole, always_left, jax.random.key(0), 16))
    assert 5 <= ret <= 20
    pendulum = make_env("Pendulum-v1")
    ret = float(evaluate(pendulum, lambda obs, key: jnp.zeros((obs.shape[0], 1)), jax.random.key(0), 4))
    assert -2000 < ret < 0  # runs the full 200 steps (truncation only)


def test_greedy_breaks_ties_at_random():
    q = jnp.zeros((4000, 4))
    counts = np.bincount(np.asarray(greedy(jax.random.key(0), q)), minlength=4)
    np.testing.assert_allclose(counts / 4000, 0.25, atol=0.03)
    q = jnp.array([[0.0, 1.0, 1.0, 0.0]] * 1000)
    assert set(np.asarray(greedy(jax.random.key(1), q)).tolist()) == {1, 2}


def test_epsilon_greedy_and_schedule():
    q = jnp.tile(jnp.array([0.0, 0.0, 5.0]), (3000, 1))
    np.testing.assert_array_equal(epsilon_greedy(jax.random.key(0), q, 0.0), 2)
    frac_greedy = float(jnp.mean(epsilon_greedy(jax.random.key(0), q, 0.3) == 2))
    assert frac_greedy == pytest.approx(0.7 + 0.3 / 3, abs=0.03)
    for sched in (linear_schedule, jax.jit(linear_schedule)):
        assert float(sched(1.0, 0.1, 0.5, 0.0)) == pytest.approx(1.0)
        assert float(sched(1.0, 0.1, 0.5, 0.25)) == pytest.approx(0.55)
        assert float(sched(1.0, 0.1, 0.5, 0.9)) == pytest.approx(0.1)
        assert float(sched(1.0, 0.1, 0.5, 7.0)) == pytest.approx(0.1)  # past the run: stays
        assert float(sched(1.0, 0.1, 0.0, 0.0)) == pytest.approx(0.1)  # no decay: the end value
    progress = jnp.array([0.0, 0.1, 0.2])
    np.testing.assert_allclose(jax.vmap(linear_schedule, (None, None, None, 0))(1.0, 0.0, 0.2, progress),
                               [1.0, 0.5, 0.0], rtol=1e-6)
