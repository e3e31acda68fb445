"""Issue 31: the heavy proxies' fast paths give the old paths' values; issue 29: TE-NAS on a downsampling stem.

Tolerances (stated once, used below): VKDNW's decile entropy within 1e-5 relative (the two paths
sum the same float32 products in another order; measured differences are ~1e-7), GraSP within
1e-6 relative (the same operations; the second forward only recomputed the loss). Ranking: every
pair of networks whose old values differ by more than the tolerance keeps its order.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import jacrev, vmap

from intrain.core.records import ScoreSettings
from intrain.engine.functional import Unsupported, first_entry_jacobian
from intrain.proxies import gradient, load_all, vkdnw
from intrain.proxies.base import PassContext
from intrain.proxies.kernel import linear_region_side, linear_regions_pass
from intrain.scoring.scorer import Scorer
from intrain.spaces.nb201.encoding import all_cells

VKDNW_REL = 1e-5
GRASP_REL = 1e-6
N_CELLS = 20


def _cells(n: int = N_CELLS, seed: int = 31) -> list[str]:
    cells = [c.to_str() for c in all_cells()]
    return [cells[i] for i in np.random.default_rng(seed).choice(len(cells), n, replace=False)]


def _same_order(old: list[float], new: list[float], rel: float) -> bool:
    """Every pair that the old values separate by more than ``rel`` keeps its order in the new ones."""
    scale = max(abs(v) for v in old) or 1.0
    return all(
        np.sign(new[i] - new[j]) == np.sign(old[i] - old[j])
        for i, j in itertools.combinations(range(len(old)), 2)
        if abs(old[i] - old[j]) > rel * scale
    )


def _scores(proxy: str, protocol: str, module, switch: str, value: bool) -> list[float]:
    load_all()
    settings = ScoreSettings(batch_size=4, resolution=8, proxies=(proxy,), protocol=protocol)
    scorer = Scorer("nb201", "cifar10", settings, device="cpu")
    old = getattr(module, switch)
    setattr(module, switch, value)
    try:
        return [
            scorer.score(i, arch).proxies[proxy]["entropy" if proxy == "vkdnw" else "score"]
            for i, arch in enumerate(_cells())
        ]
    finally:
        setattr(module, switch, old)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["uniform", "reference"])
def test_vkdnw_fast_path_equals_torch_func_on_20_cells(protocol):
    old = _scores("vkdnw", protocol, vkdnw, "FAST", False)
    new = _scores("vkdnw", protocol, vkdnw, "FAST", True)
    assert new == pytest.approx(old, rel=VKDNW_REL)
    assert _same_order(old, new, VKDNW_REL)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["uniform", "reference"])
def test_grasp_one_forward_equals_two_forwards_on_20_cells(protocol):
    old = _scores("grasp", protocol, gradient, "GRASP_ONE_FORWARD", False)
    new = _scores("grasp", protocol, gradient, "GRASP_ONE_FORWARD", True)
    assert new == pytest.approx(old, rel=GRASP_REL)
    assert _same_order(old, new, GRASP_REL)


class _Mixed(nn.Module):
    """Strided, padded, biased conv; BN; a linear on a 3-d input (middle dimension summed); a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, stride=2, padding=(1, 2), bias=True)
        self.bn = nn.BatchNorm2d(3)
        self.mid = nn.Linear(4, 5)
        self.fc = nn.Linear(3 * 6 * 5, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x)))  # (B, 3, 4, 6)
        h = self.mid(h.transpose(2, 3))  # linear over the last dimension of a 4-d tensor: (B, 3, 6, 5)
        return self.fc(torch.tanh(h).flatten(1))


def _func_jacobian(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    params = {k: p.detach() for k, p in model.named_parameters()}
    buffers = dict(model.named_buffers())
    names = list(params)

    def logits_of(delta: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        shifted = {}
        for i, k in enumerate(names):
            bump = torch.zeros_like(params[k]).reshape(-1)
            bump[0] = 1.0
            shifted[k] = params[k] + delta[i] * bump.reshape(params[k].shape)
        return torch.func.functional_call(model, {**shifted, **buffers}, (xb[None],))[0]

    return vmap(jacrev(logits_of), in_dims=(None, 0))(torch.zeros(len(names)), x)


def test_first_entry_jacobian_matches_jacrev_on_every_rule():
    torch.manual_seed(0)
    model = _Mixed()
    mean, var = model.bn.running_mean, model.bn.running_var
    assert mean is not None and var is not None
    with torch.no_grad():  # non-trivial running statistics and affine terms
        mean.uniform_(-1, 1)
        var.uniform_(0.5, 2)
        model.bn.weight.uniform_(0.5, 2)
        model.bn.bias.uniform_(-1, 1)
    model.eval()
    x = torch.randn(6, 2, 7, 9)
    jac, logits = first_entry_jacobian(model, x)
    assert torch.allclose(logits, model(x))
    assert torch.allclose(jac, _func_jacobian(model, x), rtol=1e-4, atol=1e-6)


def test_first_entry_jacobian_refuses_what_it_does_not_model():
    ln = nn.Sequential(nn.Flatten(), nn.LayerNorm(4), nn.Linear(4, 2)).eval()
    with pytest.raises(Unsupported, match="LayerNorm"):
        first_entry_jacobian(ln, torch.randn(3, 4))
    lin = nn.Linear(4, 2)
    with pytest.raises(Unsupported, match="train mode"):
        first_entry_jacobian(lin.train(), torch.randn(3, 4))
    twice = nn.Linear(3, 3).eval()
    with pytest.raises(Unsupported, match="called twice"):
        first_entry_jacobian(nn.Sequential(twice, twice).eval(), torch.randn(2, 3))


class _DownsamplingStem(nn.Module):
    """A stride-2 conv and an unpadded stride-2 pool: 4x4 -> 2x2 -> nothing (torch's "output size is too small")."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2))
        self.head = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stem(x))


def test_tenas_linear_regions_on_a_downsampling_stem():
    with pytest.raises(RuntimeError):  # the crash of issue 29, at TE-NAS's 4x4 side
        _DownsamplingStem()(torch.zeros(2, 3, 4, 4))
    x, y = torch.randn(4, 3, 32, 32), torch.zeros(4, dtype=torch.long)
    ctx = PassContext(build=_DownsamplingStem, x=x, y=y, num_classes=2, seed=0, options={"lr_samples": 50})
    side = linear_region_side(_DownsamplingStem(), x, 4)
    assert side == 5  # 5 -> 3 -> 1: the smallest side this stem accepts
    regions = linear_regions_pass(ctx)["regions"]
    assert 1 <= regions <= 50


def test_linear_region_side_keeps_a_side_that_runs_and_words_a_network_that_runs_on_none():
    assert linear_region_side(_DownsamplingStem(), torch.zeros(1, 3, 8, 8), 6) == 6
    never = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(7, 2))  # fits no square side
    with pytest.raises(ValueError, match="scoring.lr_resolution"):
        linear_region_side(never, torch.zeros(1, 3, 8, 8), 4)
