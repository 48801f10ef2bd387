"""The results directory: the one module that writes and reads its files.

    DIR/config.json   the job spec, how the run is driven (checkpoints), provenance; written first
    DIR/metrics.csv   one row per evaluation and seed (a sweep: and point), appended after each chunk
    DIR/summary.json  the outcome: final and best returns per seed, divergence, times; written last
    DIR/sweep.csv     a sweep's runs, one row per point and seed
    DIR/checkpoints/  orbax checkpoints (`purerl.runtime.checkpoint`)
    DIR/tb/, DIR/wandb/  TensorBoard events and the Weights & Biases run, if chosen (`purerl.io.loggers`)
    DIR/eval/         a sweep's best point retrained on fresh seeds (`--eval-seeds`): a train results dir

Whole files are written to a temporary name and renamed, so a killed run leaves the old file or
the new one, never half of one, with the permissions of any new file (0o666 less the umask).
metrics.csv grows by appending one chunk's rows in one write; a resumed run first cuts it back to
the rows of the checkpoint it continues from.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from purerl.config.spec import JobSpec

CONFIG, METRICS, SUMMARY, SWEEP = "config.json", "metrics.csv", "summary.json", "sweep.csv"
OUTPUTS = (CONFIG, METRICS, SUMMARY, SWEEP, "checkpoints", "tb", "wandb", "eval")
CONFIG_FORMAT = "purerl.config/1"


_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """This process's umask, read without changing it where the system allows (Linux: /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere the umask is read only by setting it: set it back at once (a file
        # made meanwhile by another thread gets owner-only permissions, never wider ones)
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Writes a file whole or not at all (a killed run leaves the old file), with the permissions
    any new file gets (0o666 less the umask), not the owner-only ones of a temporary file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o666 & ~umask())
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_out(out: Path, overwrite: bool) -> None:
    """Raises ValueError (one line) unless `out` can hold new results: it is new or empty, or
    `overwrite` is set; and it can be created. Leaves nothing behind."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"results dir {out} exists and is not a directory")
    if out.is_dir():
        if any(out.iterdir()) and not overwrite:
            raise ValueError(f"results dir {out} already holds results; pass --overwrite to replace them")
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"cannot write to results dir {out}: permission denied")
        return
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"cannot create results dir {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot create results dir {out}: {parent} is not writable")
    try:  # what a permission check cannot tell (/proc, a read-only mount): a dir made there and removed
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".purerl-check-"))
    except OSError as e:
        raise ValueError(f"cannot create results dir {out}: {e.strerror}") from None


def make_out(out: Path, overwrite: bool) -> None:
    """Creates `out` for new results (checked by `check_out`), removing earlier outputs if `overwrite`."""
    check_out(out, overwrite)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create results dir {out}: {e.strerror}") from None
    for name in OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


# config.json


class Config(NamedTuple):
    spec: JobSpec
    run: dict  # how the run is driven: {"kind": "train" or "sweep", "checkpoint_every", ...}
    provenance: dict  # where and with what it ran: device, versions, command


def write_config(out: Path, spec: JobSpec, run: dict, provenance: dict) -> None:
    record = {"format": CONFIG_FORMAT, "spec": spec.to_dict(), "run": run, "provenance": provenance}
    write_atomic(out / CONFIG, json.dumps(record, indent=2) + "\n")


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist{what}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} cannot be read ({type(e).__name__})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e})") from None


def read_config(out: Path) -> Config:
    """The config.json of results dir `out`. Raises ValueError (one line) if it is missing or unusable."""
    if not (out / CONFIG).is_file():
        raise ValueError(f"{out} has no {CONFIG}: not a results dir written by purerl")
    data = _read_json(out / CONFIG, "")
    if not isinstance(data, dict) or data.get("format") != CONFIG_FORMAT or "spec" not in data:
        raise ValueError(f"{out / CONFIG} is not a purerl config of format {CONFIG_FORMAT!r}")
    spec = JobSpec.from_dict(data["spec"], str(out / CONFIG))
    return Config(spec, dict(data.get("run") or {}), dict(data.get("provenance") or {}))


def read_resumable(out: Path, kind: str) -> Config:
    """The config.json of results dir `out`, which must hold a `kind` ("train" or "sweep") to continue.

    Raises:
      ValueError: one line: not a results dir, an unusable config.json, or one of another kind.
    """
    config = read_config(out)
    found = config.run.get("kind")
    if kind == "train" and found != "train":
        raise ValueError(f"{out} holds a {found}; only a train run can be resumed")
    if kind == "sweep" and (found != "sweep" or "points" not in config.run):
        raise ValueError(f"{out} holds a {found}; `purerl sweep --resume` continues a sweep (one written "
                         "with its points in config.json)")
    return config


def read_spec_file(path: Path) -> JobSpec:
    """The job spec in `path`: a results dir's config.json, or a file holding just a spec."""
    data = _read_json(path, "")
    if isinstance(data, dict) and data.get("format") == CONFIG_FORMAT:
        data = data.get("spec")
    return JobSpec.from_dict(data, str(path))


# summary.json


