"""DDPG: the critic target, soft updates, exploration within the bounds, OU resets, the learning target."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from purerl.algos import ddpg
from purerl.envs import make_env
from purerl.runtime.driver import to_hparams
from purerl.runtime.run import prepare, train


def test_critic_target_does_not_bootstrap_at_termination():
    r = jnp.array([1.0, 2.0, 3.0])
    terminated = jnp.array([False, True, False])
    q_t = jnp.array([10.0, 10.0, -10.0])
    expected = np.array([1.0 + 0.9 * 10.0, 2.0, 3.0 - 0.9 * 10.0])
    np.testing.assert_allclose(ddpg.critic_target(r, terminated, q_t, 0.9), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(ddpg.critic_target)(r, terminated, q_t, 0.9), expected, rtol=1e-6)
    batched = jax.vmap(ddpg.critic_target, in_axes=(0, 0, 0, None))(
        jnp.stack([r, r]), jnp.stack([terminated, terminated]), jnp.stack([q_t, q_t]), 0.9)
    np.testing.assert_allclose(batched, np.stack([expected, expected]), rtol=1e-6)


def short_pendulum(max_steps=200):
    env = make_env("Pendulum-v1")
    return env._replace(params=env.params.replace(max_steps_in_episode=max_steps), max_steps=max_steps)


def checksum(tree):
    return sum(jnp.sum(x) for x in jax.tree.leaves(tree))


def run_updates(algo, hp, num):
    """`num` updates; per update: the envs' latest actions, the OU state, and parameter checksums."""
    def body(state, _):
        state, _ = algo.update(state, hp)
        sums = [checksum(p) for p in (state.actor_params, state.critic_params, state.target_actor_params)]
        return state, (state.buffer.data.action[state.buffer.pointer - 1], state.noise, jnp.stack(sums))

    return jax.jit(lambda key: jax.lax.scan(body, algo.init(key, hp), length=num))(jax.random.key(0))


@pytest.mark.parametrize("noise", ["gaussian", "ou"])
def test_noisy_and_warm_up_actions_stay_within_the_bounds(noise):
    env = short_pendulum()
    algo = ddpg.make_ddpg(env, total_steps=1000, num_envs=4, buffer_size=512, batch_size=8,
                          hidden=(16,), noise=noise)
    hp = to_hparams(ddpg.HParams, {"noise_sigma": 3.0, "learning_starts": 40})
    state, (actions, *_) = run_updates(algo, hp, 30)
    actions = np.asarray(actions)  # [30 updates, 4 envs, 1]: 10 warm-up updates, 20 noisy ones
    assert np.all(actions >= -2.0) and np.all(actions <= 2.0)
    assert np.mean(np.abs(actions[10:]) == 2.0) > 0.3  # noise of 3 half-ranges: clipped often
    assert np.all(np.abs(actions[:10]) < 2.0) and np.std(actions[:10]) > 0.5  # uniform warm-up
    assert state.updates == 30


def test_ou_noise_resets_at_episode_ends():
    env = short_pendulum(max_steps=5)
    algo = ddpg.make_ddpg(env, total_steps=1000, num_envs=64, buffer_size=1024, batch_size=4,
                          hidden=(16,), noise="ou")
    hp = to_hparams(ddpg.HParams, {"learning_starts": 0})
    _, (_, noise, _) = run_updates(algo, hp, 10)
    noise = np.asarray(noise)[:, :, 0]  # [10 steps, 64 envs] OU state after each step
    np.testing.assert_array_equal(noise[[4, 9]], 0.0)  # episodes end after steps 5 and 10
    assert np.all(noise[[0, 1, 2, 3, 5, 6, 7, 8]] != 0.0)
    # x_1 = 0.85 x_0 + sigma eps_1 with x_0 = sigma eps_0: correlation 0.85 / sqrt(1.7225) = 0.65.
    assert 0.45 < np.corrcoef(noise[1], noise[0])[0, 1] < 0.85
    assert abs(np.corrcoef(noise[5], noise[3])[0, 1]) < 0.35  # a new episode starts afresh


