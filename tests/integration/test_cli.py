"""The command line: end-to-end runs, result files, and bad input named before anything runs."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from purerl.cli import main
from purerl.cli.args import parse_value
from purerl.io import records

TINY = ["--total-steps", "3200", "--set", "num_evals=2", "eval_episodes=8"]


def test_train_writes_results_and_repeats_bit_identically(tmp_path):
    args = ["train", "q_learning", "--env", "FrozenLake-misc", "--seeds", "3", *TINY]
    first = run_cli(*args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    assert "final return" in first.stdout and "env steps/s" in first.stdout
    second = run_cli(*args, "--out", str(tmp_path / "b"))
    a = records.read_summary(tmp_path / "a")
    b = records.read_summary(tmp_path / "b")
    assert a["final_return"]["per_seed"] == b["final_return"]["per_seed"]
    for key in ("spec", "algo", "env", "static", "seeds", "total_env_steps", "final_return", "best_return",
                "diverged", "wall_s", "compile_s", "env_steps_per_s", "provenance"):
        assert key in a
    assert a["seeds"] == [0, 1, 2] and a["total_env_steps"] == 3200
    assert a["spec"]["settings"]["gamma"] == 0.99 and a["spec"]["settings"]["num_evals"] == 2
    assert a["diverged"] == {"any": False, "per_seed": [False] * 3, "first_evaluation": [None] * 3}
    assert {"purerl", "jax", "gymnax"} <= set(a["provenance"]["versions"])
    curves = records.read_metrics(tmp_path / "a")
    assert curves.seeds == [0, 1, 2] and list(curves.env_steps) == [1600, 3200]
    assert curves.metrics["eval_return"].shape == (3, 2) and "epsilon" in curves.metrics
    assert second.returncode == 0


def test_different_seeds_differ(tmp_path):
    base = ["train", "q_learning", "--env", "FrozenLake-misc", *TINY]
    assert main([*base, "--seed", "0", "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--seed", "1", "--out", str(tmp_path / "b")]) == 0
    a, b = records.read_metrics(tmp_path / "a"), records.read_metrics(tmp_path / "b")
    assert any(not np.array_equal(a.metrics[n], b.metrics[n]) for n in a.metrics)


def test_env_kwargs_and_discretiser_from_the_command_line(tmp_path, capsys):
    code = main(["train", "sarsa", "--env", "FrozenLake-misc", "--env-kwargs", "is_slippery=false",
                 'desc=["SFFF","FHFH","FFFH","HFFG"]', *TINY, "--out", str(tmp_path / "fl")])
    assert code == 0
    summary = records.read_summary(tmp_path / "fl")
    assert summary["spec"]["env_kwargs"] == {"is_slippery": False, "desc": ["SFFF", "FHFH", "FFFH", "HFFG"]}
    code = main(["train", "q_learning", "--env", "CartPole-v1", "--discretize", "3,3,8,12",
                 "--bounds=-2.4:2.4,-3:3,-0.21:0.21,-3.5:3.5", *TINY, "--out", str(tmp_path / "cp")])
    assert code == 0
    spec = records.read_summary(tmp_path / "cp")["spec"]
    assert spec["discretize"]["bins"] == [3, 3, 8, 12]


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "impala"], "unknown algorithm 'impala'"),
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
        (["train", "q_learning", "--total-steps", "1.5"], "total steps must be a positive integer"),
        (["train", "q_learning", "--total-steps", "lots"], "total steps must be a positive integer"),
        (["train", "a3c", "--set", "lr_decay=1.5"], "lr_decay must be in [0.0, 1.0]"),
        (["train", "dqn", "--set", "hidden=[0]"], "hidden takes a non-empty list of positive integers"),
        (["train", "dqn", "--set", "hidden=[]"], "hidden takes a non-empty list of positive integers"),
        (["train", "dqn", "--set", "batch_size=256", "buffer_size=128"], "batch_size"),
        (["train", "dqn", "--set", "loss=l1"], "loss must be one of 'mse', 'huber'"),
        (["train", "q_learning", "--devices", "2"], "--devices is for: a3c"),
        (["train"], "train needs an algorithm"),
        (["train", "q_learning", "--seed", "-1"], "--seed must be non-negative"),
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
    assert records.read_summary(out)["algo"] == "q_learning"


def test_list_marks_sweepable_and_static_settings_with_their_ranges():
    listing = run_cli("list")
    assert listing.returncode == 0
    for name in ("q_learning", "sarsa"):
        assert f"{name}:" in listing.stdout
    assert "gamma = 0.99  (sweepable; in [0.0, 1.0])" in listing.stdout
    assert "num_envs = 16  (static; positive)" in listing.stdout


def test_a_budget_written_as_a_float_is_an_integer(tmp_path):
    code = main(["train", "q_learning", "--total-steps", "3.2e3", "--set", "num_evals=2", "eval_episodes=8",
                 "--out", str(tmp_path / "a")])
    assert code == 0
    assert records.read_config(tmp_path / "a").spec.total_steps == 3200


@pytest.mark.parametrize("make_out, message", [
    (lambda tmp: tmp / "file" / "out", "is not a directory"),
    (lambda tmp: Path("/proc/purerl-test/out"), "cannot create results dir /proc/purerl-test/out"),
    (lambda tmp: tmp / "file", "exists and is not a directory"),
])
def test_an_out_that_cannot_be_created_is_refused_before_compiling(tmp_path, capsys, make_out, message):
    (tmp_path / "file").write_text("a file, not a dir")
    assert main(["train", "q_learning", *TINY, "--out", str(make_out(tmp_path))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("purerl: error:") and message in err


def test_values_parse_as_json_where_they_can():
    assert parse_value("0.5") == 0.5 and parse_value("true") is True and parse_value("[3, 4]") == [3, 4]
    assert parse_value("gaussian") == "gaussian"


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("{not json", "is not valid JSON"),
    ('{"name": "a paper figure"}', "is not a purerl job spec"),
    ('[1, 2]', "is not a purerl job spec"),
    ('{"format": "purerl.JobSpec/9", "algo": "dqn"}', "this purerl reads 'purerl.JobSpec/1'"),
    ("EXTRA", "has fields this purerl does not know: colour"),
    ("BADSETTING", "unknown setting 'alpha' for q_learning"),
    ("MISSING", "lacks the fields seeds"),
])
def test_bad_config_files_are_refused_in_one_line(tmp_path, capsys, content, message):
    from purerl.config.spec import JobSpec

    spec = JobSpec.create("q_learning", total_steps=3200).to_dict()
    path = tmp_path / "spec.json"
    if content == "EXTRA":
        content = json.dumps({**spec, "colour": "blue"})
    elif content == "BADSETTING":
        content = json.dumps({**spec, "settings": {**spec["settings"], "alpha": 0.1}})
    elif content == "MISSING":
        content = json.dumps({k: v for k, v in spec.items() if k != "seeds"})
    if content is not None:
        path.write_text(content)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"purerl: error: {path}") and message in err
    assert not (tmp_path / "out").exists()


def test_config_takes_no_job_flags(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "x.json"), "--seeds", "3"]) == 2
    assert "--config takes the whole job from its file; got also --seeds" in capsys.readouterr().err


def test_resume_of_a_finished_run_says_so(tmp_path):
    assert main(["train", "q_learning", *TINY, "--out", str(tmp_path / "a")]) == 0
    done = run_cli("train", "--resume", str(tmp_path / "a"))
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip().splitlines() == [
        f"the run in {tmp_path / 'a'} has finished (2 of 2 evaluations, final return "
        f"{records.read_summary(tmp_path / 'a')['final_return']['mean']:.4g}): "
        "nothing to resume"]
