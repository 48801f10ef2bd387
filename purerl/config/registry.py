"""The algorithms by name. Each declares its own settings (`purerl.config.algorithms`); this module
only collects them and checks values against what they declare. No JAX is imported here.

Adding an algorithm: write `purerl/algos/NAME.py` (its factory), declare its settings in
`purerl/config/algorithms.py`, and add one line to `ALGORITHMS` below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from purerl.config import algorithms
from purerl.config.settings import DRIVER_RANGES, DRIVER_SETTINGS, Definition

ALGORITHMS: dict[str, Definition] = {
    "q_learning": algorithms.Q_LEARNING,
    "sarsa": algorithms.SARSA,
    "dqn": algorithms.DQN,
    "reinforce": algorithms.REINFORCE,
    "a3c": algorithms.A3C,
    "ddpg": algorithms.DDPG,
    "ppo": algorithms.PPO,
    "td3": algorithms.TD3,
    "sac": algorithms.SAC,
}


def definition(name: str) -> Definition:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def factory(name: str) -> Callable[..., Any]:
    """The algorithm's `make(env, *, total_steps, **static)`; its module (and JAX) load here, on first use."""
    module, _, function = definition(name).factory.partition(":")
    return getattr(importlib.import_module(module), function)


def static_settings(name: str) -> dict[str, Any]:
    """The algorithm's static settings with defaults: its `Static`'s, then the driver's."""
    return {**definition(name).static._field_defaults, **DRIVER_SETTINGS}


def traced_settings(name: str) -> dict[str, Any]:
    """The algorithm's traced (sweepable) settings with defaults."""
    return dict(definition(name).hparams._field_defaults)


def defaults(name: str) -> dict[str, Any]:
    """Every setting of the algorithm with its default, traced first."""
    return {**traced_settings(name), **static_settings(name)}


def ranges(name: str) -> dict[str, Any]:
    """Every setting's declared range (the driver's included)."""
    return {**definition(name).ranges, **DRIVER_RANGES}


def check_types(name: str, key: str, value: Any, default: Any) -> None:
    """Raises ValueError unless `value` has the type of the setting's default."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} setting {key} takes true or false, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} setting {key} takes an integer, got {value!r}")
        if not float(value).is_integer():
            raise ValueError(f"{name} setting {key} takes an integer, got {value!r}")
    elif isinstance(default, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{name} setting {key} takes a number, got {value!r}")


def resolve(name: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every setting of the algorithm: the defaults, overridden by `settings`, each checked against
    its declared type and range. Integer settings given as integral floats (1e6) become ints.

    Raises:
      ValueError: an unknown algorithm or setting, or a value of the wrong type or out of range.
    """
    known, bounds = defaults(name), ranges(name)
    resolved = dict(known)
    for key, value in (settings or {}).items():
        if key not in known:
            raise ValueError(f"unknown setting {key!r} for {name}; its settings are: {', '.join(known)}")
        default = known[key]
        check_types(name, key, value, default)
        if isinstance(default, int) and not isinstance(default, bool):
            value = int(value)
        elif isinstance(default, float):
            value = float(value)
        elif isinstance(default, (tuple, list)) and isinstance(value, list):
            value = tuple(value)
        resolved[key] = value
    for key, value in resolved.items():
        if key in bounds:
            bounds[key].check(key, value)
    return resolved


def split(name: str, settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resolved settings as (static, traced)."""
    traced = traced_settings(name)
    return ({k: v for k, v in settings.items() if k not in traced},
            {k: v for k, v in settings.items() if k in traced})
