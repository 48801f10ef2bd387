"""experiments/bench_accelerator.py end to end on tiny sizes: its table's rows and numbers."""

import math
import re

import pytest
from helpers import load_experiment


def numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.?\d*", text)]


def table_rows(text: str) -> dict[str, list[str]]:
    """what -> its cells, for the table's body rows."""
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows[1:]}


def check_rows(text: str, algos: list[str], ceilings: list[str]) -> None:
    rows = table_rows(text)
    assert sorted(rows) == sorted([f"{a} on {env}" for a, env in algos] + ceilings)
    for what, (envs, rate, ratio, compile_s) in rows.items():
        values = [float(envs), float(rate.replace(",", "")), float(ratio), float(compile_s)]
        assert all(math.isfinite(v) and v > 0 for v in values), (what, values)


@pytest.mark.slow  # the ceiling's and DQN's compiles
def test_quick_dqn_row_without_sweep_and_compile_parts(tmp_path):
    bench = load_experiment("bench_accelerator")
    out = tmp_path / "table.md"
    text = bench.main(["--quick", "--envs", "64", "--algos", "dqn", "--skip", "sweep,compile,seeds",
                       "--out", str(out)])
    assert out.read_text() == text
    check_rows(text, [("dqn", "CartPole-v1")], ["gymnax CartPole-v1, random actions (ceiling)"])
    assert "Sweep" not in text and "Compile" not in text and "PPO" not in text


@pytest.mark.slow
def test_quick_sweep_compile_and_an_algorithm_per_env(tmp_path):
    bench = load_experiment("bench_accelerator")
    text = bench.main(["--quick", "--algos", "ppo,sac", "--out", str(tmp_path / "table.md")])
    check_rows(text, [("ppo", "CartPole-v1"), ("sac", "Pendulum-v1")],
               [f"gymnax {env}, random actions (ceiling)" for env in ("CartPole-v1", "Pendulum-v1")])
    sweep = next(line for line in text.splitlines() if line.startswith("Sweep:"))
    compiled = next(line for line in text.splitlines() if line.startswith("Compile"))
    seeds = next(line for line in text.splitlines() if line.startswith("PPO"))
    assert "2 seeds x" in seeds
    assert all(math.isfinite(v) and v > 0 for v in numbers(sweep) + numbers(compiled) + numbers(seeds))


def test_a_row_that_cannot_run_says_why(monkeypatch):
    bench = load_experiment("bench_accelerator")
    monkeypatch.setattr(bench, "algo_rate", lambda *args: (_ for _ in ()).throw(ValueError("too big")))
    monkeypatch.setattr(bench, "raw_rate", lambda *args: (1e6, 1.0))
    text = bench.main(["--quick", "--envs", "64", "--algos", "ppo", "--skip", "sweep,compile,seeds"])
    assert table_rows(text)["ppo on CartPole-v1"][1] == "n/a (ValueError: too big)"
