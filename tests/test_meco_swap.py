"""The MeCo, MeCo_opt and SWAP proxies on hand-computed networks, their invariances, non-finite
inputs, and the reference protocol against a literal transcription of the authors' formulas."""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
import torch
from torch import nn

from intrain.core.records import ScoreSettings
from intrain.engine.probe import run_probe
from intrain.proxies import get_proxy
from intrain.proxies.base import gaussian_init, seeded_generator
from intrain.proxies.meco import MecoAccumulator, min_correlation_eigenvalue
from intrain.proxies.swap import PatternCounter, Swap, count_distinct, pattern_codes, regular_factor
from intrain.scoring.scorer import Scorer, plan
from intrain.spaces import get_space

# ρ(a, b) = 0.8 for a = (1, 2, 3, 4), b = (1, 3, 2, 4): deviations (-1.5, -.5, .5, 1.5) and
# (-1.5, .5, -.5, 1.5), covariance sum 4, variance sums 5 and 5. [[1, ρ], [ρ, 1]] has eigenvalues 1 ± ρ.
A, B = [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]
RHO = 0.8


def _identity_net() -> nn.Sequential:
    """Conv 1x1 (2 -> 2) with identity weights, then ReLU: every module outputs its input."""
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).reshape(2, 2, 1, 1))
    return nn.Sequential(conv, nn.ReLU())


def _meco(model: nn.Module, x: torch.Tensor, seed: int = 0) -> dict[str, float]:
    acc = MecoAccumulator(model, torch.Generator().manual_seed(seed))
    try:
        with torch.no_grad():
            model(x)
    finally:
        acc.remove()
    return acc.result()


# ----------------------------------------------------------------------------- MeCo by hand


def test_min_eigenvalue_of_a_two_channel_correlation_by_hand():
    assert min_correlation_eigenvalue(torch.tensor([A, B])) == pytest.approx(1 - RHO)
    # perfectly (anti-)correlated channels: eigenvalues 0 and 2
    assert min_correlation_eigenvalue(torch.tensor([A, [-v for v in A]])) == pytest.approx(0.0, abs=1e-12)


def test_meco_sums_every_module_and_reads_only_the_first_sample():
    # sample 0: channels A and B on a 2x2 map (all positive, so the ReLU passes them unchanged);
    # modules: the Sequential, the conv and the ReLU, each outputs (A, B): 3 x (1 - ρ)
    x = torch.tensor([[A, B], [[5.0, -1.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]]]).reshape(2, 2, 2, 2)
    r = _meco(_identity_net(), x)
    assert r["modules"] == 3
    assert r["meco"] == pytest.approx(3 * (1 - RHO))
    # two channels (< 8): MeCo_opt reads both, factor 2/2
    assert r["meco_opt"] == pytest.approx(3 * (1 - RHO))
    # the second sample is never read
    x2 = x.clone()
    x2[1] = torch.randn(2, 2, 2)
    assert _meco(_identity_net(), x2)["meco"] == pytest.approx(r["meco"])


def test_meco_constant_and_infinite_channels_count_zero_not_nan():
    # a constant third channel: its correlations are NaN -> 0, so the matrix has a zero row and
    # column, and its smallest eigenvalue is exactly 0
    rows = torch.tensor([A, B, [2.0, 2.0, 2.0, 2.0]])
    assert min_correlation_eigenvalue(rows) == 0.0
    rows = torch.tensor([A, B, [1.0, math.inf, 0.0, 2.0]])  # an inf makes that channel's entries NaN
    assert min_correlation_eigenvalue(rows) == 0.0
    # non-finite module terms are dropped from the sum (the authors drop NaN and inf)
    acc = MecoAccumulator(nn.Identity(), torch.Generator())
    acc.meco += [0.5, math.nan, math.inf, 0.25]
    acc.meco_opt += [math.nan]
    acc.remove()
    assert acc.result()["meco"] == 0.75 and acc.result()["meco_opt"] == 0.0


