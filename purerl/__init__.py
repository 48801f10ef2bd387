"""purerl: reinforcement learning where a whole training run is one JAX program."""

from purerl.driver import Algorithm, Trainer, make_trainer, to_hparams
from purerl.envs import Env, make_env
from purerl.run import Job, Result, prepare, train

__version__ = "0.1.0"

__all__ = [
    "Algorithm", "Env", "Job", "Result", "Trainer",
    "make_env", "make_trainer", "prepare", "to_hparams", "train", "__version__",
]
