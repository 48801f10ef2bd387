"""`purerl report` and its estimators against rliable 1.2.0's own outputs on fixed inputs.

tests/fixtures/rliable_reference.json is written by experiments/rliable_reference.py, which runs
rliable in its own virtual environment. Point estimates must match it to 1e-6 (performance profiles
exactly). Interval bounds come from different random resamples, so they must agree within Monte
Carlo error: a percentile q estimated from B resamples has a sampling error of about
sqrt(q (1 - q) / B) in probability; `mc_tolerance` turns that into a score range on our own
bootstrap distribution (a 3-sigma band for each side, combined) — small against the intervals' widths.
"""

import json
import re
import shutil

import numpy as np
import pytest
from helpers import FIXTURES, PNG_MAGIC

from purerl import experiment
from purerl.analysis import report, stats
from purerl.analysis.load import Runs
from purerl.analysis.scores import normalize, task_scores
from purerl.cli import main
from purerl.config.points import grid
from purerl.config.spec import JobSpec

FIXTURE = json.loads((FIXTURES / "rliable_reference.json").read_text())
CASES = list(FIXTURE["cases"])
REPS = FIXTURE["reps"]


def case_scores(case: str) -> dict[str, np.ndarray]:
    return {name: np.asarray(scores) for name, scores in FIXTURE["cases"][case].items()}


def mc_tolerance(replicates: np.ndarray, confidence: float, their_reps: int) -> np.ndarray:
    """[2, ...]: how far apart our and rliable's bounds may be by resampling chance alone.

    For each bound's probability q and each side's B resamples, the bound's own 3-sigma band,
    [Q(q - 3s), Q(q + 3s)] with s = sqrt(q (1 - q) / B), read off our bootstrap distribution Q;
    our band and theirs combined in quadrature."""
    alpha = (1 - confidence) / 2
    bounds = []
    for q in (alpha, 1 - alpha):
        q_hat = np.quantile(replicates, q, axis=0)
        halves = []
        for reps in (len(replicates), their_reps):
            s = 3 * np.sqrt(q * (1 - q) / reps)
            low, high = np.quantile(replicates, [max(q - s, 0.0), min(q + s, 1.0)], axis=0)
            halves.append(np.maximum(q_hat - low, high - q_hat))
        bounds.append(np.hypot(*halves))
    return np.stack(bounds)


def check_intervals(ours: np.ndarray, replicates: np.ndarray, theirs: dict) -> None:
    tolerance = mc_tolerance(replicates, FIXTURE["confidence"], REPS) + 1e-12
    expected = np.stack([theirs["low"], theirs["high"]]).reshape(ours.shape)  # rliable: [2, 1] for a scalar
    np.testing.assert_array_less(np.abs(ours - expected), tolerance)
    width = expected[1] - expected[0]
    assert np.all(tolerance <= 0.3 * width + 1e-9)  # the check is tight: within a fraction of the interval


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("task_bootstrap", [False, True])
def test_aggregates_match_rliable(case, task_bootstrap):
    scores = case_scores(case)
    key = "aggregates_task_bootstrap" if task_bootstrap else "aggregates"
    expected = FIXTURE["results"][case][key]
    points, intervals = stats.interval_estimates(scores, stats.aggregates, reps=REPS,
                                                 task_bootstrap=task_bootstrap)
    for name, x in scores.items():
        np.testing.assert_allclose(points[name], expected[name]["point"], rtol=0, atol=1e-6)
        replicates = stats.stratified_bootstrap(stats.aggregates, x, reps=REPS, task_bootstrap=task_bootstrap)
        check_intervals(intervals[name], replicates, expected[name])


@pytest.mark.parametrize("case", CASES)
def test_performance_profiles_match_rliable(case):
    scores, taus = case_scores(case), np.asarray(FIXTURE["taus"])
    expected = FIXTURE["results"][case]["profiles"]
    profile = lambda s: stats.score_distribution(s, taus)
    points, intervals = stats.interval_estimates(scores, profile, reps=REPS)
    for name, x in scores.items():
        np.testing.assert_array_equal(points[name], expected[name]["point"])
        check_intervals(intervals[name], stats.stratified_bootstrap(profile, x, reps=REPS), expected[name])


