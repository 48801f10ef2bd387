"""purerl: reinforcement learning where a whole training run is one JAX program.

The names below load on first use, so `import purerl.cli` starts no JAX
backend before `jax.distributed.initialize` (importing gymnax does).
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Algorithm": "purerl.algos.base", "Trainer": "purerl.runtime.driver",
    "make_trainer": "purerl.runtime.driver", "to_hparams": "purerl.runtime.driver",
    "Env": "purerl.envs", "make_env": "purerl.envs", "Job": "purerl.runtime.run",
    "Result": "purerl.runtime.run", "build": "purerl.runtime.run", "prepare": "purerl.runtime.run",
    "train": "purerl.runtime.run", "JobSpec": "purerl.config.spec",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'purerl' has no attribute {name!r}")
