"""Statistics, plots and reports over results dirs: bootstrap intervals and the IQM, learning
curves, and `purerl report`'s aggregates, tables and figures.

May import `config`, `io`, and (to measure a random policy) `envs` and `runtime`.
"""
