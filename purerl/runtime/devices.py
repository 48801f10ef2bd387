"""The devices this process's JAX starts with: on CPU, one per core, so a sweep's runs split over
the cores. It must run before anything starts a JAX backend (importing gymnax does), so it lives
apart from every module that imports an env suite.
"""

from __future__ import annotations

import contextlib
import os

import jax


def cpu_device_per_core() -> None:
    """On CPU, one JAX device per core, so a sweep's runs split over the cores.

    XLA runs one small-batch RL program on about one core; runs split over host devices run
    side by side. Left alone if XLA_FLAGS sets the count already, or if JAX has started.
    """
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        with contextlib.suppress(RuntimeError):  # JAX is up in this process already: keep its devices
            jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)
