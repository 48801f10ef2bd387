"""Every gymnax env: each algorithm trains on it or refuses it in one line; MinAtar's CNN, sticky
actions, env params as (traced) settings, bool replay storage and the gymnax 1.x guard."""

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import counting_traces, traced_once

from purerl import envs, experiment
from purerl.config import registry
from purerl.config.points import grid
from purerl.config.spec import JobSpec
from purerl.io import records
from purerl.nets import networks
from purerl.runtime import run
from purerl.runtime.sweep import sweep, with_env_params

# The smallest shapes each setting allows, so tracing a program stays cheap.
TINY = {"num_evals": 1, "eval_episodes": 2, "num_envs": 2, "buffer_size": 64, "batch_size": 8,
        "rollout_len": 4, "num_minibatches": 2, "update_epochs": 1, "hidden": (8,), "devices": 1}


def tiny_spec(algo: str, env: str, **kwargs) -> JobSpec:
    static = registry.defaults(algo)
    settings = {k: v for k, v in TINY.items() if k in static}
    return JobSpec.create(algo, env, total_steps=kwargs.pop("total_steps", 64), settings=settings, **kwargs)


# The envs are the env layer's: `purerl.envs.make_env` takes exactly gymnax's registered ids, so an env
# is walked as soon as gymnax registers it, as an algorithm is once it is in registry.ALGORITHMS.
@pytest.mark.parametrize("env_id", gymnax.registered_envs)
def test_every_algorithm_trains_on_every_gymnax_env_or_refuses_it_in_one_line(env_id):
    """The training program of every (env, algorithm) pair traces (abstractly: `jax.eval_shape`, no
    compile), or `build` refuses the pair with one line before anything is compiled."""
    for algo in registry.ALGORITHMS:
        spec = tiny_spec(algo, env_id)
        try:
            job = run.build(spec, max_devices=1)
        except ValueError as e:
            message = str(e)
            assert "\n" not in message and (env_id in message or "gymnax" in message), (algo, message)
            continue
        shapes = run.progress_shapes(job)  # traces init and a whole evaluation period
        assert shapes.metrics["eval_return"].shape == (1, 1), (algo, env_id)


def test_the_refusals_name_the_problem():
    refusals = {
        ("q_learning", "Breakout-MinAtar"): "^q_learning is tabular and needs discrete observations; "
                                            "Breakout-MinAtar's are 10x10x4 arrays",
        ("q_learning", "CartPole-v1"): "^q_learning is tabular and CartPole-v1 has a Box observation",
        ("dqn", "Pendulum-v1"): "^dqn needs a discrete action space; Pendulum-v1 has a continuous one$",
        ("ddpg", "Catch-bsuite"): "^ddpg needs a continuous",
    }
    for (algo, env_id), pattern in refusals.items():
        with pytest.raises(ValueError, match=pattern):
            run.build(tiny_spec(algo, env_id))


@pytest.mark.slow  # a CNN DQN and an A3C run compile and train
def test_a_sample_of_pairs_really_trains(tmp_path):
    """DQN with the CNN on Breakout (sticky actions), A3C on Catch: compiled and run end to end,
    summary.json records the network "auto" chose and the sticky-action probability."""
    spec = tiny_spec("dqn", "Breakout-MinAtar", total_steps=256, sticky_actions=0.1)
    experiment.train(spec, tmp_path / "dqn")
    summary = records.read_summary(tmp_path / "dqn")
    assert summary["static"]["network"] == "cnn" and summary["spec"]["sticky_actions"] == 0.1
    assert np.isfinite(summary["final_return"]["mean"])
    result = run.train(tiny_spec("a3c", "Catch-bsuite", total_steps=256))
    assert result.final_return.shape == (1,) and -1 <= result.final_return[0] <= 1


def test_auto_picks_the_cnn_on_grids_and_the_mlp_elsewhere():
    chosen = {env_id: networks.choose(envs.make_env(env_id)) for env_id in
              ("Breakout-MinAtar", "Freeway-MinAtar", "Pong-misc", "Catch-bsuite", "DeepSea-bsuite",
               "CartPole-v1", "FrozenLake-misc")}
    assert chosen == {"Breakout-MinAtar": "cnn", "Freeway-MinAtar": "cnn", "Pong-misc": "cnn",
                      "Catch-bsuite": "mlp", "DeepSea-bsuite": "mlp", "CartPole-v1": "mlp",
                      "FrozenLake-misc": "mlp"}
    assert networks.choose(envs.make_env("FrozenLake-misc"), table=True) == "table"
    assert run.build(tiny_spec("reinforce", "FrozenLake-misc")).static["network"] == "table"
    assert run.build(tiny_spec("a3c", "SpaceInvaders-MinAtar")).static["network"] == "cnn"


