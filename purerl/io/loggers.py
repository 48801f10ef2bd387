"""Where a run's metrics go after every chunk: metrics.csv, TensorBoard, Weights & Biases.

    loggers = [CSV(out / "metrics.csv", names, seeds, steps_per_period), TensorBoard(out / "tb", ...)]
    for logger in loggers:              # after each compiled chunk, on the host
        logger.write(metrics, first, last)
    for logger in loggers:
        logger.close()

A logger is fed by the host loop between compiled chunks (`experiment.train` and `resume`), never
from inside the compiled program, so logging leaves the numbers alone. `write` gets every metric of
the run so far, name -> [seeds, num_evals] (columns from `last` on are not filled yet), and writes
evaluations [first, last); evaluation t is at `steps_per_period * (t + 1)` env steps per seed.

TensorBoard and W&B get the same scalars (`scalars`): `{name}/mean`, each metric's mean over
seeds, and `eval_return/seed_{seed}`, each seed's evaluation return, at step x = env steps per seed.
Both are optional packages; `check` names a missing one in one line before anything is compiled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from purerl.io import records

WANDB_PROJECT = "purerl"


class Logger(Protocol):
    def write(self, metrics: Mapping[str, np.ndarray], first: int, last: int) -> None:
        """Writes evaluations [first, last) of `metrics` (name -> [seeds, num_evals])."""

    def close(self) -> None:
        """Flushes and releases what the logger holds; called once, also when a run stops early."""


def scalars(metrics: Mapping[str, np.ndarray], seeds: Sequence[int], t: int) -> dict[str, float]:
    """The scalars of evaluation `t`: each metric's mean over seeds, and each seed's evaluation return."""
    values = {f"{name}/mean": float(v[:, t].mean()) for name, v in metrics.items()}
    for seed, value in zip(seeds, metrics["eval_return"][:, t]):
        values[f"eval_return/seed_{seed}"] = float(value)
    return values


def check(*, tensorboard: bool = False, wandb: bool = False) -> None:
    """Raises ValueError (one line) if a chosen optional logger's package is not installed."""
    if tensorboard:
        _summary_writer()
    if wandb:
        _wandb()


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ValueError("--tensorboard needs tensorboardX: pip install tensorboardX") from None
    return SummaryWriter


def _wandb():
    try:
        import wandb
    except ImportError:
        raise ValueError("--wandb needs wandb: pip install 'purerl[wandb]'") from None
    return wandb


class CSV:
    """metrics.csv (`records.MetricsLog`): a new file, or one cut back to `resume_at` evaluations."""

    def __init__(self, path: Path, names, seeds: Sequence[int], steps_per_period: int, *,
                 resume_at: int | None = None):
        self.log = records.MetricsLog(path, names, seeds, steps_per_period)
        self.log.start() if resume_at is None else self.log.resume(resume_at)

    def write(self, metrics, first, last):
        self.log.append(metrics, first, last)

    def close(self):
        pass


class TensorBoard:
    """TensorBoard event files in `path` (tensorboardX); a resumed run adds a new file there."""

    def __init__(self, path: Path, seeds: Sequence[int], steps_per_period: int):
        self.writer = _summary_writer()(str(path))
        self.seeds, self.steps_per_period = list(seeds), steps_per_period

    def write(self, metrics, first, last):
        for t in range(first, last):
            step = self.steps_per_period * (t + 1)
            for tag, value in scalars(metrics, self.seeds, t).items():
                self.writer.add_scalar(tag, value, step)
        self.writer.flush()  # a TensorBoard watching the run sees each chunk

    def close(self):
        self.writer.close()


class WandB:
    """A Weights & Biases run with its files under `dir` (dir/wandb/); `run_id` continues that run.

    The run's config is the job spec (`JobSpec.to_dict()`); with WANDB_MODE=offline nothing is sent
    and `wandb sync` uploads the run later.
    """

    def __init__(self, dir: Path, seeds: Sequence[int], steps_per_period: int, *, config: dict,
                 project: str = WANDB_PROJECT, name: str | None = None, run_id: str | None = None):
        wandb = _wandb()
        self.run = wandb.init(project=project, dir=str(dir), config=config, name=name, id=run_id,
                              resume="allow" if run_id is not None else None)
        self.seeds, self.steps_per_period = list(seeds), steps_per_period

    def write(self, metrics, first, last):
        for t in range(first, last):
            self.run.log(scalars(metrics, self.seeds, t), step=self.steps_per_period * (t + 1))

    def close(self):
        self.run.finish()
