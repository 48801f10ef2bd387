"""Four host CPU devices for the multi-device tests; everything else uses device 0."""

import jax

jax.config.update("jax_num_cpu_devices", 4)