def test_the_cnn_is_the_minatar_papers_architecture():
    """Young & Tian 2019: conv 3x3, 16 channels, stride 1, no padding, ReLU; then 128 units; then the
    outputs. A critic's extra inputs join after the convolution."""
    env = envs.make_env("Breakout-MinAtar")  # 10 x 10 x 4
    net = networks.make("cnn", env, outputs=3, hidden=(128,))
    obs, _ = env.reset(jax.random.key(0), 5)
    params = net.init(jax.random.key(1), obs)["params"]
    assert params["Conv_0"]["kernel"].shape == (3, 3, 4, 16)
    mlp = params["MLP_0"]
    assert mlp["Dense_0"]["kernel"].shape == (8 * 8 * 16, 128) and mlp["Dense_1"]["kernel"].shape == (128, 3)
    assert net.apply({"params": params}, obs).shape == (5, 3)
    # The same numbers by hand: a convolution is a sum over 3x3 patches.
    x = np.asarray(obs[0], np.float64)
    k, b = np.asarray(params["Conv_0"]["kernel"], np.float64), np.asarray(params["Conv_0"]["bias"])
    patch = lambda r, c: np.einsum("ijc,ijco->o", x[r:r + 3, c:c + 3], k) + b
    conv = np.array([[patch(r, c) for c in range(8)] for r in range(8)])
    h = np.maximum(np.maximum(conv, 0).reshape(-1) @ mlp["Dense_0"]["kernel"] + mlp["Dense_0"]["bias"], 0)
    expected = h @ mlp["Dense_1"]["kernel"] + mlp["Dense_1"]["bias"]
    np.testing.assert_allclose(net.apply({"params": params}, obs)[0], expected, rtol=1e-4, atol=1e-5)
    critic = networks.make("cnn", env, outputs=1, hidden=(32,), extra_inputs=2)
    critic_params = critic.init(jax.random.key(2), obs, jnp.ones((5, 2)))["params"]
    assert critic_params["MLP_0"]["Dense_0"]["kernel"].shape == (8 * 8 * 16 + 2, 32)


@pytest.mark.slow
def test_binary_grids_are_zero_one_and_replay_stores_them_as_bool():
    for env_id in envs.BINARY_OBS:
        env = envs.make_env(env_id)
        obs, state = env.reset(jax.random.key(0), 64)
        step = jax.jit(env.step)
        seen = []
        for i in range(40):
            action = jax.random.randint(jax.random.key(i), (64,), 0, env.num_actions)
            tr, obs, state = step(jax.random.key(100 + i), state, obs, action)
            seen += [np.unique(tr.obs), np.unique(tr.next_obs)]
        assert set(np.unique(np.concatenate(seen))) <= {0.0, 1.0}, env_id
        stored = env.storage(tr)
        assert stored.obs.dtype == stored.next_obs.dtype == jnp.bool_, env_id
        np.testing.assert_array_equal(stored.next_obs, tr.next_obs)


def test_a_minatar_dqn_buffer_holds_bool_observations():
    job = run.build(JobSpec.create("dqn", "Breakout-MinAtar", total_steps=10_000))
    state = run.progress_shapes(job).state.algo
    assert state.buffer.data.obs.dtype == jnp.bool_ and state.buffer.data.next_obs.dtype == jnp.bool_
    assert state.buffer.data.obs.shape == (1, 10_000, 10, 10, 4)
    nbytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(run.progress_shapes(job).state))
    assert nbytes < 12e6  # 8 MB of observations; as float32 they alone would be 32 MB


