"""Summary statistics of returns across seeds, as reported in the results table and plots.

- `mean_ci`: a bootstrap confidence interval of the mean (Efron & Tibshirani 1993; scipy's BCa
  interval by default), with a fixed resampling seed so a table is reproducible to the digit.
- `iqm`: the interquartile mean, the mean of the middle 50% of runs, which Agarwal et al. (2021,
  "Deep RL at the edge of the statistical precipice") recommend over the mean and the median for
  few seeds: robust to an outlier seed, yet less noisy than the median.

Both reduce the last axis (the seeds), so `mean_ci(returns)` of a `[seeds]` array gives two
scalars and of an `[evals, seeds]` array two `[evals]` arrays.

Across tasks, the estimators of Agarwal et al. (2021) as their library rliable 1.2.0 defines them,
on normalised scores `[..., runs, tasks]` (rliable's `score_dict` values; leading axes are batch axes,
so one call evaluates a whole block of bootstrap resamples):

- `aggregate_iqm` (over all runs and tasks), `aggregate_mean` and `aggregate_median` (of the per-task
  means), `optimality_gap` (how far the runs fall short of `gamma`, scores above it clipped);
- `score_distribution`: the performance profile, the fraction of runs with a score above each tau;
- `probability_of_improvement`: P(X > Y) per task, ties counted half (the Mann-Whitney U statistic
  over all pairs of runs), averaged over tasks;
- `stratified_bootstrap` and `interval_estimates`: percentile intervals from resampling the runs
  with replacement within each task (and, with `task_bootstrap`, the tasks too), each array
  independently, like rliable's `StratifiedBootstrap` and `StratifiedIndependentBootstrap`.

tests/integration/test_report.py checks them against rliable's own outputs
(tests/fixtures/rliable_reference.json).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
      samples: [..., n] values, n >= 1.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"an interquartile mean needs at least 1 sample, got shape {x.shape}")
    return np.asarray(scipy.stats.trim_mean(x, 0.25, axis=-1))


# Across tasks: scores [..., runs, tasks] (normalised), reduced over the last two axes.


def as_scores(scores, what: str = "scores") -> np.ndarray:
    """`scores` as a float64 array [..., runs, tasks] with at least one run and one task.

    Raises:
      ValueError: fewer than two axes (a 1-D list of returns is runs of one task: add the task
        axis, scores[:, None]), or no run or no task.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"{what} must be [..., runs, tasks], got shape {x.shape} (one task's runs: "
                         "add the task axis, scores[:, None])")
    if x.shape[-2] == 0 or x.shape[-1] == 0:
        raise ValueError(f"{what} need at least one run and one task, got shape {x.shape}")
    return x


def aggregate_iqm(scores) -> np.ndarray:
    """Interquartile mean over all runs and tasks together (rliable's `aggregate_iqm`).

    Args:
      scores: [..., runs, tasks].
    """
    x = as_scores(scores)
    return iqm(x.reshape(*x.shape[:-2], -1))


def aggregate_mean(scores) -> np.ndarray:
    """Mean over tasks of each task's mean over runs. Args: scores [..., runs, tasks]."""
    return as_scores(scores).mean(axis=-2).mean(axis=-1)


def aggregate_median(scores) -> np.ndarray:
    """Median over tasks of each task's mean over runs. Args: scores [..., runs, tasks]."""
    return np.median(as_scores(scores).mean(axis=-2), axis=-1)


def optimality_gap(scores, gamma: float = 1.0) -> np.ndarray:
    """`gamma` minus the mean over all runs and tasks of min(score, gamma): 0 when every run reaches
    `gamma` (1 on normalised scores: the reference score). Args: scores [..., runs, tasks]."""
    x = as_scores(scores)
    return gamma - np.minimum(x, gamma).mean(axis=(-2, -1))


def aggregates(scores) -> np.ndarray:
    """[..., 4]: IQM, mean, median and optimality gap, in the order of `AGGREGATES`."""
    return np.stack([aggregate_iqm(scores), aggregate_mean(scores), aggregate_median(scores),
                     optimality_gap(scores)], axis=-1)


AGGREGATES = ("IQM", "mean", "median", "optimality gap")


def score_distribution(scores, taus) -> np.ndarray:
    """The performance profile: the fraction of all runs and tasks with a score above each tau
    (strictly, as rliable's `score_distributions`).

    Args:
      scores: [..., runs, tasks].
      taus: [T] thresholds.

    Returns:
      [..., T].
    """
    x = as_scores(scores)
    return (x[..., None] > np.asarray(taus, dtype=np.float64)).mean(axis=(-3, -2))


