"""JAX's persistent compilation cache, on by default: a second process compiling the same program
(the same `purerl train` config, a resumed run, the next sweep of the same shapes) reads the
executable from disk instead of compiling it again.

    PURERL_COMPILE_CACHE=0      off (also `--no-compile-cache`)
    PURERL_COMPILE_CACHE=DIR    in DIR
    (unset)                     in $XDG_CACHE_HOME/purerl/jax, else ~/.cache/purerl/jax

A directory the user gave JAX already (`JAX_COMPILATION_CACHE_DIR`, `jax.config`) is kept, unless
the cache is turned off.
Programs that compile in under a second are not stored (JAX's default threshold).
"""

from __future__ import annotations

import os
from pathlib import Path

VARIABLE = "PURERL_COMPILE_CACHE"
OFF = ("0", "off", "false", "no")


def default_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "purerl" / "jax"


def enable(enabled: bool = True) -> str | None:
    """Turns the cache on (unless `enabled` is False or PURERL_COMPILE_CACHE says off); returns its
    directory, or None when it is off. Recorded in every results dir's config.json."""
    import jax

    setting = os.environ.get(VARIABLE, "").strip()
    if not enabled or setting.lower() in OFF:
        jax.config.update("jax_compilation_cache_dir", None)
        return None
    if jax.config.jax_compilation_cache_dir:  # the user's own choice
        return jax.config.jax_compilation_cache_dir
    path = Path(setting).expanduser() if setting else default_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable home: compile as without a cache rather than fail the run
    jax.config.update("jax_compilation_cache_dir", str(path))
    return str(path)


def current() -> str | None:
    """The directory JAX's persistent cache uses now, or None."""
    import jax

    return jax.config.jax_compilation_cache_dir or None
