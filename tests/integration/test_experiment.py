"""A run is data: the job spec's exact JSON round trip, one program behind every path, diverged runs
flagged in train and sweep results."""

import json
import subprocess
import sys

import numpy as np
import pytest

from purerl import experiment
from purerl.cli import main
from purerl.config.spec import JobSpec
from purerl.io import records
from purerl.runtime import run

SMALL_DQN = {"num_evals": 2, "eval_episodes": 4, "learning_starts": 100, "buffer_size": 500, "batch_size": 32}


def test_a_spec_survives_json_exactly():
    kwargs = {"desc": ["SFFF", "FHFH", "FFFH", "HFFG"], "is_slippery": False}
    spec = JobSpec.create("sarsa", "FrozenLake-misc", kwargs, total_steps=1e5,
                          settings={"lr": 0.1 + 0.2, "epsilon_end": 1 / 3}, seeds=[3, 1, 4])
    text = spec.to_json()
    again = JobSpec.from_json(text)
    assert again == spec and again.to_json() == text
    assert again.settings["lr"] == 0.1 + 0.2 and again.total_steps == 100_000 and again.seeds == (3, 1, 4)
    assert set(spec.settings) == set(JobSpec.create("sarsa").settings)  # every setting, defaults filled
    cartpole = JobSpec.create("dqn", "CartPole-v1", settings={"hidden": [32, 16]}, bins=None)
    assert JobSpec.from_json(cartpole.to_json()) == cartpole and cartpole.settings["hidden"] == (32, 16)
    binned = JobSpec.create("q_learning", "CartPole-v1", bins=[3, 3, 8, 12],
                            bounds=[[-2.4, 2.4], [-3, 3], [-0.2095, 0.2095], [-3.5, 3.5]])
    assert JobSpec.from_json(binned.to_json()) == binned
    assert spec.replace(seeds=[7]).seeds == (7,)
    assert spec.replace(settings={"gamma": 0.5}).settings["lr"] == 0.1 + 0.2


@pytest.mark.parametrize("kwargs, message", [
    (dict(algo="ppo2"), "unknown algorithm 'ppo2'"),
    (dict(algo="dqn", seeds=[]), "need at least one seed"),
    (dict(algo="dqn", seeds=[1, 1]), "seeds must differ"),
    (dict(algo="dqn", seeds=[-1]), "a seed must be an integer in [0, 2^32)"),
    (dict(algo="dqn", total_steps=True), "total steps must be a positive integer"),
    (dict(algo="dqn", total_steps=2.5), "total steps must be a positive integer"),
    (dict(algo="dqn", settings={"tau": 0.0}), "tau must be in (0.0, 1.0]"),
    (dict(algo="dqn", settings={"learning_starts": -1}), "learning_starts must be non-negative"),
])
def test_create_names_the_problem(kwargs, message):
    with pytest.raises(ValueError) as error:
        JobSpec.create(**kwargs)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow  # two runs and a training process
def test_the_python_api_purerl_train_and_its_config_give_the_same_numbers_bit_for_bit(tmp_path):
    """`run.train(spec)`, `experiment.train(spec, a)` and, in another process,
    `purerl train --config a/config.json --out b` give the same per-seed numbers and metrics."""
    spec = JobSpec.create("dqn", total_steps=2000, settings=SMALL_DQN, seeds=[0, 1])
    result = run.train(spec)
    into_dir = experiment.train(spec, tmp_path / "a")
    for name, values in result.metrics.items():
        np.testing.assert_array_equal(into_dir.metrics[name], values)
    assert records.read_config(tmp_path / "a").spec == spec
    command = ["train", "--config", str(tmp_path / "a" / "config.json"), "--out", str(tmp_path / "b")]
    done = subprocess.run([sys.executable, "-m", "purerl", *command], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    a, b = records.read_summary(tmp_path / "a"), records.read_summary(tmp_path / "b")
    assert a["spec"] == b["spec"] and a["final_return"] == b["final_return"]
    assert (tmp_path / "a" / "metrics.csv").read_text() == (tmp_path / "b" / "metrics.csv").read_text()
    cli = records.read_metrics(tmp_path / "b")
    assert cli.seeds == [0, 1] and list(cli.env_steps) == list(result.env_steps)
    for name, values in result.metrics.items():
        np.testing.assert_array_equal(cli.metrics[name], values.astype(np.float32))


DIVERGING = {**SMALL_DQN, "lr": 1e8, "max_grad_norm": 1e30, "learning_starts": 0}


def test_a_diverged_run_is_flagged(tmp_path, capsys):
    settings = [f"{k}={v}" for k, v in DIVERGING.items()]
    assert main(["train", "dqn", "--total-steps", "2000", "--seeds", "2", "--set", *settings,
                 "--out", str(tmp_path / "run")]) == 0
    summary = records.read_summary(tmp_path / "run")
    assert summary["diverged"] == {"any": True, "per_seed": [True, True], "first_evaluation": [1, 1]}
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].split("\r")[-1].startswith("purerl: warning: 2 of 2 seeds diverged")
    rows = records.read_metrics(tmp_path / "run")
    assert np.all(rows.metrics["diverged"] == 1)


def test_a_sweep_never_ranks_a_diverged_point_best(tmp_path):
    spec = JobSpec.create("dqn", total_steps=2000, settings={**DIVERGING, "lr": 1e-3}, seeds=[0])
    points = [{"lr": 1e8}, {"lr": 1e-3}]
    result = experiment.sweep(spec, points, tmp_path / "sweep")
    summary = records.read_summary(tmp_path / "sweep")
    assert summary["ranking"] == [1, 0] and summary["best"]["point"] == 1 and not summary["best"]["diverged"]
    assert summary["diverged_runs"] == 1 and result.metrics["diverged"][0].all()
    rows = records.read_sweep(tmp_path / "sweep")
    flags = [(r["point"], r["diverged"], r["diverged_at_evaluation"]) for r in rows]
    assert flags == [(0, 1, 1), (1, 0, None)]
    assert json.loads((tmp_path / "sweep" / "config.json").read_text())["run"]["kind"] == "sweep"
