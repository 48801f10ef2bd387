"""Statistics against hand-computed values: the IQM and the bootstrap interval of the mean."""

import numpy as np
import pytest

from purerl.analysis import stats


def test_iqm_is_the_mean_of_the_middle_half():
    # 8 values: trim 2 from each end, leaving 3, 4, 5, 100 -> 28.
    assert stats.iqm([1, 2, 3, 4, 5, 100, 1000, 10_000]) == pytest.approx(28.0)
    # An outlier seed moves the mean but not the IQM.
    assert stats.iqm([0, 1, 1, 1, 1, 1, 1, 1000]) == pytest.approx(1.0)
    np.testing.assert_allclose(stats.iqm([[1, 2, 3, 4], [10, 20, 30, 40]]), [2.5, 25.0])


def test_bootstrap_interval_holds_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    few, many = rng.normal(5.0, 1.0, 10), rng.normal(5.0, 1.0, 1000)
    low, high = stats.mean_ci(few)
    assert low < few.mean() < high
    low_many, high_many = stats.mean_ci(many)
    assert low_many < many.mean() < high_many
    assert high_many - low_many < (high - low) / 3
    assert stats.mean_ci(few) == stats.mean_ci(few)  # a fixed resampling seed: reproducible


def test_bootstrap_interval_per_row_and_of_constant_data():
    low, high = stats.mean_ci([[500.0, 500.0, 500.0], [1.0, 2.0, 3.0]])
    assert low.shape == high.shape == (2,)
    assert low[0] == high[0] == 500.0  # all seeds equal: the interval is the point
    assert 1.0 <= low[1] < 2.0 < high[1] <= 3.0
    with pytest.raises(ValueError, match="at least 2 samples"):
        stats.mean_ci([1.0])


@pytest.mark.parametrize("call, message", [
    (lambda: stats.aggregate_iqm([1.0, 2.0]), "scores must be \\[..., runs, tasks\\], got shape \\(2,\\)"),
    (lambda: stats.aggregate_mean(np.zeros((0, 3))), "at least one run and one task"),
    (lambda: stats.iqm([]), "needs at least 1 sample"),
    (lambda: stats.probability_of_improvement(np.ones((3, 2)), np.ones((3, 3))),
     "same tasks: X has 2, Y has 3"),
])
def test_estimators_refuse_malformed_scores_in_one_line(call, message):
    with pytest.raises(ValueError, match=message):
        call()
