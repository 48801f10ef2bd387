"""`purerl plot` on two results dirs and on bad input, and experiments/results.py on a tiny budget."""

import numpy as np
import pytest
from helpers import PNG_MAGIC, load_experiment

from purerl.cli import main
from purerl.io import records

TINY = ["--total-steps", "3200", "--set", "num_evals=2", "eval_episodes=8", "--seeds", "3"]


@pytest.fixture(scope="module")
def results_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, first in (("a", "0"), ("b", "5")):
        argv = ["train", "q_learning", "--env", "FrozenLake-misc", *TINY, "--seed", first,
                "--out", str(root / name)]
        assert main(argv) == 0
    return root / "a", root / "b"


def test_plot_draws_a_png_from_results_dirs(results_dirs, tmp_path, capsys):
    out = tmp_path / "fig" / "curves.png"
    assert main(["plot", *map(str, results_dirs), "--out", str(out), "--title", "two runs"]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC) and out.stat().st_size > 1000
    assert "plotted 2 results dir(s)" in capsys.readouterr().out


@pytest.mark.parametrize("bad, message", [
    ("missing", "no such results dir"),
    ("empty", "has no metrics.csv"),
])
def test_plot_names_bad_input_and_exits_2(results_dirs, tmp_path, capsys, bad, message):
    (tmp_path / "empty").mkdir()
    code = main(["plot", str(results_dirs[0]), str(tmp_path / bad), "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("purerl: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow  # every row of the results table compiles
def test_results_script_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    results = load_experiment("results")
    common = ["--seeds", "3", "--out", str(tmp_path), "--only", "q_learning-frozenlake", "sarsa-frozenlake",
              "--set", "num_evals=2", "eval_episodes=8"]
    args = [*common, "--scale", "0.0032"]
    assert results.main(args) == 0
    printed = capsys.readouterr().out
    table = (tmp_path / "table.md").read_text()
    assert table in printed
    assert table.count("FrozenLake-misc") == 2 and "| 3 |" in table
    summary = records.read_summary(tmp_path / "sarsa-frozenlake")
    assert summary["provenance"]["command"][:2] == ["python", "experiments/results.py"]
    assert summary["seeds"] == [0, 1, 2]
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG_MAGIC)

    # `purerl train` of the row's spec gives its per-seed returns and metrics bit for bit.
    assert main(["train", "--config", str(tmp_path / "sarsa-frozenlake" / "config.json"),
                 "--out", str(tmp_path / "again")]) == 0
    again = records.read_metrics(tmp_path / "again")
    row = records.read_metrics(tmp_path / "sarsa-frozenlake")
    for name, values in row.metrics.items():
        np.testing.assert_array_equal(again.metrics[name], values)
    assert records.read_summary(tmp_path / "again")["final_return"] == summary["final_return"]

    # Run again: the results are read back, not retrained, and the table is the same.
    assert results.main(args) == 0
    assert "reusing" in capsys.readouterr().out
    assert (tmp_path / "table.md").read_text() == table
    with pytest.raises(ValueError, match="holds a different run"):
        results.main([*common, "--scale", "0.0064"])
