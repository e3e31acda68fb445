"""Probe and scorer: determinism, flags for degenerate networks, isomorphic equality."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from intrain.core.records import ScoreSettings
from intrain.engine.probe import Flag, run_probe, run_probe_shared
from intrain.planning.groups import forward_groups
from intrain.proxies import get_proxy, list_proxies
from intrain.scoring.scorer import Scorer, SharedForwardScorer

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


def small(**kw) -> ScoreSettings:
    return ScoreSettings(batch_size=8, **kw)


def test_scores_are_deterministic_and_independent_of_order():
    s1 = Scorer("nb201", "ImageNet16-120", small(), "cpu")
    a = s1.score(7, ARCH)
    s1.score(8, "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
    b = s1.score(7, ARCH)
    c = Scorer("nb201", "ImageNet16-120", small(), "cpu").score(7, ARCH)
    for other in (b, c):
        assert other.proxies == a.proxies
        np.testing.assert_array_equal(other.probe.layer_stats, a.probe.layer_stats)
        np.testing.assert_array_equal(other.probe.param_stats, a.probe.param_stats)


def test_seed_changes_the_score():
    a = Scorer("nb201", "ImageNet16-120", small(seed=0), "cpu").score(0, ARCH)
    b = Scorer("nb201", "ImageNet16-120", small(seed=1), "cpu").score(0, ARCH)
    assert a.proxies["intrain"]["score"] != b.proxies["intrain"]["score"]


def test_probe_records_every_conv_and_linear_layer_and_parameter():
    r = Scorer("nb201", "cifar10", small(), "cpu").score(0, ARCH)
    p = r.probe
    assert set(p.layer_kinds) == {"Conv2d", "Linear"}
    assert p.layer_names[0] == "stem.0" and p.layer_names[-1] == "classifier"
    assert p.layer_shapes[0].tolist() == [16, 32, 32]
    assert p.layer_shapes[-1].tolist() == [10, 1, 1]
    assert r.proxies["intrain"]["n_layers"] == len(p.layer_names)
    assert all(n >= 2 for n in p.param_numel)
    assert p.flags == 0


def test_all_none_network_is_flagged_not_crashing():
    r = Scorer("nb201", "cifar10", small(), "cpu").score(0, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert r.probe.flags & Flag.COLLAPSED_LAYER
    assert r.probe.flags & Flag.ZERO_GRAD
    assert math.isfinite(r.proxies["intrain"]["score"])


class _Blowup(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)) * float("inf"))


def test_nonfinite_network_gives_nan_and_flag():
    torch.manual_seed(0)
    probe = run_probe(_Blowup(), torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0]))
    assert probe.flags & Flag.NONFINITE
    assert math.isnan(get_proxy("intrain").compute(probe)["score"])


def test_isomorphic_cells_score_identically_when_built_alike():
    a = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
    b = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"
    s = Scorer("nb201", "ImageNet16-120", small(), "cpu")
    assert s.score(0, a).proxies == s.score(1, b).proxies


@pytest.mark.slow
def test_isomorphic_cells_are_equal_in_distribution():
    # conv1x1(x) + conv3x3(x), the two convs created in opposite orders: different weights,
    # same distribution of scores over seeds.
    a = "|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|"
    b = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
    from intrain.spaces.nb201.encoding import canonical_form

    assert canonical_form(a) == canonical_form(b)
    sa, sb = [], []
    for seed in range(12):
        s = Scorer("nb201", "ImageNet16-120", small(seed=seed), "cpu")
        sa.append(s.score(0, a).proxies["intrain"]["score"])
        sb.append(s.score(1, b).proxies["intrain"]["score"])
    assert sa != sb  # really different networks
    assert stats.ttest_rel(sa, sb).pvalue > 0.01
    assert abs(np.mean(sa) - np.mean(sb)) < 0.5 * np.std(sa + sb)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="batch_size"):
        ScoreSettings(batch_size=-1)
    with pytest.raises(ValueError, match="unknown proxy 'nope'"):  # checked where proxies load
        Scorer("nb201", "cifar10", ScoreSettings(proxies=("nope",)), "cpu")
    with pytest.raises(ValueError, match="layer selection"):
        Scorer("nb201", "cifar10", small(layers="everything"), "cpu").score(0, ARCH)
    assert {"intrain", "params"} <= set(list_proxies())


def test_params_proxy_counts_trainable_parameters():
    r = Scorer("nb201", "cifar10", small(proxies=("intrain", "params")), "cpu").score(0, ARCH)
    from intrain.spaces.nb201 import build_network

    assert r.proxies["params"]["score"] == sum(p.numel() for p in build_network(ARCH, "cifar10").parameters())


# ----------------------------------------------------------------------------- shared forward

SHARED_ARCHS = [
    ARCH,
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]


@pytest.mark.parametrize("arch", SHARED_ARCHS)
def test_shared_forward_equals_separate_scoring_bit_for_bit(arch):
    settings = ScoreSettings(batch_size=8, resolution=16)
    shared = SharedForwardScorer("nb201", ["cifar10", "cifar100"], settings, "cpu").score(3, arch)
    for record, dataset in zip(shared, ["cifar10", "cifar100"]):
        alone = Scorer("nb201", dataset, settings, "cpu").score(3, arch)
        assert record.index == 3 and record.arch == arch
        assert record.probe.layer_names == alone.probe.layer_names
        assert record.probe.param_names == alone.probe.param_names
        np.testing.assert_array_equal(record.probe.layer_shapes, alone.probe.layer_shapes)
        np.testing.assert_array_equal(record.probe.layer_stats, alone.probe.layer_stats)
        np.testing.assert_array_equal(record.probe.param_stats, alone.probe.param_stats)
        assert record.probe.loss == alone.probe.loss and record.probe.flags == alone.probe.flags
        assert record.proxies == alone.proxies
    # the heads differ, so the two datasets' classifier statistics do
    assert shared[0].probe.layer_shapes[-1, 0] == 10 and shared[1].probe.layer_shapes[-1, 0] == 100


def test_shared_forward_refuses_networks_with_different_bodies():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5))
    a(torch.zeros(1, 3, 6, 6))
    b = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(64, 5))
    x, y = torch.randn(4, 3, 6, 6), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="differs from network 0 in '0.weight'"):
        run_probe_shared([a, b], x, [y, y], head="2")
    with pytest.raises(ValueError, match="one label tensor per network"):
        run_probe_shared([a, a], x, [y], head="2")


def test_shared_forward_refuses_a_head_that_is_not_last():
    class Middle(nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = nn.Linear(4, 4)
            self.out = nn.Linear(4, 3)

        def forward(self, x):
            return self.out(self.classifier(x))

    torch.manual_seed(0)
    a = Middle()
    b = Middle()
    b.load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="not the last counted layer"):
        run_probe_shared([a, b], torch.randn(6, 4), [torch.zeros(6, dtype=torch.long)] * 2)


def test_shared_forward_needs_probe_only_proxies_and_equal_batches():
    with pytest.raises(ValueError, match="score these datasets one at a time"):
        SharedForwardScorer("nb201", ["cifar10", "cifar100"], small(proxies=("intrain", "naswot")), "cpu")
    with pytest.raises(ValueError, match="different input batches"):
        SharedForwardScorer("nb201", ["cifar10", "ImageNet16-120"], small(), "cpu")
    with pytest.raises(ValueError, match="two or more distinct datasets"):
        SharedForwardScorer("nb201", ["cifar10", "cifar10"], small(), "cpu")


def test_forward_groups_pair_datasets_with_equal_batches_only():
    assert forward_groups("nb201", ["cifar10", "cifar100", "ImageNet16-120"], small()) == [
        ["cifar10", "cifar100"],
        ["ImageNet16-120"],
    ]
    # at a common resolution all three batches are equal
    assert forward_groups("nb201", ["cifar10", "cifar100", "ImageNet16-120"], small(resolution=16)) == [
        ["cifar10", "cifar100", "ImageNet16-120"]
    ]
    assert forward_groups("nb201", ["cifar10", "cifar100"], small(proxies=("intrain", "snip"))) == [
        ["cifar10"],
        ["cifar100"],
    ]