def test_meco_opt_rescales_a_random_eight_channel_subset():
    torch.manual_seed(0)
    fea = torch.randn(1, 20, 5, 5)
    r = _meco(nn.Identity(), fea, seed=4)  # one module: the identity, 20 channels
    idx = torch.randperm(20, generator=torch.Generator().manual_seed(4))[:8]
    rows = fea[0].reshape(20, -1)
    assert r["meco_opt"] == pytest.approx(min_correlation_eigenvalue(rows[idx]) * 20 / 8)
    assert r["meco"] == pytest.approx(min_correlation_eigenvalue(rows))
    # 20 channels over 25 positions: nearly full rank, the minimum eigenvalue is small but positive
    assert 0 < r["meco"] < 1


def test_meco_is_invariant_to_permuting_channels():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1))
    perm = torch.randperm(8)
    permuted = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 6, 3, padding=1))
    with torch.no_grad():  # the same function with conv1's output channels (and conv2's inputs) reordered
        permuted[0].weight.copy_(net[0].weight[perm])
        permuted[0].bias.copy_(net[0].bias[perm])
        permuted[2].weight.copy_(net[2].weight[:, perm])
        permuted[2].bias.copy_(net[2].bias)
    x = torch.randn(2, 3, 6, 6)
    a, b = _meco(net, x), _meco(permuted, x)
    assert torch.allclose(net(x), permuted(x), atol=1e-5)
    # equal up to float32 rounding of conv2's sum over its (reordered) inputs
    assert a["meco"] == pytest.approx(b["meco"], rel=1e-6)
    # ... while another function (conv1's biases shifted, so other ReLU cut-offs) changes it
    with torch.no_grad():
        permuted[0].bias.add_(torch.linspace(-1, 1, 8))
    assert _meco(permuted, x)["meco"] != pytest.approx(a["meco"])


# ----------------------------------------------------------------------------- SWAP by hand


def _sign_net() -> nn.Sequential:
    """Conv 1x1 (1 -> 2) with weights +1 and -1, then ReLU: neurons x and -x at each position."""
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
    return nn.Sequential(conv, nn.ReLU())


def _swap(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    counter = PatternCounter(model)
    try:
        with torch.no_grad():
            model(x)
    finally:
        counter.remove()
    return counter.result()


def test_swap_patterns_by_hand():
    # samples (1, -1) and (1, 2) on a 1x2 map; ReLU outputs per neuron over the two samples:
    # x at position 0: (1, 1); x at 1: (0, 1); -x at 0: (0, 0); -x at 1: (1, 0) -> 4 distinct
    x = torch.tensor([[1.0, -1.0], [1.0, 2.0]]).reshape(2, 1, 1, 2)
    r = _swap(_sign_net(), x)
    assert (r["swap"], r["neurons"], r["samples"]) == (4.0, 4.0, 2.0)
    # the second sample equal to the first: patterns (1, 1), (0, 0), (0, 0), (1, 1) -> 2 distinct
    x = torch.tensor([[1.0, -1.0], [1.0, -1.0]]).reshape(2, 1, 1, 2)
    assert _swap(_sign_net(), x)["swap"] == 2.0


def test_pattern_codes_count_distinct_columns_for_any_batch_size():
    g = torch.Generator().manual_seed(0)
    for b in (1, 3, 40, 41, 64, 130):  # one word, exactly one word, two and four words
        signs = torch.rand(b, 3000, generator=g) < 0.5
        signs[:, 1000:1500] = signs[:, :500]  # 500 duplicated neurons
        expected = torch.unique(signs.T.to(torch.int8), dim=0).shape[0]
        assert count_distinct([pattern_codes(signs)]) == expected
        # split across two hooked layers: the count is over all neurons together
        assert count_distinct([pattern_codes(signs[:, :1200]), pattern_codes(signs[:, 1200:])]) == expected


def test_swap_is_invariant_to_duplicate_samples_and_skips_non_feature_map_relus():
    torch.manual_seed(2)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 25, 7),
        nn.ReLU(),
    )
    x = torch.randn(6, 3, 5, 5)
    a = _swap(net, x)
    b = _swap(net, torch.cat([x, x[:3], x[1:2]]))  # no batch statistics: duplicates change no output
    assert a["swap"] == b["swap"] and b["samples"] == 10
    assert a["neurons"] == 2 * 4 * 25  # the last ReLU's input is 2-d: not hooked
    assert 1 < a["swap"] <= a["neurons"]