def test_sticky_actions_repeat_the_previous_action():
    env = envs.make_env("Breakout-MinAtar", sticky_actions=1.0)  # always the previous (initially 0)
    obs, state = env.reset(jax.random.key(0), 4)
    for i in range(5):
        _, obs, state = env.step(jax.random.key(i), state, obs, jnp.full(4, 2))
    np.testing.assert_array_equal(state.last_action, 0)
    env = envs.make_env("Breakout-MinAtar", sticky_actions=0.5)
    obs, state = env.reset(jax.random.key(0), 4000)
    _, obs, state = env.step(jax.random.key(1), state, obs, jnp.full(4000, 2))
    assert 0.45 < float(jnp.mean(state.last_action == 0)) < 0.55
    with pytest.raises(ValueError, match="^sticky actions repeat a discrete action; Pendulum-v1's actions"):
        envs.make_env("Pendulum-v1", sticky_actions=0.1)
    with pytest.raises(ValueError, match=r"^sticky actions must be a probability in \[0, 1\], got 1.5$"):
        JobSpec.create("dqn", "Breakout-MinAtar", sticky_actions=1.5)


def test_env_params_are_settings_float_ones_traced():
    env = envs.make_env("CartPole-v1", env_params={"gravity": 4.9, "max_steps_in_episode": 50})
    assert env.params.gravity == 4.9 and env.max_steps == 50 and env.traced == ("gravity",)
    assert envs.make_env("CartPole-v1").traced == ()
    for params, message in [({"gravty": 1.0}, "^CartPole-v1 has no env param 'gravty'; its params are: "
                                               "max_steps_in_episode, gravity"),
                            ({"gravity": "high"}, "^env param gravity of CartPole-v1 takes a finite number"),
                            ({"max_steps_in_episode": 2.5}, "takes an integer, got 2.5$")]:
        with pytest.raises(ValueError, match=message):
            run.build(tiny_spec("dqn", "CartPole-v1", env_params=params))
    spec = tiny_spec("dqn", "CartPole-v1", env_params={"gravity": 4.9})
    assert JobSpec.from_json(spec.to_json()) == spec


def test_a_sweep_over_an_env_param_compiles_once_and_its_members_equal_runs_trained_alone():
    spec = JobSpec.create("a3c", "CartPole-v1", total_steps=4_000, seeds=[0, 1],
                          settings={"num_evals": 2, "eval_episodes": 8, "num_envs": 4, "devices": 1})
    points = grid({"env.gravity": [4.9, 19.6], "lr": [1e-3]})
    assert with_env_params(run.build(spec), points).spec.env_params == {"gravity": 9.8}  # now traced
    job = run.build(spec.replace(env_params={"gravity": 9.8}), max_devices=1)
    counted, traces = counting_traces(job)
    result = sweep(counted, points, devices=1)
    assert traced_once(traces)  # one trace serves both values
    np.testing.assert_array_equal(result.env_params["env.gravity"], np.float32([4.9, 19.6]))
    alone = run.train(spec.replace(env_params={"gravity": 19.6}, settings={"lr": 1e-3}))
    np.testing.assert_array_equal(result.metrics["eval_return"][1], alone.metrics["eval_return"])
    assert not np.array_equal(result.metrics["eval_return"][0], result.metrics["eval_return"][1])
    with pytest.raises(ValueError, match=r"^env.max_steps_in_episode of CartPole-v1 is static \(an int"):
        sweep(job, [{"env.max_steps_in_episode": 100}])


def test_an_old_gymnax_is_refused_in_one_line(monkeypatch, capsys):
    """stable-gymnax replaces gymnax 1.x with the five-value `step` (no `truncated`)."""

    class FiveValueStep:
        def __init__(self, env):
            self.env = env

        def reset(self, key, params):
            return self.env.reset(key, params)

        def step(self, key, state, action, params):
            obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, params)
            return obs, state, reward, terminated | truncated, info

    make = gymnax.make
    monkeypatch.setattr(gymnax, "make", lambda env_id, **kw: (FiveValueStep(make(env_id, **kw)[0]),
                                                              make(env_id, **kw)[1]))
    envs.check_gymnax.cache_clear()
    try:
        with pytest.raises(ValueError, match="^the installed gymnax's step returns 5 values, not gymnax 1.x"):
            envs.make_env("CartPole-v1")
        from purerl.cli import main

        assert main(["train", "dqn", "--total-steps", "1000", "--out", "unused"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "stable-gymnax" in err
    finally:
        envs.check_gymnax.cache_clear()