@pytest.mark.parametrize("case", CASES)
def test_probability_of_improvement_matches_rliable(case):
    scores = case_scores(case)
    expected = FIXTURE["results"][case]["improvement"]
    pairs = {key: tuple(scores[name] for name in key.split(",")) for key in expected}
    points, intervals = stats.interval_estimates(pairs, stats.probability_of_improvement, reps=REPS)
    for key, (x, y) in pairs.items():
        np.testing.assert_allclose(points[key], expected[key]["point"], rtol=0, atol=1e-6)
        replicates = stats.stratified_bootstrap(stats.probability_of_improvement, x, y, reps=REPS)
        check_intervals(intervals[key], replicates, expected[key])
    if case == "pairs":  # identical runs: exactly even, whatever the resampling
        assert points["a,b"] == 0.5


def test_estimators_by_hand():
    scores = np.array([[0.0, 1.0], [0.5, 2.0], [1.0, 3.0], [2.0, 4.0]])  # [runs, tasks]
    assert stats.aggregate_mean(scores) == pytest.approx((0.875 + 2.5) / 2)
    assert stats.aggregate_median(scores) == pytest.approx((0.875 + 2.5) / 2)  # two tasks: their mean
    assert stats.aggregate_iqm(scores) == pytest.approx(np.mean([1.0, 1.0, 2.0, 2.0]))
    assert stats.optimality_gap(scores) == pytest.approx(1 - (0 + 0.5 + 1 + 1 + 1 * 4) / 8)
    np.testing.assert_allclose(stats.score_distribution(scores, [0.0, 1.0, 4.0]), [7 / 8, 4 / 8, 0.0])
    x, y = np.array([[1.0], [2.0]]), np.array([[1.0], [0.0], [3.0]])
    assert stats.probability_of_improvement(x, y) == pytest.approx((1.5 + 2) / 6)  # a tie counts half
    # Batched over leading axes (a block of resamples) like one at a time.
    block = np.stack([scores, scores[::-1] * 2])
    np.testing.assert_allclose(stats.aggregates(block), [stats.aggregates(s) for s in block])


def test_bootstrap_is_stratified_and_reproducible():
    scores = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0]])
    first_task = lambda s: s[..., 0].mean(axis=-1)
    draws = stats.stratified_bootstrap(first_task, scores, reps=500, seed=3)
    assert draws.min() >= 0.0 and draws.max() <= 2.0  # never a run of the other task
    np.testing.assert_array_equal(draws, stats.stratified_bootstrap(first_task, scores, reps=500, seed=3))
    tasks = stats.stratified_bootstrap(first_task, scores, reps=500, seed=3, task_bootstrap=True)
    assert tasks.max() >= 10.0  # with the tasks resampled, the first column can be the second task


@pytest.fixture(scope="module")
def results_dirs(tmp_path_factory):
    """A train dir (q_learning, 3 seeds) and a sweep (sarsa, 2 x 2 points, 2 seeds): two compiles."""
    root = tmp_path_factory.mktemp("runs")
    common = {"num_evals": 2, "eval_episodes": 8}
    spec = JobSpec.create("q_learning", "FrozenLake-misc", total_steps=2000, settings=common, seeds=range(3))
    experiment.train(spec, root / "q_learning")
    spec = JobSpec.create("sarsa", "FrozenLake-misc", total_steps=2000, settings=common, seeds=range(2))
    experiment.sweep(spec, grid({"lr": [0.05, 0.5], "epsilon_end": [0.05, 0.2]}), root / "sweep")
    return root


