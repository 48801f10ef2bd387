"""How a job runs: the driver (`init` then a scan of `update` and evaluations), building a job from
its spec, the compiled chunk programs, checkpoints, the compile cache and the sweep program.

May import `config`, `core`, `envs`, `nets` and `algos`; knows nothing of results dirs or the CLI.
"""
