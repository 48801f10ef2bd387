"""The vocabulary of settings: ranges a value is checked against, and `Definition`, what an
algorithm declares about itself (`purerl.config.algorithms` holds one per algorithm).

Static settings are the fields of a definition's `Static` NamedTuple (they set shapes or loop
lengths); traced ones the fields of its `HParams`. `ranges` names every one of both. The registry
checks each value against its range before anything is built. Plain Python: no JAX.
"""

from __future__ import annotations

import collections
import math
from typing import Any, NamedTuple


class Range(NamedTuple):
    """A closed (or, where flagged, open) interval of numbers."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"{name} takes a number, got {value!r}")
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        if not (above and below):
            raise ValueError(f"{name} must be {self.describe()}, got {value!r}")

    def describe(self) -> str:
        if (self.low, self.low_open, self.high) == (0, True, math.inf):
            return "positive"
        if (self.low, self.low_open, self.high) == (0, False, math.inf):
            return "non-negative"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"


class OneOf(NamedTuple):
    """One of a few named choices."""

    choices: tuple

    def check(self, name: str, value: Any) -> None:
        if value not in self.choices:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, self.choices))}, got {value!r}")

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.choices))


class Sizes(NamedTuple):
    """A non-empty list of positive integers (hidden layer sizes)."""

    def check(self, name: str, value: Any) -> None:
        ok = isinstance(value, (list, tuple)) and len(value) > 0 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        if not ok:
            raise ValueError(f"{name} takes a non-empty list of positive integers, e.g. [64, 64], "
                             f"got {value!r}")

    def describe(self) -> str:
        return "positive integers"


class Flag(NamedTuple):
    """true or false."""

    def check(self, name: str, value: Any) -> None:
        if not isinstance(value, bool):
            raise ValueError(f"{name} takes true or false, got {value!r}")

    def describe(self) -> str:
        return "true or false"


POSITIVE = Range(0, math.inf, low_open=True)
NON_NEGATIVE = Range(0, math.inf)
UNIT = Range(0.0, 1.0)  # probabilities, discounts, fractions
SIZES = Sizes()
FLAG = Flag()


def one_of(*choices) -> OneOf:
    return OneOf(tuple(choices))


NETWORK = one_of("auto", "mlp", "table", "cnn")  # `purerl.nets.NETWORKS` by name; "auto" lets it choose

# The driver's own settings, static (they set loop lengths and shapes), taken by every algorithm.
DRIVER_SETTINGS = {"num_evals": 20, "eval_episodes": 128}
DRIVER_RANGES = {"num_evals": POSITIVE, "eval_episodes": POSITIVE}


def with_defaults(hparams: type, name: str, **defaults: Any) -> type:
    """A copy of an HParams (or Static) NamedTuple class with other defaults: a variant's settings.

    The fields, their order and their types stay those of `hparams`, so the variant's functions
    take either; only what `registry` and `driver.to_hparams` read as defaults changes.
    """
    unknown = set(defaults) - set(hparams._fields)
    if unknown:
        raise ValueError(f"{name}: {hparams.__name__} has no fields {', '.join(sorted(unknown))}")
    for key, value in defaults.items():
        if type(value) is not type(hparams._field_defaults[key]):
            raise ValueError(f"{name}: {key} must keep the type of {hparams._field_defaults[key]!r}")
    merged = {**hparams._field_defaults, **defaults}
    cls = collections.namedtuple(name, hparams._fields, defaults=[merged[f] for f in hparams._fields])
    cls.__annotations__ = dict(hparams.__annotations__)
    cls.__module__ = hparams.__module__
    return cls


class Definition(NamedTuple):
    """An algorithm as the registry knows it."""

    factory: str  # "module:function" of make(env, *, total_steps, **static) -> algos.base.Algorithm
    hparams: type  # NamedTuple of traced settings with defaults
    static: type  # NamedTuple of static settings with defaults
    ranges: dict[str, Any]  # every setting (static and traced) -> Range, OneOf, Sizes or Flag
    obs: str  # observations it takes: "discrete" (tabular) or "any"
    actions: str  # "discrete", "continuous" or "any"
    default_env: str  # reference env
    default_total_steps: int  # the budget of its learning target on the reference env
    evaluation: str  # the policy the reported return measures: greedy, sampled or deterministic
    summary: str  # one line for `purerl list`
    table_network: bool = False  # network "auto" picks a table on discrete observations
