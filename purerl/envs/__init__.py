"""Environments: the protocol algorithms see, and one adapter per suite.

Owns `protocol` (`Env`, `Transition`, action bounds), `making` (`make_env` by id for every suite:
env params, the discretiser, sticky actions), one adapter per suite (`gymnax`, `brax`: the suite's
env behind gymnax 1.x's per-env API), `evaluation` (`evaluate`) and `wrappers` (the discretiser).
May import `purerl.config` and `purerl.core`; knows nothing of algorithms or runs.
"""

from purerl.envs.evaluation import evaluate
from purerl.envs.gymnax import BINARY_OBS, check_gymnax, env_param_fields, set_params
from purerl.envs.making import env_names, make_env
from purerl.envs.protocol import Env, Transition, from_bounds, to_bounds
from purerl.envs.wrappers import Discretize

__all__ = ["BINARY_OBS", "Discretize", "Env", "Transition", "check_gymnax", "env_names", "env_param_fields",
           "evaluate", "from_bounds", "make_env", "set_params", "to_bounds"]
