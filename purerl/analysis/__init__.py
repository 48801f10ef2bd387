"""Statistics, plots and reports over results dirs: bootstrap intervals and the IQM, learning
curves, and `purerl report`'s aggregates, tables and figures.

- `stats`: summary statistics and the estimators of Agarwal et al. (2021), as rliable 1.2.0;
- `plot`: learning curves (`purerl plot`);
- `report`: `purerl report`, which writes the report from the modules below:
  `load` (results dirs and --scores files), `scores` (random and reference scores, normalised scores,
  their aggregates and intervals), `tables` (Markdown and LaTeX) and `figures` (PNGs).

May import `config`, `io`, and (to measure a random policy) `envs` and `runtime`.
"""
