"""A sweep's tuning seeds and its reported seeds kept apart (`--eval-seeds`), and the persistent
compilation cache every entry point turns on."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from purerl.analysis import report
from purerl.cli import main
from purerl.io import records

# DQN on CartPole-v1 over lr x gravity (an env param): 4 points, tiny budget.
JOB = ["--env", "CartPole-v1", "--total-steps", "1024", "--set", "num_evals=2", "eval_episodes=8",
       "num_envs=4", "batch_size=16", "buffer_size=256", "learning_starts=0"]


@pytest.mark.slow  # a sweep and two runs compile
def test_eval_seeds_are_fresh_and_equal_purerl_train_of_the_best_point(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "dqn", *JOB, "--grid", "lr=0.003,0.0003", "env.gravity=9.8,19.6", "--seeds", "3",
                 "--seed", "5", "--eval-seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = records.read_summary(out)
    evaluation = summary["evaluation"]
    best = summary["best"]["point"]
    assert evaluation["point"] == best == summary["ranking"][0]
    assert evaluation["tuning_seeds"] == summary["seeds"] == [5, 6, 7]
    assert evaluation["eval_seeds"] == [8, 9]  # never a tuning seed
    assert f"retrained on 2 fresh seeds (8-9, none used in tuning): final return " \
           f"{evaluation['final_return']['mean']:.3f}" in printed
    point = summary["points"][best]
    assert evaluation["values"] == {"lr": point["lr"], "env.gravity": point["env.gravity"]}

    # The reported runs are `purerl train` of that point on those seeds, bit for bit.
    alone = tmp_path / "alone"
    assert main(["train", "dqn", *JOB, f"lr={point['lr']}", "--env-params", f"gravity={point['env.gravity']}",
                 "--seeds", "2", "--seed", "8", "--out", str(alone)]) == 0
    assert (out / "eval" / "metrics.csv").read_text() == (alone / "metrics.csv").read_text()
    trained = records.read_summary(alone)
    assert evaluation["final_return"] == trained["final_return"]
    assert records.read_summary(out / "eval")["spec"] == trained["spec"]

    # `purerl report` counts the sweep with its fresh-seed runs.
    runs, _ = report.load(out)
    assert runs.returns.tolist() == evaluation["final_return"]["per_seed"] and runs.spec.seeds == (8, 9)


def test_eval_seeds_must_be_positive(tmp_path, capsys):
    args = ["sweep", "dqn", *JOB, "--grid", "lr=0.003", "--eval-seeds", "0", "--out", str(tmp_path)]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == "purerl: error: --eval-seeds must be positive, got 0"


@pytest.mark.slow  # three training processes
def test_a_second_process_reads_the_compiled_program_from_the_cache(tmp_path):
    """Two `purerl train` processes of one config: the second compiles from the cache, to the same
    numbers; config.json records the cache, and `--no-compile-cache` turns it off."""
    cache = tmp_path / "cache"
    env = {**os.environ, "PURERL_COMPILE_CACHE": str(cache),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}

    def train(name, *flags):
        command = [sys.executable, "-m", "purerl", "train", "dqn", *JOB, "--out", str(tmp_path / name)]
        command += flags
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        config = json.loads((tmp_path / name / "config.json").read_text())
        return config["provenance"]["compile_cache"], records.read_metrics(tmp_path / name)

    used, cold = train("cold")
    assert used == str(cache) and any(cache.iterdir())
    entries = sorted(p.name for p in cache.iterdir())
    used, warm = train("warm")
    assert used == str(cache) and sorted(p.name for p in cache.iterdir()) == entries  # all read, none new
    for name, values in cold.metrics.items():
        np.testing.assert_array_equal(warm.metrics[name], values)
    used, _ = train("off", "--no-compile-cache")
    assert used is None
