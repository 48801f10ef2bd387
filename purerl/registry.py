"""The algorithms by name, with their settings, defaults and requirements.

Settings are read off the code, never listed twice: traced settings are the
fields of an algorithm's `HParams`, static settings the keyword-only arguments
of its factory (and the driver's).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from purerl.algos import a3c, ddpg, dqn, reinforce, tabular


class AlgoSpec(NamedTuple):
    make: Callable[..., Any]  # make(env, *, total_steps, **static) -> Algorithm
    hparams: type  # NamedTuple of traced settings with defaults
    default_env: str  # reference env
    default_total_steps: int  # TARGETS.md budget on the reference env
    obs: str  # "discrete" or "any"
    actions: str  # "discrete", "continuous" or "any"
    evaluation: str  # what the reported return measures
    summary: str


ALGORITHMS: dict[str, AlgoSpec] = {
    "q_learning": AlgoSpec(
        tabular.make_q_learning, tabular.HParams, "FrozenLake-misc", 1_000_000,
        "discrete", "discrete", "greedy", "tabular Q-learning (Watkins 1989)",
    ),
    "sarsa": AlgoSpec(
        tabular.make_sarsa, tabular.HParams, "FrozenLake-misc", 1_000_000,
        "discrete", "discrete", "greedy", "tabular SARSA (Rummery & Niranjan 1994)",
    ),
    "dqn": AlgoSpec(
        dqn.make_dqn, dqn.HParams, "CartPole-v1", 500_000,
        "any", "discrete", "greedy", "deep Q-network with replay and a target network (Mnih et al. 2015)",
    ),
    "reinforce": AlgoSpec(
        reinforce.make_reinforce, reinforce.HParams, "CartPole-v1", 2_000_000,
        "any", "discrete", "sampled", "REINFORCE with a learned baseline (Williams 1992)",
    ),
    "a3c": AlgoSpec(
        a3c.make_a3c, a3c.HParams, "CartPole-v1", 500_000,
        "any", "any", "sampled", "synchronous advantage actor-critic over devices (Mnih et al. 2016)",
    ),
    "ddpg": AlgoSpec(
        ddpg.make_ddpg, ddpg.HParams, "Pendulum-v1", 20_000,
        "any", "continuous", "deterministic", "deep deterministic policy gradient (Lillicrap et al. 2016)",
    ),
}

# Driver settings every algorithm takes (static: they set loop lengths and shapes).
DRIVER_SETTINGS = {"num_evals": 20, "eval_episodes": 128}

# Settings whose value must lie in a closed interval, by name.
_BOUNDS = {
    "gamma": (0.0, 1.0),
    "epsilon_start": (0.0, 1.0),
    "epsilon_end": (0.0, 1.0),
    "epsilon_decay": (0.0, 1.0),
    "tau": (0.0, 1.0),
    "gae_lambda": (0.0, 1.0),
}
_POSITIVE = (
    "num_envs", "num_evals", "eval_episodes", "batch_size", "buffer_size", "rollout_len", "devices",
    "target_period", "train_freq",
)


def static_settings(name: str) -> dict[str, Any]:
    """The algorithm's static settings with defaults (factory keyword arguments)."""
    params = inspect.signature(ALGORITHMS[name].make).parameters.values()
    factory = {
        p.name: p.default
        for p in params
        if p.kind is p.KEYWORD_ONLY and p.name != "total_steps"
    }
    return {**factory, **DRIVER_SETTINGS}


def traced_settings(name: str) -> dict[str, Any]:
    """The algorithm's traced (sweepable) settings with defaults."""
    return dict(ALGORITHMS[name].hparams._field_defaults)


def check_value(name: str, value: Any) -> None:
    """Raises ValueError if a setting's value is out of its range."""
    if name in _BOUNDS:
        lo, hi = _BOUNDS[name]
        if not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
        return
    must_be_positive = name.endswith("lr") or name in _POSITIVE
    if must_be_positive and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
        raise ValueError(f"{name} must be positive, got {value!r}")


def split_settings(name: str, settings: dict[str, Any]) -> tuple[dict, dict]:
    """Splits user settings into (static, traced), checking names, types and ranges."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    static_defaults, traced_defaults = static_settings(name), traced_settings(name)
    static, traced = {}, {}
    for key, value in settings.items():
        if key in traced_defaults:
            default = traced_defaults[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} setting {key} takes a number, got {value!r}")
            if isinstance(default, int) and not float(value).is_integer():
                raise ValueError(f"{name} setting {key} takes an integer, got {value!r}")
            traced[key] = value
        elif key in static_defaults:
            default = static_defaults[key]
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ValueError(f"{name} setting {key} takes true or false, got {value!r}")
            if isinstance(default, int) and not isinstance(default, bool) and (
                isinstance(value, bool) or not isinstance(value, int)
            ):
                raise ValueError(f"{name} setting {key} takes an integer, got {value!r}")
            static[key] = value
        else:
            known = ", ".join([*traced_defaults, *static_defaults])
            raise ValueError(f"unknown setting {key!r} for {name}; its settings are: {known}")
        check_value(key, value)
    for key, default in traced_defaults.items():
        check_value(key, traced.get(key, default))
    return static, traced
