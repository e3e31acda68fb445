"""Rank correlations against scipy, NaN accounting and bootstrap intervals."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from intrain.analysis.stats import correlate


def test_matches_scipy_and_hand_case():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 3.0, 2.0, 4.0])
    c = correlate(x, y, n_boot=0)
    # 6 pairs, 1 discordant: tau = (5 - 1) / 6
    assert c.kendall == pytest.approx(4 / 6)
    assert c.spearman == pytest.approx(1 - 6 * 2 / (4 * 15))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    c = correlate(a, a + b, n_boot=0)
    assert c.kendall == pytest.approx(sps.kendalltau(a, a + b).statistic)
    assert c.spearman == pytest.approx(sps.spearmanr(a, a + b).statistic)


def test_nonfinite_scores_are_excluded_and_counted():
    x = np.array([1.0, np.nan, 3.0, np.inf, 5.0, 6.0])
    y = np.arange(6.0)
    c = correlate(x, y, n_boot=0)
    assert (c.n, c.n_excluded) == (4, 2)
    assert c.kendall == pytest.approx(1.0)


def test_lower_is_better_flips_the_sign():
    x = np.arange(10.0)
    assert correlate(x, x, higher_is_better=False, n_boot=0).kendall == pytest.approx(-1.0)


def test_bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(1)
    a = rng.normal(size=300)
    b = a + rng.normal(size=300)
    c = correlate(a, b, n_boot=200, seed=3)
    assert c.kendall_lo < c.kendall < c.kendall_hi
    assert c.spearman_lo < c.spearman < c.spearman_hi
    assert c.kendall_hi - c.kendall_lo < 0.2
    again = correlate(a, b, n_boot=200, seed=3)
    assert (again.kendall_lo, again.kendall_hi) == (c.kendall_lo, c.kendall_hi)


def test_too_few_points_give_nan():
    c = correlate(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    assert math.isnan(c.kendall) and c.n == 1


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        correlate(np.zeros(3), np.zeros(4))