def test_swap_nan_activations_give_nan_and_inf_counts_as_positive():
    x = torch.tensor([[1.0, -1.0], [1.0, 2.0]]).reshape(2, 1, 1, 2)
    assert math.isnan(_swap(_sign_net(), x * torch.tensor(math.nan))["swap"])
    # +inf in sample 1 at position 1: x -> (0, 1) as with 2.0, -x -> (1, 0): the same 4 patterns
    x_inf = torch.tensor([[1.0, -1.0], [1.0, math.inf]]).reshape(2, 1, 1, 2)
    assert _swap(_sign_net(), x_inf)["swap"] == 4.0


def test_regularisation_factor_and_the_unset_default():
    assert regular_factor(300.0, 300.0, 50.0) == 1.0
    assert regular_factor(310.0, 300.0, 50.0) == pytest.approx(math.exp(-2.0))
    assert regular_factor(300.0, None, 50.0) == 1.0  # the authors' default: not regularised

    class Pinned(Swap):  # how a user sets mu, sigma (a plugin subclass)
        name = "swap_pinned_test"
        mu, sigma = 1.0, 4.0

    from intrain.engine.probe import ProbeResult  # noqa: F401  (compute only reads outputs)

    class _P:
        outputs: ClassVar[dict] = {
            "relu_patterns": {"swap": 10.0, "params_k": 3.0, "neurons": 20.0, "samples": 4.0, "seconds": 0.0}
        }

    v = Pinned().compute(_P())  # type: ignore[arg-type]
    assert v["swap"] == 10.0 and v["score"] == pytest.approx(10.0 * math.exp(-1.0))  # (3 - 1)^2 / 4 = 1
    plain = Swap().compute(_P())  # type: ignore[arg-type]
    assert plain["score"] == plain["swap"] == 10.0 and plain["regular_factor"] == 1.0


# ----------------------------------------------------------------------------- planning


def test_uniform_shares_the_probe_and_reference_runs_the_authors_passes():
    meco, opt, swap = (get_proxy(n) for n in ("meco", "meco_opt", "swap"))
    assert plan([meco, opt, swap]) == (frozenset({"meco_terms", "relu_patterns"}), ())
    for p in (meco, opt, swap):
        p.protocol = "reference"
    assert plan([meco, opt, swap]) == (frozenset(), ("meco_reference", "swap_reference"))


def test_uniform_collectors_read_the_probe_forward():
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    x, y = torch.randn(5, 3, 6, 6), torch.tensor([0, 1, 2, 0, 1])
    probe = run_probe(net, x, y, collect=frozenset({"meco_terms", "relu_patterns"}))
    torch.manual_seed(3)
    again = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).train()
    assert probe.outputs["meco_terms"]["meco"] == pytest.approx(_meco(again, x, seed=71)["meco"])
    assert probe.outputs["relu_patterns"]["swap"] == _swap(again, x)["swap"]


# ----------------------------------------------------------------------------- reference protocol

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    "|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_3x3~1|skip_connect~2|",
    "|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|",
]