def write_summary(out: Path, info: dict) -> None:
    write_atomic(out / SUMMARY, json.dumps(info, indent=2) + "\n")


def read_summary(out: Path) -> dict | None:
    """summary.json, or None if the run has not finished."""
    return _read_json(out / SUMMARY, "") if (out / SUMMARY).is_file() else None


# metrics.csv


def metric_columns(names) -> list[str]:
    """The metrics' column order: the evaluation return first, then by name."""
    return ["eval_return", *sorted(n for n in names if n != "eval_return")]


def _number(x) -> str:
    """A number as the shortest text that reads back to the same value (float32 stays float32)."""
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        return str(int(x))
    return str(x[()]) if x.dtype == np.float32 else repr(float(x))


class MetricsLog:
    """A run's metrics.csv: a header, then one row per evaluation and seed, appended per chunk."""

    def __init__(self, path: Path, names, seeds: Sequence[int], steps_per_period: int):
        self.path, self.seeds, self.steps_per_period = path, list(seeds), steps_per_period
        self.columns = metric_columns(names)
        self.header = ",".join(["env_steps", "seed", *self.columns])

    def start(self) -> None:
        """A new file with the header only."""
        write_atomic(self.path, self.header + "\n")

    def resume(self, period: int) -> None:
        """Cuts the file back to the rows of the first `period` evaluations."""
        lines = self.path.read_text().splitlines() if self.path.is_file() else []
        if lines and lines[0] != self.header:
            raise ValueError(f"{self.path} does not have this run's columns {self.header}")
        rows = lines[1 : 1 + period * len(self.seeds)]
        if len(rows) < period * len(self.seeds):
            raise ValueError(f"{self.path} holds fewer rows than the checkpoint at evaluation {period}")
        write_atomic(self.path, "\n".join([self.header, *rows]) + "\n")

    def rows(self, metrics: dict, t: int) -> list[str]:
        """The rows of evaluation `t` (metrics: name -> [seeds, evals])."""
        steps = str(self.steps_per_period * (t + 1))
        return [",".join([steps, str(seed), *(_number(metrics[n][i, t]) for n in self.columns)])
                for i, seed in enumerate(self.seeds)]

    def append(self, metrics: dict, first: int, last: int) -> None:
        """Appends the rows of evaluations [first, last) in one write."""
        lines = [row for t in range(first, last) for row in self.rows(metrics, t)]
        if lines:
            with self.path.open("a") as f:
                f.write("\n".join(lines) + "\n")


class Curves(NamedTuple):
    env_steps: np.ndarray  # [evals] env steps per seed at each evaluation
    seeds: list[int]
    metrics: dict[str, np.ndarray]  # name -> [seeds, evals], float32 (exactly the values written)


def read_metrics(out: Path, point: int | None = None) -> Curves:
    """metrics.csv of a results dir as arrays; for a sweep, the rows of one point.

    Raises:
      ValueError: no such dir or file, or rows missing.
    """
    path = out / METRICS
    if not out.is_dir():
        raise ValueError(f"{out}: no such results dir")
    if not path.is_file():
        raise ValueError(f"{out} has no {METRICS}: not a results dir written by purerl")
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if None not in r.values()]  # a cut-off last line is left out
    if not rows or not {"env_steps", "seed", "eval_return"} <= set(rows[0]):
        raise ValueError(f"{path} has no env_steps, seed and eval_return rows")
    if "point" in rows[0]:
        if point is None:
            raise ValueError(f"{path} is a sweep's: say which point")
        rows = [r for r in rows if int(r["point"]) == point]
    seeds = sorted({int(r["seed"]) for r in rows})
    steps = sorted({int(r["env_steps"]) for r in rows})
    if len(rows) != len(seeds) * len(steps):
        raise ValueError(f"{path} is incomplete: {len(rows)} rows for {len(seeds)} seeds x {len(steps)} "
                         "evaluations")
    names = [n for n in rows[0] if n not in ("point", "seed", "env_steps")]
    metrics = {n: np.full((len(seeds), len(steps)), np.nan, np.float32) for n in names}  # as trained
    for r in rows:
        i, t = seeds.index(int(r["seed"])), steps.index(int(r["env_steps"]))
        for n in names:
            metrics[n][i, t] = float(r[n])
    return Curves(np.asarray(steps), seeds, metrics)


# sweep.csv and a sweep's metrics.csv


def write_sweep(out: Path, runs: list[dict], curves: list[dict]) -> None:
    """sweep.csv (one row per run) and metrics.csv (one row per run and evaluation), each written whole."""
    for name, rows in ((SWEEP, runs), (METRICS, curves)):
        columns = list(rows[0])
        lines = [",".join(columns)]
        lines += [",".join(_cell(row[c]) for c in columns) for row in rows]
        write_atomic(out / name, "\n".join(lines) + "\n")


def _cell(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer, str)):
        return str(value)
    if value is None:
        return ""
    return _number(value)


def read_sweep(out: Path) -> list[dict]:
    """sweep.csv's rows, numbers parsed."""
    path = out / SWEEP
    if not path.is_file():
        raise ValueError(f"{out} has no {SWEEP}: not a sweep's results dir")
    with path.open(newline="") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _parse(text: str):
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)
