"""The env suites purerl has adapters for, as plain data (no JAX imported): an env id names its suite
(`brax:hopper`; a bare id is gymnax's), and a suite that is not installed is refused in one line
naming the pip command, before anything is built.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from typing import NamedTuple


class Suite(NamedTuple):
    """An env suite: the package it needs, the extra that installs it, and its adapter module."""

    package: str  # the module imported (and whose version config.json records)
    distribution: str  # the pip distribution of `package`
    extra: str | None  # `pip install 'purerl[EXTRA]'` (None: always installed)
    adapter: str  # the module of `purerl.envs` that adapts it
    example: str  # an env id, for messages


SUITES = {
    "gymnax": Suite("gymnax", "gymnax", None, "purerl.envs.gymnax", "CartPole-v1"),
    "brax": Suite("brax", "brax", "brax", "purerl.envs.brax", "brax:inverted_pendulum"),
}
DEFAULT = "gymnax"  # the suite of a bare env id


def split(env_id: str) -> tuple[str, str]:
    """`(suite, name)` of an env id: "brax:hopper" -> ("brax", "hopper"); a bare id is gymnax's.

    Raises ValueError (one line) for a suite purerl has no adapter for."""
    suite, sep, name = env_id.partition(":")
    if not sep:
        return DEFAULT, env_id
    if suite not in SUITES:
        raise ValueError(f"unknown env suite {suite!r} in {env_id!r}; purerl's suites are: "
                         f"{', '.join(SUITES)} (e.g. {SUITES['brax'].example}; a bare id such as "
                         "CartPole-v1 is gymnax's)")
    if not name:
        raise ValueError(f"env id {env_id!r} names no env of {suite} (e.g. {SUITES[suite].example})")
    return suite, name


def check_installed(suite: str) -> None:
    """Raises ValueError (one line, with the pip command) unless the suite's package is installed."""
    info = SUITES[suite]
    if importlib.util.find_spec(info.package) is None:
        extra = f"pip install 'purerl[{info.extra}]'" if info.extra else f"pip install {info.distribution}"
        raise ValueError(f"{suite} envs need the {info.package} package, which is not installed: {extra}")


def version(suite: str) -> str | None:
    """The installed version of the suite's package (recorded in config.json), or None."""
    try:
        return metadata.version(SUITES[suite].distribution)
    except metadata.PackageNotFoundError:
        return None
