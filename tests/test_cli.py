"""The command line: end-to-end runs, result files, and bad input named before anything runs."""

import csv
import json
import subprocess
import sys

import pytest

from purerl.cli import main, parse_value

TINY = ["--total-steps", "3200", "--set", "num_evals=2", "eval_episodes=8"]


def run_cli(*args):
    command = [sys.executable, "-m", "purerl", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_train_writes_results_and_repeats_bit_identically(tmp_path):
    args = ["train", "q_learning", "--env", "FrozenLake-misc", "--seeds", "3", *TINY]
    first = run_cli(*args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    assert "final return" in first.stdout and "env steps/s" in first.stdout
    second = run_cli(*args, "--out", str(tmp_path / "b"))
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert a["final_return"]["per_seed"] == b["final_return"]["per_seed"]
    for key in ("algo", "env", "env_kwargs", "hyperparams", "seeds", "total_env_steps", "final_return",
                "best_return", "wall_s", "compile_s", "env_steps_per_s", "versions"):
        assert key in a
    assert a["seeds"] == [0, 1, 2] and a["total_env_steps"] == 3200
    assert {"purerl", "jax", "gymnax"} <= set(a["versions"])
    rows = list(csv.DictReader((tmp_path / "a" / "metrics.csv").open()))
    assert len(rows) == 3 * 2 and {"env_steps", "seed", "eval_return"} <= set(rows[0])
    assert second.returncode == 0


def test_different_seeds_differ(tmp_path):
    base = ["train", "q_learning", "--env", "FrozenLake-misc", *TINY]
    run_cli(*base, "--seed", "0", "--out", str(tmp_path / "a"))
    run_cli(*base, "--seed", "1", "--out", str(tmp_path / "b"))
    a = (tmp_path / "a" / "metrics.csv").read_text().splitlines()[1:]
    b = (tmp_path / "b" / "metrics.csv").read_text().splitlines()[1:]
    assert [r.split(",")[2:] for r in a] != [r.split(",")[2:] for r in b]


def test_env_kwargs_and_discretiser_from_the_command_line(tmp_path, capsys):
    code = main(["train", "sarsa", "--env", "FrozenLake-misc", "--env-kwargs", "is_slippery=false",
                 'desc=["SFFF","FHFH","FFFH","HFFG"]', *TINY, "--out", str(tmp_path / "fl")])
    assert code == 0
    summary = json.loads((tmp_path / "fl" / "summary.json").read_text())
    assert summary["env_kwargs"] == {"is_slippery": False, "desc": ["SFFF", "FHFH", "FFFH", "HFFG"]}
    code = main(["train", "q_learning", "--env", "CartPole-v1", "--discretize", "3,3,8,12",
                 "--bounds=-2.4:2.4,-3:3,-0.21:0.21,-3.5:3.5", *TINY, "--out", str(tmp_path / "cp")])
    assert code == 0
    assert json.loads((tmp_path / "cp" / "summary.json").read_text())["discretize"]["bins"] == [3, 3, 8, 12]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "ppo"], "unknown algorithm 'ppo'"),
        (["train", "q_learning", "--env", "FrozenLake-v9"], "unknown env 'FrozenLake-v9'"),
        (["train", "q_learning", "--env-kwargs", "slippery=false"], "bad --env-kwargs"),
        (["train", "q_learning", "--set", "alpha=0.1"], "unknown setting 'alpha' for q_learning"),
        (["train", "q_learning", "--set", "gamma=1.5"], "gamma must be in [0.0, 1.0]"),
        (["train", "q_learning", "--set", "gamma=-0.1"], "gamma must be in [0.0, 1.0]"),
        (["train", "q_learning", "--set", "lr=high"], "lr takes a number"),
        (["train", "q_learning", "--set", "num_envs=2.5"], "num_envs takes an integer"),
        (["train", "q_learning", "--set", "num_envs=0"], "num_envs must be positive"),
        (["train", "q_learning", "--set", "gamma"], "--set takes name=value"),
        (["train", "dqn", "--set", "target_period=0"], "target_period must be positive"),
        (["train", "q_learning", "--env", "CartPole-v1"], "has a Box observation: discretise it"),
        (["train", "q_learning", "--env", "Pendulum-v1", "--discretize", "4,4,4"], "continuous one"),
        (["train", "q_learning", "--total-steps", "0"], "total steps must be a positive integer"),
        (["train", "q_learning", "--seeds", "0"], "--seeds must be positive"),
        (["train", "q_learning", "--env", "CartPole-v1", "--discretize", "3,x"], "--discretize takes"),
    ],
)
def test_bad_input_is_one_clear_line(args, message, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("purerl: error:")
    assert message in err
    assert not (tmp_path / "out").exists()  # failed before anything was written


def test_existing_results_are_never_overwritten_unless_asked(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("earlier results")
    assert main(["train", "q_learning", *TINY, "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == "earlier results"
    assert main(["train", "q_learning", *TINY, "--out", str(out), "--overwrite"]) == 0
    assert json.loads((out / "summary.json").read_text())["algo"] == "q_learning"


def test_list_marks_sweepable_and_static_settings():
    listing = run_cli("list")
    assert listing.returncode == 0
    for name in ("q_learning", "sarsa"):
        assert f"{name}:" in listing.stdout
    assert "gamma = 0.99  (sweepable)" in listing.stdout
    assert "num_envs = 16  (static)" in listing.stdout


def test_values_parse_as_json_where_they_can():
    assert parse_value("0.5") == 0.5 and parse_value("true") is True and parse_value("[3, 4]") == [3, 4]
    assert parse_value("gaussian") == "gaussian"
