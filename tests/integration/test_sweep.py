"""Sweeps: points, devices, processes and the `purerl sweep` command."""

import numpy as np
import pytest
from helpers import run_cli, tiny_job

from purerl.analysis.plot import load
from purerl.cli import main
from purerl.config.points import grid, random_points
from purerl.io import records
from purerl.runtime.sweep import sweep

TINY = ["--total-steps", "3200", "--set", "num_evals=2", "eval_episodes=8"]


def test_grid_is_the_product_and_random_points_lie_in_their_ranges():
    assert grid({"lr": [1, 2], "gamma": [0.9, 0.99]}) == [
        {"lr": 1, "gamma": 0.9}, {"lr": 1, "gamma": 0.99}, {"lr": 2, "gamma": 0.9}, {"lr": 2, "gamma": 0.99},
    ]
    points = random_points({"lr": (1e-4, 1e-2, True), "gamma": (0.9, 0.99, False)}, 200, seed=1)
    lr, gamma = np.array([p["lr"] for p in points]), np.array([p["gamma"] for p in points])
    assert lr.min() >= 1e-4 and lr.max() <= 1e-2 and gamma.min() >= 0.9 and gamma.max() <= 0.99
    assert 0.3 < np.mean(lr < 1e-3) < 0.7  # log-uniform: half the mass below the geometric middle
    assert points == random_points({"lr": (1e-4, 1e-2, True), "gamma": (0.9, 0.99, False)}, 200, seed=1)


@pytest.mark.slow  # three DQN compiles
def test_four_devices_equal_one_device_in_chunks_and_whole():
    job = tiny_job("dqn")
    points = grid({"lr": [1e-3, 3e-4], "gamma": [0.9, 0.99]})
    one = sweep(job, points, seeds=[0, 1, 2], devices=1)
    four = sweep(job, points, seeds=[0, 1, 2], devices=4)
    chunked = sweep(job, points, seeds=[0, 1, 2], devices=4, chunk_size=5)  # 2 chunks of 8, padded
    assert four.devices == 4 and four.final_return.shape == (4, 3)
    for name, values in one.metrics.items():
        np.testing.assert_allclose(four.metrics[name], values, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(chunked.metrics[name], values, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # two sweeps compile
def test_a_sweep_that_does_not_fit_runs_in_chunks_with_the_same_results():
    job = tiny_job("q_learning")
    points = grid({"lr": [0.05, 0.2], "gamma": [0.9, 0.99]})
    whole = sweep(job, points, seeds=[0, 1, 2])
    halved = sweep(job, points, seeds=[0, 1, 2], memory_limit=1)  # nothing fits: one run per device
    assert whole.chunk_size == 12 and halved.chunk_size == halved.devices == 4
    np.testing.assert_array_equal(halved.metrics["eval_return"], whole.metrics["eval_return"])


def test_a_sweep_in_calls_of_one_evaluation_equals_the_sweep_in_one_call():
    job = tiny_job("q_learning", num_evals=3)
    points = grid({"lr": [0.05, 0.2]})
    seen = []
    whole = sweep(job, points, seeds=[0, 1])
    stepped = sweep(job, points, seeds=[0, 1], periods_per_chunk=1, on_chunk=lambda p: seen.append(p.step))
    assert seen == [1, 2, 3]
    for name, values in whole.metrics.items():
        np.testing.assert_array_equal(stepped.metrics[name], values)


def test_sweep_refuses_static_settings_and_bad_values():
    job = tiny_job("dqn")
    with pytest.raises(ValueError, match="num_envs of dqn is static"):
        sweep(job, [{"num_envs": 2}], seeds=[0])
    with pytest.raises(ValueError, match=r"gamma must be in \[0.0, 1.0\]"):
        sweep(job, [{"gamma": 0.9}, {"gamma": 1.5}], seeds=[0])
    with pytest.raises(ValueError, match="unknown setting 'lrr'"):
        sweep(job, [{"lrr": 0.1}], seeds=[0])


def test_cli_sweep_writes_a_row_per_run_and_the_best_point(tmp_path):
    out = tmp_path / "sweep"
    done = run_cli("sweep", "q_learning", "--env", "FrozenLake-misc", "--grid", "lr=0.05,0.2",
                   "gamma=0.9,0.99", "--seeds", "3", *TINY, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "best point" in done.stdout
    rows = records.read_sweep(out)
    assert len(rows) == 4 * 3
    assert {"point", "lr", "gamma", "seed", "final_return", "env_steps"} <= set(rows[0])
    summary = records.read_summary(out)
    means = [np.mean([r["final_return"] for r in rows if r["point"] == p]) for p in range(4)]
    assert summary["best"]["point"] == int(np.argmax(means))
    assert summary["best"]["final_return"]["mean"] == pytest.approx(max(means), abs=1e-6)
    assert summary["swept"] == {"grid": {"lr": [0.05, 0.2], "gamma": [0.9, 0.99]}}
    assert summary["seeds"] == [0, 1, 2]
    assert {"jax", "gymnax", "purerl"} <= set(summary["provenance"]["versions"])
    assert summary["diverged_runs"] == 0 and {r["diverged"] for r in rows} == {0}
    for point in range(4):
        curves = records.read_metrics(out, point)
        assert curves.seeds == [0, 1, 2] and curves.metrics["eval_return"].shape == (3, 2)
    best = load(out)  # `purerl plot` draws a sweep's best point
    assert "best of 4 points" in best.label and best.returns.shape == (3, 2)
    np.testing.assert_allclose(best.returns[:, -1], summary["best"]["final_return"]["per_seed"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", "num_envs=2,4"], "num_envs of q_learning is static"),
        (["--grid", "gamma=0.9,1.1"], "gamma must be in [0.0, 1.0]"),
        (["--grid", "lr=0.1", "--random", "gamma=0.9:0.99", "--points", "2"], "either"),
        ([], "either"),
        (["--random", "lr=0.1:0.01", "--points", "4"], "needs lo < hi"),
        (["--random", "lr=0.01:0.1"], "--random needs --points"),
        (["--grid", "lr=0.1", "--set", "lr=0.2"], "lr is both set and swept"),
        (["--grid", "lr=0.1", "--coordinator", "127.0.0.1:1"], "go together"),
    ],
)
def test_cli_sweep_names_bad_input_before_compiling(args, message, tmp_path, capsys):
    assert main(["sweep", "q_learning", "--env", "FrozenLake-misc", *args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("purerl: error:") and message in err
    assert not (tmp_path / "x").exists()
