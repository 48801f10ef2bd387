"""The maths, as small pure JAX functions: returns, losses, distributions, exploration policies,
the replay buffer and the device-parallel layer.

Owns the pieces every algorithm shares. Imports JAX and chex only, nothing else of purerl.
"""
