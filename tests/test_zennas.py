"""The Zen-NAS ImageNet space: grammar, counts of the published networks, mutation, search resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch

from intrain.core.errors import InputError
from intrain.core.search_log import read_log
from intrain.search.evolution import evolve
from intrain.spaces import get_space
from intrain.spaces.zennas import flops as zf
from intrain.spaces.zennas import grammar as zg
from intrain.spaces.zennas import mutation as zm
from intrain.spaces.zennas.network import build_model
from intrain.spaces.zennas.published_structures import PUBLISHED

from .conftest import REPO

TINY = "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K5(8,16,2,8,2)SuperConvK1BNRELU(16,32,1,1)"


# ----------------------------------------------------------------------------- grammar


def test_round_trip_of_every_published_string_and_names_dropped():
    for p in PUBLISHED.values():
        s = zg.parse_structure(p.structure)
        assert zg.format_structure(s) == p.structure and zg.parse_structure(s.format()) == s
    named = "SuperConvK3BNRELU(stem|3,8,2,1)SuperResIDWE2K5(b1|8,16,2,8,2)SuperConvK1BNRELU(16,32,1,1)\n"
    assert get_space("zennas").normalize(named) == TINY
    assert zg.parse_structure(named).blocks[0].name == "stem"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty structure"),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE3K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            r"block 1 \(SuperResIDWE3K3\(8,16,2,8,1\)\): unknown block 'SuperResIDWE3K3'",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResK1K3K1(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            "unknown block 'SuperResK1K3K1'",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,16,2,1)SuperConvK1BNRELU(16,32,1,1)",
            r"block 1 .*takes 5 integers \(in,out,stride,bottleneck,sub_layers\), got 4",
        ),
        (
            "SuperConvK3BNRELU(3,8,2)SuperResIDWE1K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            r"block 0 .*takes 4 integers",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(16,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            r"block 1 \(SuperResIDWE1K3\(16,16,2,8,1\)\): channel chain broken: in_channels 16 != block 0's out_channels 8",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,16,3,8,1)SuperConvK1BNRELU(16,32,1,1)",
            "stride must be 1 or 2, got 3",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,-16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            "out must be a positive integer, got -16",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,16,2,0,1)SuperConvK1BNRELU(16,32,1,1)",
            "bottleneck must be a positive integer, got 0",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,16,2,8,0)SuperConvK1BNRELU(16,32,1,1)",
            "sub_layers must be a positive integer, got 0",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,16,2,8.5,1)SuperConvK1BNRELU(16,32,1,1)",
            "bottleneck must be an integer, got '8.5'",
        ),
        ("SuperConvK3BNRELU(3,8,2,1) junk", "cannot read a Name"),
        (
            "SuperResIDWE1K3(3,16,2,8,1)SuperResIDWE1K3(16,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            "the first block must be the stem",
        ),
        (
            "SuperConvK3BNRELU(4,8,2,1)SuperResIDWE1K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            "3 \\(RGB\\) input channels",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,16,2,8,1)SuperConvK3BNRELU(16,32,1,1)",
            "last block must be the head",
        ),
        (
            "SuperConvK3BNRELU(3,8,2,1)SuperConvK3BNRELU(8,8,1,1)SuperResIDWE1K3(8,16,2,8,1)SuperConvK1BNRELU(16,32,1,1)",
            "only SuperResIDWE blocks",
        ),
        ("SuperConvK3BNRELU(3,8,2,1)SuperConvK1BNRELU(8,32,1,1)", "needs a stem, at least one IDW block and a head"),
    ],
)
def test_refusals_say_what_is_wrong(text, message):
    with pytest.raises(zg.ZenStructureError, match=message) as info:
        zg.parse_structure(text)
    assert isinstance(info.value, InputError)  # the CLI shows its message, not a traceback


# ----------------------------------------------------------------------------- counts


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_published_counts_equal_the_reference_code(key):
    p = PUBLISHED[key]
    ref = p.reference
    assert zf.params(p.structure) == ref["params"]
    assert zf.params(p.structure, se=True) == ref["params_se"]
    assert abs(zf.budget_flops(p.structure) - ref["flops"]) < 0.1e6
    assert zf.budget_flops(p.structure) == pytest.approx(ref["flops"], abs=1.0)  # in fact exact
    assert zg.parse_structure(p.structure).n_layers == ref["layers"] <= zm.max_layers(p.budget)
    # the built modules have exactly those parameters
    assert sum(t.numel() for t in build_model(p.structure).parameters()) == ref["params"]
    assert sum(t.numel() for t in build_model(p.structure, se=True).parameters()) == ref["params_se"]
    if p.method != "Zen-NAS":  # ZiCo's and AZ-NAS's searches ran at these budgets (Zen's 900M is 908.7M)
        assert zf.budget_flops(p.structure) <= p.budget


def _hooked_macs(model: torch.nn.Module, resolution: int) -> int:
    total = 0

    def hook(m, _i, out):
        nonlocal total
        if isinstance(m, torch.nn.Conv2d):
            total += (
                m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups) * m.out_channels * out[0, 0].numel()
            )
        else:
            total += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, resolution, resolution))
    for h in hs:
        h.remove()
    return total


@pytest.mark.parametrize(
    "key, se, resolution",
    [("zen_900M", False, 224), ("zico_600M", True, 64), ("aznas_450M", False, 64), ("zen_400M", True, 65)],
)
@pytest.mark.slow
def test_analytic_macs_equal_forward_hooks(key, se, resolution):
    s = PUBLISHED[key].structure
    assert zf.macs(s, resolution, se=se) == _hooked_macs(build_model(s, se=se), resolution)


def test_budget_convention_counts_bn_and_undercounts_strided_projections():
    # stem 3->8 s2 at 32: conv 3*8*9*16*16 + BN 8*16*16; unit A (proj, stride 2, res 16->8): projection
    # counted at (8/2)^2 = 16 positions, unit B (8->8, no proj); head 1x1; FC
    s = "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,2,8,1)SuperConvK1BNRELU(8,16,1,1)"
    stem = 3 * 8 * 9 * 256 + 8 * 256

    def unit(r_in, r_out, st):
        return 8 * 8 * r_in**2 + 8 * r_in**2 + 8 * 9 * r_in**2 // st**2 + 8 * r_out**2 + 8 * 8 * r_out**2 + 8 * r_out**2

    a = unit(16, 8, 2) + (8 * 8 + 8) * (8 / 2) ** 2
    b = unit(8, 8, 1)
    head = 8 * 16 * 64 + 16 * 64
    assert zf.budget_flops(s, resolution=32) == stem + a + b + head + 16 * 1000
    assert zf.macs(s, resolution=32) == _hooked_macs(build_model(s), 32)


def test_network_layout():
    s = zg.parse_structure(PUBLISHED["aznas_450M"].structure)
    net = build_model(s)
    assert len(net.feature_modules()) == 2 + 2 * sum(b.sub_layers for b in s.blocks[1:-1])
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    first = net.units[0]
    assert first.proj is not None and first.proj[0].bias is not None  # ResBlockProj: biased 1x1 + BN
    assert net.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 1000)
    assert torch.all(first(torch.randn(1, 24, 16, 16)) >= 0)  # ReLU after the add
    plain = build_model(s, residual=False)
    assert all(u.proj is None for u in plain.units)


# ----------------------------------------------------------------------------- mutation


def _reenact_generator_type_counts(types: list[str]) -> Counter:
    """Zen-NAS's gen_search_space loop nesting over one candidate per type, list for list."""
    list_list = []
    for type_list in [types]:
        candidates = []
        for t in type_list:
            candidates.append(t)
            candidates = list(set(candidates))
            list_list.append(candidates)
    return Counter(x for sub in list_list for x in sub)


