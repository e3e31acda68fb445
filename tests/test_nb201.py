"""NB201 arch strings, cell analysis, isomorphism classes and networks."""

import collections
import re

import pandas as pd
import pytest
import torch

from intrain.spaces import get_space
from intrain.spaces.nb201.encoding import (
    NUM_ARCHS,
    ArchStringError,
    Cell,
    canonical_classes,
    canonical_form,
    live_edges,
    parse_arch,
)
from intrain.spaces.nb201.network import build_network

ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parse_and_format_round_trip():
    arch = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    cell = parse_arch(arch)
    assert cell.to_str() == arch
    assert cell.op(2, 1) == "skip_connect"
    assert Cell.from_code(cell.code) == cell


def test_codes_enumerate_the_space_once():
    codes = {Cell.from_code(c).to_str() for c in range(0, NUM_ARCHS, 97)}
    assert len(codes) == len(range(0, NUM_ARCHS, 97))
    with pytest.raises(IndexError):
        Cell.from_code(NUM_ARCHS)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "3 '+'-separated"),
        ("|none~0|+|none~0|none~1|", "3 '+'-separated"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from a node < 1"),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "duplicate edge"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "exactly 2 incoming"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must look like |op~j|"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "must look like op~j"),
    ],
)
def test_malformed_strings_are_rejected_with_the_reason(bad, message):
    with pytest.raises(ArchStringError, match=re.escape(message)):
        parse_arch(bad)


def test_live_edges_drop_dead_branches():
    # node1 only feeds node2, node2 never reaches the output: only the skip 0->3 is live
    cell = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|")
    assert live_edges(cell) == ((3, 0),)
    # a source that only receives `none` carries zero: its out-edges are dead too
    cell = parse_arch("|none~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    assert live_edges(cell) == ((3, 0),)
    assert canonical_form(cell) == "x"
    assert canonical_form(ALL_NONE) == "0"


def test_canonical_form_flattens_skips_and_sorts_terms():
    a = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
    b = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"
    assert canonical_form(a) == canonical_form(b) == "nor_conv_3x3(x)"
    c = "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|"
    assert canonical_form(c) == "nor_conv_3x3(nor_conv_1x1(x))+x"


def test_canonical_classes_coarsen_the_benchmarks_own(nb201_table):
    """Every benchmark UniqueString class falls in exactly one of our classes."""
    ours = [canonical_form(a) for a in nb201_table["ArchitectureString"]]
    per_unique = collections.defaultdict(set)
    for unique, cf in zip(nb201_table["UniqueString"], ours):
        per_unique[unique].add(cf)
    assert max(len(v) for v in per_unique.values()) == 1
    assert len(set(ours)) == len(canonical_classes()) <= nb201_table["UniqueString"].nunique()
    assert sum(len(m) for m in canonical_classes().values()) == NUM_ARCHS


def test_benchmark_index_uses_the_benchmark_order(nb201_table):
    from intrain.core.errors import InputError

    archs = list(nb201_table["ArchitectureString"])
    table = pd.DataFrame({"arch_index": range(len(archs)), "arch": archs, "canonical": archs})
    index = get_space("nb201").benchmark_index(table, "nats.csv")
    assert len(index) == NUM_ARCHS
    assert index.arch(0) == archs[0]
    assert index.lookup(archs[1234]) == (1234, archs[1234])
    with pytest.raises(InputError, match="index 15625 is not in nats.csv"):
        index.arch(NUM_ARCHS)
    with pytest.raises(ArchStringError):
        index.lookup("|bogus~0|")
    with pytest.raises(InputError, match="listed twice"):
        get_space("nb201").benchmark_index(pd.concat([table.head(2), table.head(1)]), "dup.csv")


@pytest.mark.parametrize(
    "dataset, classes, res", [("cifar10", 10, 32), ("cifar100", 100, 32), ("ImageNet16-120", 120, 16)]
)
def test_network_shapes(dataset, classes, res):
    net = build_network(ALL_3X3, dataset)
    out = net(torch.randn(2, 3, res, res))
    assert out.shape == (2, classes)


def test_parameter_counts_match_the_benchmark_extremes():
    # NB201 reports 1.531546 MB (largest cell) and 0.073306 MB (all `none`) on CIFAR-10
    assert n_params(build_network(ALL_3X3, "cifar10")) == 1_531_546
    assert n_params(build_network(ALL_NONE, "cifar10")) == 73_306


def test_pruning_removes_only_dead_parameters():
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
    pruned = build_network(arch, "cifar10", prune=True)
    full = build_network(arch, "cifar10", prune=False)
    # three dead 3x3 convs (conv weights + BN affine) per cell, 5 cells per stage, widths 16, 32, 64
    assert n_params(full) - n_params(pruned) == sum(3 * 5 * (c * c * 9 + 2 * c) for c in (16, 32, 64))
    x = torch.randn(2, 3, 32, 32)
    assert pruned(x).shape == full(x).shape


def test_space_registry_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("nb999")
    with pytest.raises(ValueError, match="no dataset 'mnist'"):
        get_space("nb201").dataset("mnist")


def test_fast_avg_pool_equals_the_reference_pool():
    from intrain.spaces.nb201.network import FastAvgPool3x3

    x = torch.randn(3, 5, 9, 7, requires_grad=True)
    ref = torch.nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    fast = FastAvgPool3x3(5)
    torch.testing.assert_close(fast(x), ref(x), rtol=1e-6, atol=1e-6)
    g = torch.randn(3, 5, 9, 7)
    (ga,) = torch.autograd.grad(fast(x), x, g)
    (gb,) = torch.autograd.grad(ref(x), x, g)
    torch.testing.assert_close(ga, gb, rtol=1e-6, atol=1e-6)
    assert list(fast.parameters()) == []
