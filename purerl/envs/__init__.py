"""Environments: the protocol algorithms see, and one adapter per suite.

Owns `protocol` (`Env`, `Transition`, action bounds), `evaluation` (`evaluate`), `gymnax` (the
gymnax adapter: `make_env` by id, env params, sticky actions) and `wrappers` (the discretiser).
May import `purerl.config` and `purerl.core`; knows nothing of algorithms or runs.
"""

from purerl.envs.evaluation import evaluate
from purerl.envs.gymnax import BINARY_OBS, check_gymnax, env_param_fields, make_env, set_params
from purerl.envs.protocol import Env, Transition, from_bounds, to_bounds
from purerl.envs.wrappers import Discretize

__all__ = ["BINARY_OBS", "Discretize", "Env", "Transition", "check_gymnax", "env_param_fields", "evaluate",
           "from_bounds", "make_env", "set_params", "to_bounds"]