def test_nothing_is_learned_before_learning_starts_and_evaluation_is_deterministic():
    env = short_pendulum()
    algo = ddpg.make_ddpg(env, total_steps=1000, num_envs=2, buffer_size=64, batch_size=4, hidden=(16,))
    hp = to_hparams(ddpg.HParams, {"learning_starts": 8})
    init = algo.init(jax.random.key(0), hp)
    state, (*_, sums) = run_updates(algo, hp, 5)  # 2 envs: env steps 2, 4, 6, then 8 and 10 learn
    before = np.array([checksum(p) for p in (init.actor_params, init.critic_params, init.actor_params)])
    np.testing.assert_array_equal(sums[:3], np.stack([before] * 3))
    assert np.all(sums[3:] != before)  # actor, critic and target actor all move
    obs, _ = env.reset(jax.random.key(1), 16)
    first, second = algo.act(state, obs, jax.random.key(2)), algo.act(state, obs, jax.random.key(3))
    np.testing.assert_array_equal(first, second)


def test_both_targets_move_a_tau_step_towards_the_online_networks():
    algo = ddpg.make_ddpg(short_pendulum(), total_steps=1000, num_envs=2, buffer_size=64, batch_size=4,
                          hidden=(16,))
    hp = to_hparams(ddpg.HParams, {"learning_starts": 0, "tau": 0.25})
    state = algo.init(jax.random.key(0), hp)
    new, _ = jax.jit(algo.update)(state, hp)
    for online, target, old in [(new.actor_params, new.target_actor_params, state.target_actor_params),
                                (new.critic_params, new.target_critic_params, state.target_critic_params)]:
        expected = jax.tree.map(lambda o, t: 0.25 * o + 0.75 * t, online, old)
        assert jax.tree.structure(target) == jax.tree.structure(expected)
        for a, b in zip(jax.tree.leaves(target), jax.tree.leaves(expected)):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        assert jax.tree.leaves(optax.tree.sub(target, old))[0].any()  # they moved


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="continuous"):
        ddpg.make_ddpg(make_env("CartPole-v1"), total_steps=1000)
    with pytest.raises(ValueError, match="noise"):
        ddpg.make_ddpg(make_env("Pendulum-v1"), total_steps=1000, noise="epsilon")
    with pytest.raises(ValueError, match=r"batch_size \(256\) must not exceed buffer_size \(100\)"):
        prepare("ddpg", settings={"buffer_size": 100})
    with pytest.raises(ValueError, match="the table network needs discrete observations; Pendulum-v1"):
        prepare("ddpg", settings={"network": "table"})


@pytest.mark.slow
def test_pendulum_reaches_the_targets_row():
    """The learning target: deterministic return >= -200 within 20k env steps, 4 seeds in one vmapped
    call."""
    result = train(prepare("ddpg", "Pendulum-v1", total_steps=20_000), seeds=range(4))
    assert result.final_return.mean() >= -200, result.metrics["eval_return"]


# TD3: twin critics, target-policy smoothing, delayed actor and target updates.


def test_td3_target_takes_the_min_of_the_twin_target_critics():
    r = jnp.array([1.0, 2.0, 3.0])
    terminated = jnp.array([False, True, False])
    q_t = jnp.array([[10.0, 7.0, -10.0], [4.0, 9.0, -12.0]])  # [2 critics, 3]
    expected = np.array([1.0 + 0.9 * 4.0, 2.0, 3.0 - 0.9 * 12.0])
    np.testing.assert_allclose(ddpg.critic_target(r, terminated, q_t, 0.9), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(ddpg.critic_target)(r, terminated, q_t, 0.9), expected, rtol=1e-6)
    batched = jax.vmap(ddpg.critic_target, in_axes=(0, 0, 0, None))(
        jnp.stack([r, r]), jnp.stack([terminated, terminated]), jnp.stack([q_t, q_t[::-1]]), 0.9)
    np.testing.assert_allclose(batched, np.stack([expected, expected]), rtol=1e-6)