def probability_of_improvement(scores_x, scores_y) -> np.ndarray:
    """P(X > Y): per task, the probability that a run of X scores above a run of Y, ties counted
    half (the Mann-Whitney U statistic divided by the number of pairs), averaged over tasks.

    Args:
      scores_x: [..., runs_x, tasks].
      scores_y: [..., runs_y, tasks], the same tasks in the same order.
    """
    x, y = as_scores(scores_x, "scores of X"), as_scores(scores_y, "scores of Y")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"P(X > Y) compares the same tasks: X has {x.shape[-1]}, Y has {y.shape[-1]}")
    x, y = x[..., :, None, :], y[..., None, :, :]  # [..., runs_x, 1, tasks], [..., 1, runs_y, tasks]
    wins = (x > y).mean(axis=(-3, -2)) + 0.5 * (x == y).mean(axis=(-3, -2))  # [..., tasks]
    return wins.mean(axis=-1)


def stratified_bootstrap(statistic: Callable[..., np.ndarray], *scores, reps: int = RESAMPLES,
                         seed: int = SEED, task_bootstrap: bool = False,
                         block_elements: int = 1 << 16) -> np.ndarray:
    """Bootstrap replicates of `statistic(*scores)`.

    Each resample draws, for every task, the runs of each array with replacement from that task's
    runs (stratified: every task keeps its number of runs), each array independently. With
    `task_bootstrap` the tasks are drawn with replacement too, the same tasks for every array.

    Args:
      statistic: maps arrays [B, runs, tasks] (one per score array) to [B, ...].
      *scores: score arrays [runs_i, tasks] with the same tasks.
      reps: number of resamples.
      seed: resampling seed.
      task_bootstrap: also resample the tasks.
      block_elements: resampled scores held at once (resamples are drawn in blocks).

    Returns:
      [reps, ...] the statistic of each resample.
    """
    arrays = [np.asarray(s, dtype=np.float64) for s in scores]
    if any(a.ndim != 2 for a in arrays) or len({a.shape[1] for a in arrays}) != 1:
        raise ValueError(f"scores must be [runs, tasks] arrays over the same tasks, got shapes "
                         f"{[a.shape for a in arrays]}")
    tasks = arrays[0].shape[1]
    rng = np.random.default_rng(seed)
    block = max(1, block_elements // sum(a.size for a in arrays))
    out = []
    for start in range(0, reps, block):
        size = min(block, reps - start)
        columns = (rng.integers(0, tasks, (size, 1, tasks)) if task_bootstrap
                   else np.arange(tasks)[None, None, :])
        resampled = [a[rng.integers(0, len(a), (size, *a.shape)), columns] for a in arrays]
        out.append(np.asarray(statistic(*resampled)))
    return np.concatenate(out)


def interval_estimates(
    score_dict: Mapping[str, np.ndarray | tuple[np.ndarray, ...]], statistic: Callable[..., np.ndarray], *,
    reps: int = RESAMPLES, confidence: float = CONFIDENCE, seed: int = SEED, task_bootstrap: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point estimates and stratified-bootstrap percentile intervals, as rliable's `get_interval_estimates`.

    Args:
      score_dict: name -> scores [runs, tasks], or a tuple of such arrays (e.g. the pair (X, Y) of
        `probability_of_improvement`), passed to `statistic` as separate arguments.
      statistic: maps arrays [..., runs, tasks] to [..., ...] (batched over the leading axes).
      reps, confidence, seed, task_bootstrap: see `stratified_bootstrap`; every name is resampled
        with the same seed, so its interval does not depend on the other names in the dict.

    Returns:
      (points, intervals): name -> statistic(scores) of shape S; name -> [2, *S] lower and upper bounds.
    """
    points, intervals = {}, {}
    alpha = 100 * (1 - confidence) / 2
    for name, scores in score_dict.items():
        arrays = scores if isinstance(scores, tuple) else (scores,)
        points[name] = np.asarray(statistic(*arrays))
        replicates = stratified_bootstrap(statistic, *arrays, reps=reps, seed=seed,
                                          task_bootstrap=task_bootstrap)
        intervals[name] = np.percentile(replicates, [alpha, 100 - alpha], axis=0)
    return points, intervals