def _authors_meco(net: nn.Module, x: torch.Tensor, opt_idx: list[torch.Tensor] | None = None) -> float:
    """meco.py's get_score, line by line: hook every module; output[0] reshaped (n, -1);
    corrcoef; NaN and inf set to 0; the smallest real part of eig; the sum with NaNs (and, in
    NAS_Bench_201.py, infs) dropped. With ``opt_idx`` (the channel subsets our generator drew, in
    hook order) it is NAS_Bench_201.py's meco_opt branch: those 8 rows, times n / 8."""
    result_list = []
    calls = iter(opt_idx or [])

    def forward_hook(module, data_input, data_output):
        fea = data_output[0].detach()
        fea = fea.reshape(fea.shape[0], -1)
        n = fea.shape[0]
        if opt_idx is not None:
            fea = fea[next(calls)]
        corr = torch.corrcoef(fea)
        corr[torch.isnan(corr)] = 0
        corr[torch.isinf(corr)] = 0
        values = torch.linalg.eig(corr)[0]
        result = torch.min(torch.real(values))
        result_list.append(result * n / 8 if opt_idx is not None else result)

    handles = [m.register_forward_hook(forward_hook) for _, m in net.named_modules()]
    net(x)
    for h in handles:
        h.remove()
    results = torch.tensor(result_list)
    results = results[torch.logical_not(torch.isnan(results))]
    results = results[torch.logical_not(torch.isinf(results))]
    return torch.sum(results).item()


def _authors_swap(net: nn.Module, inputs: torch.Tensor) -> int:
    """swap.py's SWAP.forward: ReLU hooks keeping outputs of 4-d inputs, concatenated per sample,
    torch.sign, transposed to (neurons, samples), torch.unique rows."""
    inter = []

    def hook_in_forward(module, input, output):
        if isinstance(input, tuple) and len(input[0].size()) == 4:
            inter.append(output.detach())

    handles = [m.register_forward_hook(hook_in_forward) for _, m in net.named_modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net.forward(inputs)
    for h in handles:
        h.remove()
    activations = torch.cat([f.view(inputs.size(0), -1) for f in inter], 1)
    activations = torch.sign(activations).T
    return torch.unique(activations, dim=0).size(0)


def _reference_net(arch: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)  # as the scorer builds every network
    return get_space("nb201").network(arch, "cifar10", protocol="reference").train()


@pytest.mark.slow
def test_meco_reference_matches_the_authors_formula_on_ten_nb201_cells():
    scorer = Scorer("nb201", "cifar10", ScoreSettings(proxies=("meco", "meco_opt"), protocol="reference"), device="cpu")
    for i, arch in enumerate(CELLS):
        got = scorer.score(i, arch).proxies
        x = torch.randn((1, 3, 64, 64), generator=seeded_generator(0, 72))  # the pass's own seeded draw
        expected = _authors_meco(_reference_net(arch), x)
        assert got["meco"]["score"] == pytest.approx(expected, rel=1e-4, abs=1e-3), arch
        # MeCo_opt: the same subsets (the authors draw them with Python's random; ours are seeded)
        net = _reference_net(arch)
        gen, shapes = seeded_generator(0, 73), []

        def rows(_m, _i, out, shapes=shapes):
            shapes.append(out[0].shape[0])

        hooks = [m.register_forward_hook(rows) for m in net.modules()]
        with torch.no_grad():
            net(x)
        for h in hooks:
            h.remove()
        idx = [torch.randperm(n, generator=gen)[:8] for n in shapes]
        assert got["meco_opt"]["score"] == pytest.approx(
            _authors_meco(_reference_net(arch), x, idx), rel=1e-4, abs=1e-2
        ), arch


@pytest.mark.slow
def test_swap_reference_matches_the_authors_formula_on_ten_nb201_cells(monkeypatch):
    monkeypatch.setattr(Swap, "reference_repeats", 2)  # correlation.py averages 32; two show the mean
    scorer = Scorer("nb201", "cifar10", ScoreSettings(proxies=("swap",), protocol="reference"), device="cpu")
    x = scorer.batch(scorer.data_of(scorer.proxies[0]))[0][:16]  # the real-image stand-in, 16 samples
    assert x.shape[0] == 16
    for i, arch in enumerate(CELLS):
        got = scorer.score(i, arch).proxies["swap"]
        net, gen, runs = _reference_net(arch), seeded_generator(0, 81), []
        for _ in range(2):
            gaussian_init(net, gen)  # network_weight_gaussian_init: N(0, 1) conv/linear, BN 1/0
            runs.append(_authors_swap(net, x))
        assert got["score"] == pytest.approx(sum(runs) / 2), arch
        assert got["samples"] == 16 and got["regular_factor"] == 1.0