def test_target_smoothing_clips_the_noise_then_the_action():
    mu_t = jnp.array([[0.9, -0.2, 0.0, -0.95]])
    eps = jnp.array([[3.0, -1.0, 0.5, -1.0]])  # sigma eps = 0.6 (clipped to 0.5), -0.2, 0.1, -0.2
    expected = [[1.0, -0.4, 0.1, -1.0]]  # 0.9 + 0.5 and -0.95 - 0.2 leave the bounds: clipped
    smooth = ddpg.smoothed_target_action
    np.testing.assert_allclose(smooth(mu_t, eps, 0.2, 0.5), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(smooth)(mu_t, eps, 0.2, 0.5), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(smooth, in_axes=(None, 0, None, None))(mu_t, eps[None], 0.2, 0.5),
                               [expected], rtol=1e-6)
    np.testing.assert_array_equal(smooth(mu_t, eps, 0.0, 0.5), mu_t)  # sigma 0: DDPG's target action
    np.testing.assert_allclose(smooth(mu_t, -eps, 1.0, 0.05), mu_t - jnp.array([[0.05, -0.05, 0.05, -0.05]]),
                               rtol=1e-6)


def test_td3_and_ddpg_defaults():
    td3, ddpg_job = prepare("td3", settings={"hidden": [8]}), prepare("ddpg")
    assert td3.static["twin"] and not ddpg_job.static["twin"]
    assert td3.hparams.target_noise == np.float32(0.2) and td3.hparams.target_noise_clip == 0.5
    assert td3.hparams.policy_delay == 2
    assert ddpg_job.hparams.target_noise == 0.0 and ddpg_job.hparams.policy_delay == 1
    state = jax.jit(td3.algorithm.init)(jax.random.key(0), td3.hparams)
    kernels = state.critic_params["params"]["Dense_0"]["kernel"]
    assert kernels.shape == (2, 4, 8) and not np.array_equal(kernels[0], kernels[1])  # two critics


def test_td3_actor_and_targets_move_every_policy_delay_updates():
    algo = ddpg.make_ddpg(short_pendulum(), total_steps=1000, num_envs=2, buffer_size=64, batch_size=4,
                          hidden=(16,), twin=True)
    hp = to_hparams(ddpg.TD3HParams, {"learning_starts": 0, "policy_delay": 3})

    def body(state, _):
        new, _ = algo.update(state, hp)
        fields = ("actor_params", "critic_params", "target_actor_params", "target_critic_params",
                  "actor_opt_state")
        moved = [checksum(getattr(new, f)) != checksum(getattr(state, f)) for f in fields]
        return new, jnp.stack(moved)

    _, moved = jax.jit(lambda key: jax.lax.scan(body, algo.init(key, hp), length=7))(jax.random.key(0))
    moved = np.asarray(moved)  # [7 updates, 5 fields]; update counters 1..7 after each step
    np.testing.assert_array_equal(moved[:, 1], True)  # the critics step every update
    for field in (0, 2, 3, 4):  # the actor, its optimiser and both targets on updates 3 and 6 only
        np.testing.assert_array_equal(moved[:, field], [False, False, True, False, False, True, False])


def test_td3_actor_follows_the_first_critic_alone():
    algo = ddpg.make_ddpg(short_pendulum(), total_steps=1000, num_envs=2, buffer_size=64, batch_size=4,
                          hidden=(16,), twin=True)
    hp = to_hparams(ddpg.TD3HParams, {"learning_starts": 0, "policy_delay": 1})
    state = algo.init(jax.random.key(0), hp)
    other = state._replace(critic_params=jax.tree.map(lambda x: x.at[1].mul(-3.0), state.critic_params))
    update = jax.jit(algo.update)
    first, second = update(state, hp)[0], update(other, hp)[0]
    for a, b in zip(jax.tree.leaves(first.actor_params), jax.tree.leaves(second.actor_params)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.critic_params["params"]["Dense_0"]["kernel"][1],
                              second.critic_params["params"]["Dense_0"]["kernel"][1])


@pytest.mark.slow
def test_td3_pendulum_reaches_the_targets_row():
    """TD3's learning target: deterministic return >= -200 within 20k env steps, 4 seeds vmapped."""
    result = train(prepare("td3", "Pendulum-v1", total_steps=20_000), seeds=range(4))
    assert result.final_return.mean() >= -200, result.metrics["eval_return"]
