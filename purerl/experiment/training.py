"""`train`: a job spec's seeds trained into a results dir (config.json first, then metrics.csv after
every chunk, summary.json last), everything checked before anything is compiled."""

from __future__ import annotations

import uuid
from pathlib import Path

from purerl.config.spec import JobSpec
from purerl.experiment import chunks
from purerl.experiment.options import Options
from purerl.experiment.provenance import provenance
from purerl.io import loggers as logs
from purerl.io import records
from purerl.runtime import compile_cache, processes, run


def train(spec: JobSpec, out: Path | None = None, options: Options | None = None) -> run.Result:
    """Trains the spec's seeds; with `out`, into that results dir. Returns the `run.Result`.

    With `out`, metrics.csv is written after every chunk and, with `options.checkpoint_every`, the
    whole state every that many evaluations; `options.tensorboard` adds OUT/tb and `options.wandb` a
    Weights & Biases run with its files in OUT/wandb. `options.loggers` are fed too, with or without
    `out`, and closed at the end. Everything is checked (spec, env, results dir, optional packages)
    before anything is compiled.

    Raises:
      ValueError: one line naming the problem.
      Interrupted: Ctrl-C (with `options.interruptible`); the results so far and a checkpoint are kept.
    """
    options = options or Options()
    if options.checkpoint_every is not None and options.checkpoint_every <= 0:
        raise ValueError(f"--checkpoint-every must be positive, got {options.checkpoint_every}")
    compile_cache.enable(options.compile_cache)
    job = run.build(spec)
    logs.check(tensorboard=options.tensorboard, wandb=options.wandb)
    if options.wandb and out is not None and options.wandb_id is None:
        options = options.replace(wandb_id=uuid.uuid4().hex[:12])  # recorded: a resume continues it
    if out is not None:  # by the first process alone, the others told its outcome
        processes.decide("results dir", lambda: start_out(out, spec, options.train_record(), options))
    return chunks.run_job(job, out, options)


def start_out(out: Path, spec: JobSpec, record: dict, options: Options) -> None:
    """Checks and creates the results dir `out` and writes its config.json (the first process's job)."""
    records.make_out(out, options.overwrite)
    records.write_config(out, spec, record, provenance(options.command, spec.env))
