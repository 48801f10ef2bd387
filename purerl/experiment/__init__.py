"""Experiments: train a spec into a results dir, resume one, sweep one. The CLI and the scripts
under experiments/ call these; `purerl.io.records` owns the files they write.

    result = experiment.train(spec, Path("runs/a"), Options(checkpoint_every=5))
    result = experiment.resume(Path("runs/a"))
    result = experiment.sweep(spec, grid({"lr": [1e-4, 3e-4]}), Path("runs/s"), Options(checkpoint_every=5),
                              eval_seeds=10)
    result = experiment.resume_sweep(Path("runs/s"))

How each runs and reports is one frozen record, `Options` (`options`). By job:
`training` (`train`), `resuming` (`resume`, `resume_sweep`), `sweeping` (`sweep`), with the
chunk loop that trains and resumes a run in `chunks`, a sweep's tables in `sweep_results` and what
every results dir records of its making in `provenance`. Every entry point turns JAX's persistent
compilation cache on first (`purerl.runtime.compile_cache`; `Options(compile_cache=False)` turns it
off).

Importing this package imports JAX and the env suites, which starts a JAX backend: set devices up
before (`purerl.runtime.devices.cpu_device_per_core`, `jax.distributed.initialize`).
"""

from purerl.experiment.chunks import Interrupted, summarize
from purerl.experiment.options import Options
from purerl.experiment.provenance import provenance
from purerl.experiment.resuming import Finished, resume, resume_sweep
from purerl.experiment.sweeping import eval_spec, sweep
from purerl.experiment.training import train
from purerl.runtime.devices import cpu_device_per_core

__all__ = ["Finished", "Interrupted", "Options", "cpu_device_per_core", "eval_spec", "provenance", "resume",
           "resume_sweep", "summarize", "sweep", "train"]
