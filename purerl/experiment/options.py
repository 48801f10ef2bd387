"""How an experiment runs and where it reports, as one frozen record: what it trains is its job
spec (and a sweep's points), where its results go is its results dir.

    options = Options(checkpoint_every=5, tensorboard=True, show_progress=True)
    experiment.train(spec, Path("runs/a"), options)

A results dir's config.json records what a continued run must keep (`train_record`, `sweep_record`):
how often it checkpoints, a sweep's points and chunking, a run's W&B run; `continuing` reads that
back over the options a resume is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from purerl.io import loggers as logs


@dataclasses.dataclass(frozen=True)
class Options:
    """How a run or sweep runs; every field has the default of a plain `purerl train`."""

    overwrite: bool = False  # replace the results already in the results dir
    checkpoint_every: int | None = None  # save the whole state every N evaluations (OUT/checkpoints)
    chunk_size: int | None = None  # a sweep's runs per compiled call (default: as many as fit)
    devices: int | None = None  # the devices a sweep's runs split over (default: all)
    tensorboard: bool = False  # also write TensorBoard events to OUT/tb
    wandb: bool = False  # also log to a Weights & Biases run, its files in OUT/wandb
    wandb_project: str | None = None  # its project (default `loggers.WANDB_PROJECT`)
    wandb_id: str | None = None  # the W&B run to continue (a new one if None), recorded in config.json
    loggers: Sequence[logs.Logger] = ()  # fed too, with or without a results dir, and closed at the end
    show_progress: bool = False  # a progress bar and a line saying what runs
    interruptible: bool = False  # the first Ctrl-C stops after the current chunk (`Interrupted`)
    compile_cache: bool = True  # JAX's persistent compilation cache (`purerl.runtime.compile_cache`)
    command: Sequence[str] | None = None  # the command line, recorded as provenance

    def replace(self, **changes: Any) -> Options:
        return dataclasses.replace(self, **changes)

    def train_record(self) -> dict:
        """What config.json records of a train run so that a resume continues it as it started."""
        record = {"kind": "train", "checkpoint_every": self.checkpoint_every, "periods_per_chunk": 1}
        if self.wandb and self.wandb_id is not None:  # a resumed run continues the same W&B run
            record["wandb"] = {"project": self.wandb_project or logs.WANDB_PROJECT, "id": self.wandb_id}
        return record

    def sweep_record(self, points: Sequence[Mapping[str, Any]], swept: dict | None,
                     eval_seeds: int | None) -> dict:
        """What config.json records of a sweep: its points (and how they were made), its chunking."""
        points = [dict(p) for p in points]
        return {"kind": "sweep", "swept": swept or {"points": points}, "points": points,
                "chunk_size": self.chunk_size, "devices": self.devices,
                "checkpoint_every": self.checkpoint_every, "eval_seeds": eval_seeds}

    def continuing(self, record: Mapping[str, Any]) -> Options:
        """These options for a run continued from its config.json `record`: its checkpoint cadence and
        chunking, and its W&B run if it logs to the recorded project (the recorded one unless
        `wandb_project` names another)."""
        recorded = record.get("wandb") or {}
        project = self.wandb_project or recorded.get("project") or logs.WANDB_PROJECT
        return self.replace(checkpoint_every=record.get("checkpoint_every"),
                            chunk_size=record.get("chunk_size"), devices=record.get("devices"),
                            wandb_project=project,
                            wandb_id=recorded.get("id") if project == recorded.get("project") else None)
