"""InTrain math against hand-computed cases and invariances."""

import math

import numpy as np
import pytest
import torch

from intrain.core.trainability import EPS, combine, gradient_health, intrain_from_stats, participation_ratio
from intrain.engine.moments import covariance_traces, grad_moments


def pr_of(acts: torch.Tensor) -> float:
    tr, tr_sq, dim = covariance_traces(acts).tolist()
    return float(participation_ratio(tr, tr_sq, dim))


def test_covariance_traces_match_numpy_for_2d():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(500, 6, generator=gen) @ torch.randn(6, 6, generator=gen)
    c = np.cov(a.numpy().astype(np.float64), rowvar=False, bias=True)
    tr, tr_sq, dim = covariance_traces(a).tolist()
    assert tr == pytest.approx(np.trace(c), rel=1e-5)
    assert tr_sq == pytest.approx(np.trace(c @ c), rel=1e-5)
    assert dim == 6


def test_covariance_traces_agree_across_memory_layouts_and_with_numpy():
    # NCHW takes the per-sample Gram path, channels-last the row path: same statistic
    gen = torch.Generator().manual_seed(4)
    a = torch.randn(6, 5, 4, 3, generator=gen) * torch.arange(1.0, 6.0).reshape(1, 5, 1, 1) + 0.5
    rows = a.permute(0, 2, 3, 1).reshape(-1, 5).numpy().astype(np.float64)
    c = np.cov(rows, rowvar=False, bias=True)
    for acts in (a, a.contiguous(memory_format=torch.channels_last)):
        tr, tr_sq, dim = covariance_traces(acts).tolist()
        assert tr == pytest.approx(np.trace(c), rel=1e-5)
        assert tr_sq == pytest.approx(np.trace(c @ c), rel=1e-5)
        assert dim == 5


def test_conv_activations_are_reshaped_to_rows_of_channels():
    gen = torch.Generator().manual_seed(1)
    a = torch.randn(4, 3, 5, 7, generator=gen)
    rows = a.permute(0, 2, 3, 1).reshape(-1, 3).numpy().astype(np.float64)
    c = np.cov(rows, rowvar=False, bias=True)
    tr, tr_sq, _ = covariance_traces(a).tolist()
    assert tr == pytest.approx(np.trace(c), rel=1e-5)
    assert tr_sq == pytest.approx(np.trace(c @ c), rel=1e-5)


def test_hand_computed_diagonal_covariance():
    # eigenvalues 1, 2, 3: PR = (1+2+3)^2 / (1+4+9) = 36/14
    assert participation_ratio(6.0, 14.0, 3.0) == pytest.approx(36 / 14, rel=1e-8)


def test_isotropic_data_has_pr_close_to_dimension():
    gen = torch.Generator().manual_seed(2)
    d = 32
    pr = pr_of(torch.randn(200_000, d, generator=gen))
    assert pr == pytest.approx(d, rel=0.01)
    assert pr <= d


def test_rank_one_data_has_pr_one():
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(1000, 1, generator=gen)
    a = z @ torch.randn(1, 16, generator=gen)
    assert pr_of(a) == pytest.approx(1.0, abs=1e-4)


def test_pr_is_scale_invariant_and_bounded():
    gen = torch.Generator().manual_seed(4)
    a = torch.randn(2000, 8, generator=gen) @ torch.randn(8, 8, generator=gen)
    base = pr_of(a)
    assert 1.0 <= base <= 8.0
    for s in (1e-3, 7.0, 1e3):
        assert pr_of(a * s) == pytest.approx(base, rel=1e-4)


def test_eps_is_added_to_the_covariance():
    # tr(C + eps I) and tr((C + eps I)^2) for C = diag(1, 0): PR = (1+2e)^2 / (1 + 2e + 2e^2)
    e = 0.1
    expected = (1 + 2 * e) ** 2 / ((1 + e) ** 2 + e**2)
    assert participation_ratio(1.0, 1.0, 2.0, eps=e) == pytest.approx(expected)
    assert EPS == 1e-10


def test_collapsed_layer_counts_as_one_dimension():
    # all-zero activations: with eps*I alone PR would be D; the documented rule gives 1.
    tr, tr_sq, dim = covariance_traces(torch.zeros(10, 4, 3, 3)).tolist()
    assert participation_ratio(tr, tr_sq, dim) == 1.0


def test_gradient_health_on_known_vectors():
    # +-1 alternating: std 1, max 1 -> 1
    g = torch.tensor([1.0, -1.0, 1.0, -1.0])
    std, mx = grad_moments(g).tolist()
    assert gradient_health(std, mx) == pytest.approx(1.0)
    # one spike: std = sqrt(E[x^2] - E[x]^2) = sqrt(4 - 1) over max 4
    std, mx = grad_moments(torch.tensor([0.0, 0.0, 0.0, 4.0])).tolist()
    assert gradient_health(std, mx) == pytest.approx(math.sqrt(3) / 4)
    # scale invariance, and zeros -> 0 (no update at all)
    std2, mx2 = grad_moments(torch.tensor([0.0, 0.0, 0.0, 4.0]) * 1e-6).tolist()
    assert gradient_health(std2, mx2) == pytest.approx(math.sqrt(3) / 4)
    assert gradient_health(0.0, 0.0) == 0.0
    # capped at 1
    assert gradient_health(5.0, 1.0) == 1.0


def test_combine_matches_the_paper_formula_and_ablations():
    assert combine(10.0, 3.0, 7) == pytest.approx(10 * 4 / math.log(8))
    assert combine(10.0, 3.0, 7, coupling="additive", depth_norm="none") == 13.0
    assert combine(10.0, 3.0, 7, coupling="gamma", depth_norm="linear") == pytest.approx(10 / 7)
    with pytest.raises(ValueError):
        combine(1.0, 1.0, 1, coupling="nope")


def test_intrain_from_stats_hand_case():
    # two layers with PR 36/14 and 1 (rank one), two params with health 1 and sqrt(3)/4
    out = intrain_from_stats(
        np.array([6.0, 2.0]),
        np.array([14.0, 4.0]),
        np.array([3.0, 5.0]),
        np.array([1.0, math.sqrt(3)]),
        np.array([1.0, 4.0]),
    )
    gamma = math.log(36 / 14) + math.log((2 + 5 * EPS) ** 2 / (4 + 4 * EPS + 5 * EPS**2))
    o = 1 + math.sqrt(3) / 4
    assert out["gamma"] == pytest.approx(gamma)
    assert out["o"] == pytest.approx(o)
    assert out["n_layers"] == 2
    assert out["score"] == pytest.approx(gamma * (1 + o) / math.log(3))


def test_nonfinite_statistics_give_nan_score():
    out = intrain_from_stats(np.array([np.nan]), np.array([1.0]), np.array([2.0]), np.array([1.0]), np.array([1.0]))
    assert math.isnan(out["score"])