def test_type_weights_are_the_published_generators():
    counted = _reenact_generator_type_counts(list(zg.IDW_TYPES))
    assert tuple(counted[t] for t in zg.IDW_TYPES) == zm.TYPE_WEIGHTS
    # ... and the sampler draws them at those rates
    rng = np.random.default_rng(0)
    block = zg.parse_structure(zm.INITIAL).blocks[2]
    n = 12000
    drawn = Counter(zm.replacement(block, rng).type_name for _ in range(n))
    w = np.array(zm.TYPE_WEIGHTS, float) / sum(zm.TYPE_WEIGHTS)
    for t, p in zip(zg.IDW_TYPES, w):
        assert abs(drawn[t] / n - p) < 4.5 * np.sqrt(p * (1 - p) / n), t


def test_width_and_depth_choices():
    assert zm.channel_choices(8) == [16, 8] and zm.channel_choices(96) == [240, 192, 144, 120, 96, 80, 64, 48, 40]
    assert zm.sublayer_choices(1) == [3, 2, 1] and zm.sublayer_choices(5) == [7, 6, 5, 4, 3]


@pytest.mark.slow
@pytest.mark.parametrize("budget", [450e6, 600e6, 1e9])
def test_mutation_never_exceeds_budget_or_cap(budget):
    problem = zm.ZenSearch(budget)
    cap = zm.max_layers(budget)
    archs = [problem.start(np.random.default_rng(0))]
    for i in range(1, 250):
        rng = np.random.default_rng([7, i])
        parent = archs[int(rng.integers(len(archs)))] if i % 3 else max(archs, key=zf.budget_flops)
        child = problem.mutate_at(parent, rng, i)
        s = zg.parse_structure(child)
        assert zf.budget_flops(s) <= budget and s.n_layers <= cap
        assert s.blocks[-1] == zg.ConvBlock(1, s.blocks[-2].out_channels, 2048, 1, 1)  # head fixed, re-chained
        assert s.blocks[0].sub_layers == 1 and all(b.sub_layers < zm.SPLIT_AT for b in s.blocks)
        archs.append(child)
    assert max(map(zf.budget_flops, archs)) > 0.8 * budget  # the search reaches the budget's edge


