"""The algorithms by name. Each module declares its own settings (`settings.Definition`); this
module only collects them and checks values against what they declare.

Adding an algorithm: write `purerl/algos/NAME.py` ending in a `DEFINITION`, and add one line to
`ALGORITHMS` below.
"""

from __future__ import annotations

import inspect
from typing import Any

from purerl import driver
from purerl.algos import a3c, ddpg, dqn, ppo, reinforce, sac, tabular
from purerl.settings import Definition

ALGORITHMS: dict[str, Definition] = {
    "q_learning": tabular.Q_LEARNING,
    "sarsa": tabular.SARSA,
    "dqn": dqn.DEFINITION,
    "reinforce": reinforce.DEFINITION,
    "a3c": a3c.DEFINITION,
    "ddpg": ddpg.DEFINITION,
    "ppo": ppo.DEFINITION,
    "td3": ddpg.TD3,
    "sac": sac.DEFINITION,
}


def definition(name: str) -> Definition:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def static_settings(name: str) -> dict[str, Any]:
    """The algorithm's static settings with defaults: its factory's keyword arguments, then the driver's."""
    params = inspect.signature(definition(name).make).parameters.values()
    factory = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY and p.name != "total_steps"}
    return {**factory, **driver.SETTINGS}


def traced_settings(name: str) -> dict[str, Any]:
    """The algorithm's traced (sweepable) settings with defaults."""
    return dict(definition(name).hparams._field_defaults)


def defaults(name: str) -> dict[str, Any]:
    """Every setting of the algorithm with its default, traced first."""
    return {**traced_settings(name), **static_settings(name)}


def ranges(name: str) -> dict[str, Any]:
    """Every setting's declared range (the driver's included)."""
    return {**definition(name).ranges, **driver.RANGES}


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
