"""Summary statistics of returns across seeds, as reported in the results table and plots.

- `mean_ci`: a bootstrap confidence interval of the mean (Efron & Tibshirani 1993; scipy's BCa
  interval by default), with a fixed resampling seed so a table is reproducible to the digit.
- `iqm`: the interquartile mean, the mean of the middle 50% of runs, which Agarwal et al. (2021,
  "Deep RL at the edge of the statistical precipice") recommend over the mean and the median for
  few seeds: robust to an outlier seed, yet less noisy than the median.

Both reduce the last axis (the seeds), so `mean_ci(returns)` of a `[seeds]` array gives two
scalars and of an `[evals, seeds]` array two `[evals]` arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

CONFIDENCE = 0.95
RESAMPLES = 9999
SEED = 0  # resampling seed: the same data give the same interval


def mean_ci(
    samples, confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap confidence interval of the mean over the last axis.

    Args:
      samples: [..., n] values, n >= 2 (e.g. one final return per seed).
      confidence: coverage of the interval.
      resamples: bootstrap resamples.
      seed: resampling seed.

    Returns:
      (low, high), each of shape [...]. Where all n values are equal the interval is that value
      (the bootstrap distribution is a point; scipy's BCa would return nan there).
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 samples, got shape {x.shape}")
    flat = x.reshape(-1, x.shape[-1])
    low, high = flat.mean(axis=-1), flat.mean(axis=-1)
    varying = np.ptp(flat, axis=-1) > 0
    if varying.any():
        result = scipy.stats.bootstrap(
            (flat[varying],), np.mean, axis=-1, confidence_level=confidence, n_resamples=resamples,
            rng=np.random.default_rng(seed),
        )
        low[varying], high[varying] = result.confidence_interval
    return low.reshape(x.shape[:-1]), high.reshape(x.shape[:-1])


def iqm(samples) -> np.ndarray:
    """Interquartile mean over the last axis: the mean after trimming 25% from each end.

    Args:
      samples: [..., n] values.
    """
    return np.asarray(scipy.stats.trim_mean(np.asarray(samples, dtype=np.float64), 0.25, axis=-1))
