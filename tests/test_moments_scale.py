"""The row (Gram) side of `covariance_traces` at any magnitude float32 stores: its float32 product
overflowed to inf/nan at |x| ~ 1e19-1e20 and underflowed (15x off) at 1e-23 once it left float64
(issue 30). The reference is the same traces computed in float64 from the same float32 input."""

from __future__ import annotations

import pytest
import torch

from intrain.engine.moments import covariance_traces


def _reference(acts: torch.Tensor) -> list[float]:
    x = acts.double()
    x = x - x.mean(0)
    g = x @ x.t() / x.shape[0]
    return [float(g.trace()), float((g * g).sum())]


@pytest.mark.parametrize("scale", [1.0, 1e19, 1e20, 1e30, 1e-23, 1e-30])
def test_gram_side_traces_match_float64_at_huge_and_tiny_magnitudes(scale):
    acts = (torch.randn(8, 5000, generator=torch.Generator().manual_seed(0)) * scale).float()
    assert torch.isfinite(acts).all() and (acts != 0).any()
    got = covariance_traces(acts)  # 5,000 channels > GRAM_SIDE_CHANNELS, 8 rows: the row side
    tr, tr_sq = got[:2].tolist()
    ref_tr, ref_sq = _reference(acts)
    assert tr == pytest.approx(ref_tr, rel=1e-5) and tr_sq == pytest.approx(ref_sq, rel=1e-5)
    assert got[2].item() == 5000


@pytest.mark.parametrize("scale", [1e19, 1e-23])
def test_forced_row_side_of_a_map_matches_float64(scale):
    maps = (torch.randn(2, 64, 2, 2, generator=torch.Generator().manual_seed(1)) * scale).float()
    rows = maps.permute(0, 2, 3, 1).reshape(-1, 64)
    got = covariance_traces(maps, row_side=True)[:2].tolist()
    assert got == pytest.approx(_reference(rows), rel=1e-5)


def test_scaling_is_exact_at_ordinary_magnitudes():
    """A power-of-two scale moves exponents only: at |x| ~ 1 the traces equal the unscaled float32
    product's bit for bit."""
    acts = torch.randn(8, 5000, generator=torch.Generator().manual_seed(2))
    centred = acts - acts.mean(0, keepdim=True)
    outer = (centred @ centred.t()).double() / 8
    want = torch.stack([torch.diagonal(outer).sum(), (outer * outer).sum()])
    assert torch.equal(covariance_traces(acts)[:2], want)
