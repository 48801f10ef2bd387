"""rliable 1.2.0's own outputs on fixed inputs: the fixture that tests/integration/test_report.py checks
purerl's estimators (`purerl.analysis.stats`) against.

rliable is no dependency of purerl, so this script creates a separate virtual environment
(`.venv-rliable`, from PyPI: rliable 1.2.0 with pandas < 3, which its seaborn import needs) and runs
itself there. The inputs are drawn with a fixed numpy seed and stored in the fixture with rliable's
point estimates and 95% percentile intervals (stratified bootstrap, `REPS` resamples, numpy's global
seed set before every call: rliable 1.2.0 draws its indices from `np.random`):

- IQM, mean, median and optimality gap (also with `task_bootstrap=True`),
- performance profiles (`create_performance_profile`, run-score distributions) at `TAUS`,
- probability of improvement of every pair of algorithms (`StratifiedIndependentBootstrap`).

Cases: `main` (3 algorithms x 5 tasks x 10 runs, some scores above 1), `ties` (scores on a coarse
grid: ties within and between algorithms, and at the taus), `pairs` (identical arrays, one task, and
algorithms with different numbers of runs).

    python experiments/rliable_reference.py     # writes tests/fixtures/rliable_reference.json
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RLIABLE_ENV = ROOT / ".venv-rliable"
RLIABLE_PACKAGES = ["rliable==1.2.0", "pandas<3"]
FIXTURE = ROOT / "tests" / "fixtures" / "rliable_reference.json"
SEED = 2021  # the inputs
BOOTSTRAP_SEED = 0  # numpy's global seed before each rliable call
REPS = 10_000
TAUS = [-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0]


def inputs() -> dict[str, dict[str, list]]:
    """case -> algorithm -> scores [runs, tasks], from a fixed seed."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    main = {
        "a": rng.normal(0.5, 0.3, (10, 5)),
        "b": rng.normal(0.7, 0.4, (10, 5)),
        "c": rng.gamma(2.0, 0.4, (10, 5)),  # skewed, a few runs well above 1
    }
    ties = {
        "a": rng.integers(0, 5, (10, 5)) / 4,  # 0, 0.25, ..., 1: the taus are on the grid
        "b": rng.integers(1, 7, (10, 5)) / 4,
    }
    shared = rng.normal(0.5, 0.2, (6, 3))
    pairs = {
        "a": shared,
        "b": shared.copy(),  # identical to a: P(a > b) = 0.5 exactly
        "c": np.concatenate([shared[:4], rng.normal(0.6, 0.2, (4, 3))]),  # 8 runs against 6
    }
    one_task = {"a": rng.normal(0.4, 0.2, (10, 1)), "b": rng.normal(0.6, 0.2, (10, 1))}
    cases = {"main": main, "ties": ties, "pairs": pairs, "one_task": one_task}
    return {case: {k: v.tolist() for k, v in algos.items()} for case, algos in cases.items()}


def estimates(payload: dict) -> dict:
    """rliable's outputs for every case (runs inside .venv-rliable)."""
    import itertools
    from importlib.metadata import version

    import numpy as np
    from rliable import library as rly
    from rliable import metrics

    def aggregate(x):
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x), metrics.aggregate_median(x),
                         metrics.aggregate_optimality_gap(x)])

    def table(points, intervals):
        return {k: {"point": np.asarray(points[k]).tolist(), "low": np.asarray(intervals[k][0]).tolist(),
                    "high": np.asarray(intervals[k][1]).tolist()} for k in points}

    results = {}
    for case, algos in payload["cases"].items():
        scores = {k: np.asarray(v) for k, v in algos.items()}
        out = {}
        for key, task_bootstrap in (("aggregates", False), ("aggregates_task_bootstrap", True)):
            np.random.seed(BOOTSTRAP_SEED)
            out[key] = table(*rly.get_interval_estimates(scores, aggregate, reps=REPS,
                                                         task_bootstrap=task_bootstrap))
        np.random.seed(BOOTSTRAP_SEED)
        out["profiles"] = table(*rly.create_performance_profile(scores, np.asarray(TAUS), reps=REPS))
        pairs = {f"{x},{y}": (scores[x], scores[y]) for x, y in itertools.permutations(scores, 2)}
        np.random.seed(BOOTSTRAP_SEED)
        out["improvement"] = table(*rly.get_interval_estimates(pairs, metrics.probability_of_improvement,
                                                               reps=REPS))
        results[case] = out
    versions = {name: version(name) for name in ("rliable", "arch", "numpy", "scipy")}
    return {"versions": versions, "results": results}


def ensure_rliable_env() -> Path:
    python = RLIABLE_ENV / "bin" / "python"
    if not python.exists():
        print(f"creating {RLIABLE_ENV} with {' '.join(RLIABLE_PACKAGES)} ...", flush=True)
        venv.create(RLIABLE_ENV, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *RLIABLE_PACKAGES], check=True)
    return python


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":  # inside .venv-rliable: inputs on stdin
        print(json.dumps(estimates(json.loads(sys.stdin.read()))))
        return 0
    payload = {"seed": SEED, "bootstrap_seed": BOOTSTRAP_SEED, "reps": REPS, "confidence": 0.95,
               "taus": TAUS, "cases": inputs()}
    python = ensure_rliable_env()
    done = subprocess.run([python, __file__, "--worker"], input=json.dumps(payload), capture_output=True,
                          text=True, check=True)
    payload |= json.loads(done.stdout.strip().splitlines()[-1])
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {FIXTURE.relative_to(ROOT)} (rliable {payload['versions']['rliable']}, {REPS} resamples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
