"""Reading what `purerl report` reports on: results dirs (`purerl train` or `purerl sweep`) and
`--scores` files.

A train dir gives its final return per seed. A sweep gives its points (`Sweep`) and counts with its
best point's runs: those retrained on fresh seeds with `--eval-seeds`, else its tuning seeds'.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from purerl.config.spec import JobSpec
from purerl.io import records


class Runs(NamedTuple):
    label: str
    env: str
    returns: np.ndarray  # [runs] final return per seed
    spec: JobSpec
    source: str  # the dir, and for a sweep which point


class Sweep(NamedTuple):
    label: str
    env: str
    path: Path
    settings: list[str]  # the swept settings
    values: dict[str, np.ndarray]  # setting -> [points]
    returns: np.ndarray  # [points, seeds] final returns
    best: int


def parse_dir(arg: str) -> tuple[Path, str | None]:
    """`DIR` or `DIR:LABEL`: an existing path is a dir as written; otherwise the text after the last
    colon is the label."""
    if Path(arg).exists() or ":" not in arg:
        return Path(arg), None
    path, label = arg.rsplit(":", 1)
    if not path or not label:
        raise ValueError(f"give a results dir as DIR or DIR:LABEL, got {arg!r}")
    return Path(path), label


def load(path: Path, label: str | None = None) -> tuple[Runs, Sweep | None]:
    """One results dir's final returns per seed (a sweep's: its best point's) and, for a sweep, its
    points. Raises ValueError (one line) on a dir that is not a finished results dir."""
    if not path.is_dir():
        raise ValueError(f"{path}: no such results dir")
    config = records.read_config(path)
    info = records.read_summary(path)
    if info is None:
        raise ValueError(f"{path} has no {records.SUMMARY}: the run has not finished")
    spec = config.spec
    label = label or spec.algo
    if config.run.get("kind") != "sweep":
        returns = np.asarray(info["final_return"]["per_seed"], dtype=np.float64)
        return Runs(label, spec.env, returns, spec, str(path)), None
    points = info["points"]
    settings = [k for k in points[0] if k not in ("point", "final_return", "diverged")]
    values = {k: np.asarray([p[k] for p in points], dtype=np.float64) for k in settings}
    returns = np.asarray([p["final_return"]["per_seed"] for p in points], dtype=np.float64)
    best = int(info["best"]["point"])
    chosen = ", ".join(f"{k}={values[k][best]:.3g}" for k in settings)
    runs = Runs(label, spec.env, returns[best], spec,
                f"{path} (best of {len(points)} points: {chosen}; its tuning seeds)")
    evaluation = info.get("evaluation")
    if evaluation is not None:  # the best point retrained on fresh seeds: those are the result
        seeds = evaluation["eval_seeds"]
        runs = Runs(label, spec.env, np.asarray(evaluation["final_return"]["per_seed"], dtype=np.float64),
                    JobSpec.from_dict(evaluation["spec"]), f"{path} (best of {len(points)} points: {chosen}; "
                    f"retrained on fresh seeds {seeds[0]}-{seeds[-1]})")
    return runs, Sweep(label, spec.env, path, settings, values, returns, best)


def read_scores(path: Path) -> dict[str, dict[str, float]]:
    """A --scores file: {env: {"random": x, "reference": y}}, either key optional."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"scores file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"scores file {path} cannot be read: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"scores file {path} must hold {{env: {{\"random\": x, \"reference\": y}}}}")
    scores = {}
    for env, entry in data.items():
        if not isinstance(entry, dict) or not set(entry) <= {"random", "reference", "sources"}:
            raise ValueError(f"scores file {path}: {env} must map to {{\"random\": x, \"reference\": y}}")
        try:
            scores[env] = {k: float(v) for k, v in entry.items() if k in ("random", "reference")}
        except (TypeError, ValueError):
            raise ValueError(f"scores file {path}: {env}'s scores must be numbers") from None
    return scores
