"""A sweep's points, as plain data: each point a dict of traced settings and env params by
`env.NAME`, the same for every seed.

    points = grid({"lr": [1e-4, 3e-4, 1e-3], "gamma": [0.98, 0.99]})     # 6 points
    points = random_points({"lr": (1e-4, 1e-2, True)}, 16, seed=0)       # 16, log-uniform
    check("dqn", points, spec.settings)                                  # names and ranges

`check` refuses what no program can sweep (an unknown or static setting, a value out of range)
without building anything, so `purerl sweep` names bad points at once; env params are checked
against the env when the sweep's job is built (`purerl.runtime.sweep`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from purerl.config import registry

ENV = "env."  # a point's names for env params: env.gravity


def grid(axes: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values, the last name varying fastest."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(axes[n] for n in names))]


def random_points(ranges: dict[str, tuple[float, float, bool]], num_points: int, seed: int = 0):
    """`num_points` points drawn uniformly (or log-uniformly where the flag is set) in [lo, hi]."""
    rng = np.random.default_rng(seed)
    columns = {}
    for name, (lo, hi, log) in ranges.items():
        if log and lo <= 0:
            raise ValueError(f"a log range needs lo > 0, got {name}={lo}:{hi}:log")
        u = rng.uniform(size=num_points)
        columns[name] = np.exp(np.log(lo) + u * np.log(hi / lo)) if log else lo + u * (hi - lo)
    return [{n: float(c[i]) for n, c in columns.items()} for i in range(num_points)]


def settings_of(point: Mapping[str, Any]) -> dict[str, Any]:
    """The point's algorithm settings (its names without the `env.` prefix)."""
    return {k: v for k, v in point.items() if not k.startswith(ENV)}


def env_params_of(point: Mapping[str, Any]) -> dict[str, Any]:
    """The point's env params, by their field names (`env.gravity` -> `gravity`)."""
    return {k[len(ENV):]: v for k, v in point.items() if k.startswith(ENV)}


def check_point(algo: str, point: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting of `algo` with the point's over `base`'s, checked; the point must set traced
    settings only.

    Raises:
      ValueError: one line naming an unknown or static setting, or a value out of its range.
    """
    settings = settings_of(point)
    unknown = [k for k in settings if k not in registry.defaults(algo)]
    if unknown:
        registry.resolve(algo, {unknown[0]: None})  # raises: names the unknown setting
    static = [k for k in settings if k not in registry.traced_settings(algo)]
    if static:
        raise ValueError(
            f"{', '.join(static)} of {algo} is static (it sets a shape or a loop length) and cannot be swept "
            "in one program; sweep traced settings only (see `purerl list`) or run one sweep per value"
        )
    return registry.resolve(algo, {**base, **settings})


def check(algo: str, points: Sequence[Mapping[str, Any]], base: Mapping[str, Any]) -> None:
    """`check_point` of every point, over the spec's settings `base`; a sweep needs a point."""
    if not points:
        raise ValueError("a sweep needs at least one point")
    traced = registry.traced_settings(algo)
    for point in points:
        check_point(algo, point, {k: v for k, v in base.items() if k in traced})