def test_report_end_to_end(results_dirs, tmp_path, capsys):
    out = tmp_path / "report"
    dirs = [str(results_dirs / "q_learning"), f"{results_dirs / 'sweep'}:sarsa-best"]
    assert main(["report", *dirs, "--out", str(out), "--reps", "500"]) == 0
    assert "reported on 2 results dir(s)" in capsys.readouterr().out
    md, tex = (out / "report.md").read_text(), (out / "report.tex").read_text()
    for label, runs in (("q_learning", 3), ("sarsa-best", 2)):
        assert f"| FrozenLake-misc | {label} | {runs} | " in md  # a per-task row
        assert f"\n| {label} | {runs} x 1 | " in md  # an aggregates row
    assert "\n| q_learning | sarsa-best | " in md  # the probability of improvement
    assert "\n| FrozenLake-misc | " in md and "| 0.744 |" in md  # the scores table
    assert "| sarsa-best (" in md and "| 4 x 2 |" in md  # the sweeps table
    assert r"\begin{tabular}" in tex and r"q\_learning" in tex
    for name in ("aggregates.png", "profiles.png", "improvement.png",
                 "sensitivity-0-sarsa-best-FrozenLake-misc.png"):
        assert (out / name).read_bytes().startswith(PNG_MAGIC)
        assert f"]({name})" in md
    scores = json.loads((out / "scores.json").read_text())["FrozenLake-misc"]
    assert scores["reference"] == 0.744 and 0.0 <= scores["random"] < 0.1  # a random walk rarely arrives

    # The scores file read back: the same numbers without measuring the random policy.
    given = tmp_path / "scores.json"
    given.write_text(json.dumps({"FrozenLake-misc": {"random": scores["random"]}}))
    again = tmp_path / "again"
    assert main(["report", *dirs, "--out", str(again), "--reps", "500", "--scores", str(given)]) == 0
    tables = lambda text: text[text.index("## Final returns per task"):]
    assert tables((again / "report.md").read_text()) == tables(md)


def test_labels_merge_dirs_and_task_bootstrap(results_dirs, tmp_path):
    dirs = [f"{results_dirs / 'q_learning'}:td", f"{results_dirs / 'q_learning'}:td"]
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"FrozenLake-misc": {"random": 0.0}}))
    path = report.write(dirs, tmp_path / "out", scores_file=scores, reps=200, task_bootstrap=True)
    md = path.read_text()
    assert "| FrozenLake-misc | td | 6 | " in md  # 3 + 3 runs under one label (here the same dir twice)
    assert "## Probability of improvement" not in md and not (tmp_path / "out" / "improvement.png").exists()
    # rliable resamples no tasks for P(X > Y); with --task-bootstrap purerl does, and says so.
    assert "except that rliable resamples no tasks for the probability of improvement" in md


def test_a_diverged_run_is_named_and_counted_as_the_random_policy(results_dirs, tmp_path):
    diverged = tmp_path / "diverged"
    shutil.copytree(results_dirs / "q_learning", diverged)
    info = json.loads((diverged / "summary.json").read_text())
    info["final_return"]["per_seed"][1] = float("nan")
    (diverged / "summary.json").write_text(json.dumps(info))
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"FrozenLake-misc": {"random": 0.0}}))
    dirs = [f"{diverged}:a", f"{results_dirs / 'q_learning'}:b"]
    md = report.write(dirs, tmp_path / "out", scores_file=scores, reps=200).read_text()
    assert (f"{diverged}: the final return of seed 1 is not finite (the run diverged); it counts as the "
            "random policy's return, 0 (normalised score 0).") in md
    assert not re.search(r"\bnan\b", md, re.IGNORECASE)  # every aggregate and profile stays finite


def test_unknown_env_needs_a_reference_score():
    spec = JobSpec.create("q_learning", "FrozenLake-misc", total_steps=2000, seeds=[0])
    runs = [Runs("x", "Unknown-env", np.zeros(3), spec, "dir")]
    with pytest.raises(ValueError, match="no reference score for Unknown-env; give one with --scores"):
        task_scores(runs, measure=lambda spec: 0.0)
    scores = task_scores(runs, {"Unknown-env": {"reference": 2.0}}, measure=lambda spec: 0.5)
    assert scores["Unknown-env"]["random"] == 0.5 and scores["Unknown-env"]["reference"] == 2.0
    np.testing.assert_allclose(normalize([0.5, 2.0, 3.5], 0.5, 2.0), [0.0, 1.0, 2.0])


@pytest.mark.parametrize("bad, message", [
    ("missing", "no such results dir"),
    ("empty", "has no config.json: not a results dir"),
    ("scores", "scores file"),
])
def test_report_names_bad_input_and_exits_2(results_dirs, tmp_path, capsys, bad, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "scores.json").write_text("{not json")
    dirs = [str(results_dirs / "q_learning")] + ([] if bad == "scores" else [str(tmp_path / bad)])
    extra = ["--scores", str(tmp_path / "scores.json")] if bad == "scores" else []
    code = main(["report", *dirs, "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("purerl: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