def test_one_edit_then_two():
    parent = zg.parse_structure(zm.INITIAL)  # every block has 1 sub-layer: no split can follow

    def changed(child):
        return sum(
            a.format().split("(")[0] + str(a.out_channels) != b.format().split("(")[0] + str(b.out_channels)
            or getattr(a, "sub_layers", 0) != getattr(b, "sub_layers", 0)
            or getattr(a, "bottleneck", 0) != getattr(b, "bottleneck", 0)
            for a, b in zip(parent.blocks, child.blocks)
        )

    rng = np.random.default_rng(3)
    ones = [changed(zm.mutate_structure(parent, rng, 1)) for _ in range(300)]
    twos = [changed(zm.mutate_structure(parent, rng, 2)) for _ in range(300)]
    assert max(ones) == 1 and max(twos) == 2
    p = zm.ZenSearch(1e9)
    a = p.mutate_at(zm.INITIAL, np.random.default_rng(5), 10)
    assert a == zg.format_structure(_first_fit(p, parent, np.random.default_rng(5), 1))


def _first_fit(p, parent, rng, edits):
    while True:
        child = zm.mutate_structure(parent, rng, edits)
        if p.fits(child):
            return child


def test_split_at_six_sub_layers():
    blocks = list(
        zg.parse_structure("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,7)SuperConvK1BNRELU(32,2048,1,1)").blocks
    )
    out = zg.format_structure(zm.split(zm.split(blocks)))
    assert out == (
        "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,3)SuperResIDWE6K3(32,32,1,8,4)"
        "SuperConvK1BNRELU(32,2048,1,1)"
    )


