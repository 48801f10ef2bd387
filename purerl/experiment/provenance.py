"""Where and how a result was made (recorded in config.json and summary.json), and which process
of a multi-process runtime writes it."""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from importlib import metadata

import jax

from purerl.config import suites
from purerl.io import records
from purerl.runtime import compile_cache

PACKAGES = ("purerl", "jax", "jaxlib", "gymnax", "flax", "optax", "orbax-checkpoint")


def provenance(command: Sequence[str] | None = None, env_id: str | None = None) -> dict:
    """Where and how a result was made: platform, processes, versions (with the env suite's, for
    `env_id` of a suite beyond gymnax), the command, and the persistent compilation cache used (None:
    compiled without one)."""
    suite = suites.split(env_id)[0] if env_id is not None else suites.DEFAULT
    extra = {} if suite == suites.DEFAULT else {suites.SUITES[suite].distribution: suites.version(suite)}
    return {
        "device": str(jax.devices()[0].platform),
        "device_kind": str(jax.devices()[0].device_kind),
        "device_count": jax.device_count(),
        "processes": jax.process_count(),
        "versions": {p: metadata.version(p) for p in PACKAGES} | extra
        | {"python": platform.python_version()},
        "command": list(command) if command is not None else None,
        "compile_cache": compile_cache.current(),
    }


def lead() -> bool:
    """Whether this is the process that writes and prints (the first one)."""
    return jax.process_index() == 0


def warn_versions(config: records.Config) -> None:
    """Warns (once, on stderr) that a run is continued with other package versions than it started with."""
    was = config.provenance.get("versions")
    now = provenance(env_id=config.spec.env)["versions"]
    if was is not None and was != now and lead():
        print(f"purerl: warning: resuming with versions {now} (the run started with {was}): the result may "
              "differ from an uninterrupted run", file=sys.stderr)
