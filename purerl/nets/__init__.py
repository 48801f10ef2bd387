"""Networks by name: observation encoders, torsos and heads (flax linen), and the registry an
algorithm asks for "a Q-network for this env".

May import `purerl.core` and `purerl.envs` (an env's observation and action specs).
"""