def test_initial_structure_and_caps():
    assert zf.budget_flops(zm.INITIAL) == pytest.approx(162396776.0)
    assert (zm.max_layers(450e6), zm.max_layers(600e6), zm.max_layers(1e9)) == (14, 14, 16)
    with pytest.raises(ValueError, match="exceeds the budget"):
        zm.ZenSearch(100e6)


# ----------------------------------------------------------------------------- search + CLI

_RUN = """
import sys, time
from intrain.search.evolution import evolve
from intrain.spaces.zennas import ZenSearch, budget_flops
def score(a):
    time.sleep(0.01)
    return budget_flops(a) / 1e6
evolve(ZenSearch(450e6), score, iterations=int(sys.argv[2]), k=5, seed=3, log_path=sys.argv[1], checkpoint_every=5)
"""


@pytest.mark.slow
def test_killed_search_resumes_to_the_same_history(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    n = 150
    straight = evolve(zm.ZenSearch(450e6), lambda a: zf.budget_flops(a) / 1e6, iterations=n, k=5, seed=3)
    log = tmp_path / "log.h5"
    # SIGKILLed while writing its 5th checkpoint (intrain/core/faults.py), not after a timer
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(log), str(n)],
        capture_output=True,
        env={**env, "INTRAIN_FAULT": "search_log.write:5"},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    done = len(read_log(log)[1])
    assert 0 < done < n, "the search was not caught mid-run"
    resumed = evolve(
        zm.ZenSearch(450e6),
        lambda a: zf.budget_flops(a) / 1e6,
        iterations=n,
        k=5,
        seed=3,
        log_path=log,
        checkpoint_every=5,
    )
    _, rows = read_log(log)
    assert list(rows["iteration"]) == list(range(n))
    assert list(rows["arch"]) == list(straight.history["arch"]) == list(resumed.history["arch"])
    assert resumed.best_arch == straight.best_arch


@pytest.mark.slow
def test_cli_evolve_writes_the_zen_string_and_describe_prints_counts(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "intrain",
        "evolve",
        "--space",
        "zennas",
        "--dataset",
        "imagenet",
        "--budget",
        "450e6",
        "--iterations",
        "3",
        "--settings",
        '{"batch_size": 2, "resolution": 32}',
        "--device",
        "cpu",
        "--log",
        str(tmp_path / "log.h5"),
        "--out-dir",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert zg.format_structure(zg.parse_structure(best["best_arch"])) == best["best_arch"]
    assert best["flops"] == zf.budget_flops(best["best_arch"]) <= 450e6
    key = "zen_600M"
    proc = subprocess.run(
        [sys.executable, "-m", "intrain", "describe", "--space", "zennas", "--json", PUBLISHED[key].structure],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    d = json.loads(proc.stdout)
    assert d["params"] == PUBLISHED[key].reference["params"]
    assert d["conventions"]["params_se"] == PUBLISHED[key].reference["params_se"]
    assert d["conventions"]["zen_flops"] == PUBLISHED[key].reference["flops"]
    assert d["conventions"]["macs"] == zf.macs(PUBLISHED[key].structure)
    bad = subprocess.run(
        [sys.executable, "-m", "intrain", "describe", "--space", "zennas", "SuperConvK3BNRELU(3,8,2,1)"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "needs a stem" in bad.stderr


def test_describe_every_space_counts_the_built_network():
    from intrain.spaces.describe import describe

    d = describe("nb201", "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    model = get_space("nb201").build(d["arch"], "cifar10", prune=False, fast_pool=False)
    assert d["params"] == sum(p.numel() for p in model.parameters())
    assert d["conventions"]["nats_params_M"] == pytest.approx(d["params"] / 1e6)
    assert d["conventions"]["nats_flops_M"] * 1e6 >= d["conventions"]["macs"] == sum(r["macs"] for r in d["layers"])
