"""Four host CPU devices for the multi-device tests; everything else uses device 0."""

import os

import jax

jax.config.update("jax_num_cpu_devices", 4)

# JAX's persistent compilation cache stays off in tests (each test that needs it names its own dir).
os.environ.setdefault("PURERL_COMPILE_CACHE", "0")
