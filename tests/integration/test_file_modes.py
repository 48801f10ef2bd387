"""Results files are written with the user's umask, as any other tool writes files (a team shares
them), though each is written whole to a temporary file first."""

import os
import stat

import pytest

from purerl import experiment
from purerl.config.points import grid
from purerl.config.spec import JobSpec
from purerl.io import records

TINY = {"num_evals": 2, "eval_episodes": 4}


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Sets the umask for the test; the previous one is restored after it."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def test_results_files_get_the_umasks_permissions(tmp_path, umask):
    spec = JobSpec.create("q_learning", "FrozenLake-misc", total_steps=960, settings=TINY, seeds=[0, 1])
    experiment.train(spec, tmp_path / "run")
    experiment.sweep(spec, grid({"lr": [0.05, 0.2]}), tmp_path / "sweep")
    for path in ("run/config.json", "run/metrics.csv", "run/summary.json", "sweep/config.json",
                 "sweep/metrics.csv", "sweep/summary.json", "sweep/sweep.csv"):
        assert mode(tmp_path / path) == 0o644, path
    assert not [p.name for p in tmp_path.rglob(".*")]  # no temporary file left behind

    umask(0o027)
    assert records.umask() == 0o027
    records.write_atomic(tmp_path / "run" / "config.json", "{}\n")
    assert mode(tmp_path / "run" / "config.json") == 0o640
