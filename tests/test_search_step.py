"""The cheap search step: InTrain scores of Zen-NAS networks and a seeded search's history are
those of the code before the covariance traces were made cheap (issue 30).

The reference is `_traces_before`, a frozen copy of ``intrain.engine.moments.covariance_traces``
as it was (per-sample ``bmm`` Gram sums for every contiguous NCHW map, the (D x D) side up to
4096 channels), patched into the probe for the "before" run; nothing is a stored number.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from intrain.core.records import ScoreSettings
from intrain.engine import moments, probe
from intrain.engine.moments import rows_of
from intrain.search.evolution import evolve
from intrain.search.problems import ProxyScore
from intrain.spaces.zennas.mutation import INITIAL, ZenSearch
from intrain.spaces.zennas.published_structures import PUBLISHED

#: Scores agree to float32 rounding of the Gram products (observed: ~1e-9 relative at B = 64, 64x64).
RTOL = 1e-6
#: Small enough for a test, large enough that the last maps are 1x1 (2048 channels over 8 rows:
#: the Gram side) and the body's 2x2 maps are wider than H*W (one GEMM): both new paths run.
SETTINGS = ScoreSettings(batch_size=8, resolution=32, seed=0, proxies=("intrain",))


def _traces_before(acts: torch.Tensor, channel_dim: int = 1, row_side: bool | None = None) -> torch.Tensor:
    """``covariance_traces`` before issue 30 (intrain/engine/moments.py at f782b40), kept verbatim."""
    d = acts.shape[channel_dim]
    if row_side is None:
        row_side = d > moments.GRAM_SIDE_CHANNELS and acts.numel() // d < d
    if not row_side and channel_dim in (1, 1 - acts.dim()) and acts.dim() == 4 and acts.is_contiguous():
        blocks = acts.detach().reshape(acts.shape[0], acts.shape[1], -1).float()
        m = blocks.shape[0] * blocks.shape[2]
        mean = (blocks.sum(dim=(0, 2)) / m).unsqueeze(0)
        gram = torch.bmm(blocks, blocks.transpose(1, 2)).sum(0) / m
    else:
        if acts.dim() == 4 and channel_dim in (1, -3):
            rows = acts.detach().permute(0, 2, 3, 1).reshape(-1, acts.shape[1])
        elif acts.dim() == 2:
            rows = acts.detach()
        else:
            rows = rows_of(acts.detach(), channel_dim)
        rows = rows.float()
        m = rows.shape[0]
        mean = rows.mean(dim=0, keepdim=True)
        if row_side:
            centred = (rows - mean).double()
            outer = centred @ centred.t() / m
            dim = torch.tensor(float(d), dtype=torch.float64, device=rows.device)
            return torch.stack([torch.diagonal(outer).sum(), (outer * outer).sum(), dim])
        gram = rows.t() @ rows / m
    cov = (gram - mean.t() @ mean).double()
    tr = torch.diagonal(cov).sum()
    tr_sq = (cov * cov).sum()
    dim = torch.tensor(float(cov.shape[0]), dtype=torch.float64, device=cov.device)
    return torch.stack([tr, tr_sq, dim])


@pytest.fixture
def before(monkeypatch):
    """Run the probe with the frozen traces inside the ``with`` block."""

    class Before:
        def __enter__(self):
            assert probe.covariance_traces is moments.covariance_traces  # the probe reads the engine's function
            monkeypatch.setattr(probe, "covariance_traces", _traces_before)

        def __exit__(self, *exc):
            monkeypatch.setattr(probe, "covariance_traces", moments.covariance_traces)

    return Before()


def _structures() -> list[str]:
    """The 9 published networks, the search start, and 4 seeded children (13 structures)."""
    out = [p.structure for p in PUBLISHED.values()] + [INITIAL]
    for budget, parent, seed in ((450e6, INITIAL, 1), (450e6, INITIAL, 2), (1e9, PUBLISHED["zico_1G"].structure, 3)):
        out.append(ZenSearch(budget).mutate(parent, np.random.default_rng(seed)))
    out.append(ZenSearch(600e6).mutate(PUBLISHED["zico_600M"].structure, np.random.default_rng(4)))
    return list(dict.fromkeys(out))


def test_cheap_traces_agree_on_every_path_for_maps():
    gen = torch.Generator().manual_seed(0)
    # Gram side (m < D), Gram side, per-sample products (D <= HW), one GEMM (HW < D <= m)
    for shape in [(8, 2048, 1, 1), (8, 384, 2, 2), (4, 32, 8, 8), (64, 384, 4, 4)]:
        acts = torch.randn(*shape, generator=gen) * 0.5 + 0.3
        np.testing.assert_allclose(moments.covariance_traces(acts).numpy(), _traces_before(acts).numpy(), rtol=RTOL)


def test_cheap_step_scores_and_ranking_equal_the_previous_path(before):
    archs = _structures()
    assert len(archs) >= 10
    new = [ProxyScore("zennas", "imagenet", SETTINGS)(a) for a in archs]
    with before:
        old = [ProxyScore("zennas", "imagenet", SETTINGS)(a) for a in archs]
    assert all(np.isfinite(new)) and len(set(new)) == len(new)
    np.testing.assert_allclose(new, old, rtol=RTOL)
    assert np.argsort(new, kind="stable").tolist() == np.argsort(old, kind="stable").tolist()


def test_short_seeded_search_history_is_unchanged(before):
    def run():
        return evolve(ZenSearch(450e6), ProxyScore("zennas", "imagenet", SETTINGS), iterations=14, k=3, seed=5).history

    new = run()
    with before:
        old = run()
    assert new["arch"].nunique() > 5  # the search moved: the comparison covers several networks
    cols = [c for c in new.columns if c != "score"]
    assert new[cols].equals(old[cols])  # same children, same order, same cache hits
    np.testing.assert_allclose(new["score"], old["score"], rtol=RTOL)
