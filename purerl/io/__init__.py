"""Files a run writes and reads: the results dir's records (config.json, metrics.csv,
summary.json, sweep.csv) and the loggers fed per chunk (CSV, TensorBoard, Weights & Biases).

May import `config` only: reading results never starts JAX.
"""
