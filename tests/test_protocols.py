"""Scoring protocols: the paired Δτ bootstrap (intrain.analysis.stats), natural-image input
(intrain.engine.inputs), and the reference protocol (network, init, definitions) next to the uniform one."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from intrain.analysis.stats import kendall, paired_tau_difference

# ----------------------------------------------------------------------------- paired Δτ


def test_identical_proxies_differ_by_exactly_zero():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=50)
    a = truth + rng.normal(size=50)
    d = paired_tau_difference(a, a.copy(), truth, n_boot=200, seed=1)
    assert d.delta == 0.0 and d.lo == 0.0 and d.hi == 0.0 and d.n == 50


def test_truth_beats_noise_and_the_interval_excludes_zero():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    noisy = truth + 2.0 * rng.normal(size=200)
    d = paired_tau_difference(truth, noisy, truth, n_boot=300, seed=2)
    assert d.tau_a == pytest.approx(1.0)
    assert d.delta == pytest.approx(1.0 - kendall(noisy, truth))
    assert 0 < d.lo <= d.delta <= d.hi
    swapped = paired_tau_difference(noisy, truth, truth, n_boot=300, seed=2)
    assert swapped.delta == pytest.approx(-d.delta) and swapped.hi < 0


def test_hand_checkable_case_and_exclusions():
    # truth 1..4; a ranks all 4 right (τ = 1); b swaps the first two: 5 concordant, 1 discordant -> τ = 4/6
    truth = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    a = np.array([1.0, 2.0, 3.0, 4.0, np.nan])  # the NaN row is excluded from both proxies
    b = np.array([2.0, 1.0, 3.0, 4.0, 0.0])
    d = paired_tau_difference(a, b, truth, n_boot=0)
    assert (d.n, d.n_excluded) == (4, 1)
    assert d.tau_a == pytest.approx(1.0) and d.tau_b == pytest.approx(4 / 6)
    assert d.delta == pytest.approx(2 / 6) and np.isnan(d.lo)
    # Spearman on the same rows: a is exact (ρ = 1); b's swap of ranks 1 and 2 gives 1 - 6*2/(4*15) = 0.8
    assert d.rho_a == pytest.approx(1.0) and d.rho_b == pytest.approx(0.8)
    assert d.rho_delta == pytest.approx(0.2) and np.isnan(d.rho_lo)


def test_spearman_difference_shares_the_bootstrap_draws():
    rng = np.random.default_rng(4)
    truth = rng.normal(size=150)
    noisy = truth + 2.0 * rng.normal(size=150)
    d = paired_tau_difference(truth, noisy, truth, n_boot=300, seed=2)
    assert d.rho_a == pytest.approx(1.0)
    assert 0 < d.rho_lo <= d.rho_delta <= d.rho_hi
    same = paired_tau_difference(noisy, noisy.copy(), truth, n_boot=100, seed=2)
    assert (same.rho_delta, same.rho_lo, same.rho_hi) == (0.0, 0.0, 0.0)


def test_interval_is_reproducible_per_seed_and_paired():
    rng = np.random.default_rng(3)
    truth = rng.normal(size=80)
    a = truth + rng.normal(size=80)
    b = a + 0.05 * rng.normal(size=80)  # nearly the same ranking as a: the paired CI is narrow
    d1 = paired_tau_difference(a, b, truth, n_boot=200, seed=5)
    d2 = paired_tau_difference(a, b, truth, n_boot=200, seed=5)
    assert (d1.lo, d1.hi) == (d2.lo, d2.hi)
    from intrain.analysis.stats import correlate

    ca = correlate(a, truth, n_boot=200, seed=5)
    # the unpaired intervals overlap almost entirely; the paired one is much narrower than either
    assert (d1.hi - d1.lo) < 0.5 * (ca.kendall_hi - ca.kendall_lo)


def _fake_scores(tmp_path, n=12):
    from intrain.analysis.groundtruth import accuracy_column
    from tests.helpers import fake_artifact, ladder

    path = fake_artifact(tmp_path / "a.h5", ladder(n, np.random.default_rng(0)))
    gt = pd.DataFrame(
        {
            "arch_index": range(n),
            "arch": [f"arch{i}" for i in range(n)],
            "canonical": [f"arch{i}" for i in range(n)],
            accuracy_column("cifar10", "test"): np.linspace(50, 90, n),
        }
    )
    gt.to_csv(tmp_path / "gt.csv", index=False)
    return str(path), str(tmp_path / "gt.csv")


def test_pair_table_over_an_artifact(tmp_path):
    from intrain.analysis.correlate import pair_table

    path, gt = _fake_scores(tmp_path)
    table = pair_table([path], gt, [("intrain", "intrain")], n_boot=50)
    row = table.iloc[0]
    assert row.n == 12 and row.delta == 0 and row.lo == 0 and row.hi == 0
    with pytest.raises(ValueError, match="nope"):
        pair_table([path], gt, [("intrain", "nope")], n_boot=10)


def test_correlate_cli_prints_and_writes_the_pairs(tmp_path):
    import subprocess
    import sys

    path, gt = _fake_scores(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "intrain",
            "correlate",
            "--groundtruth",
            gt,
            "--n-boot",
            "20",
            "--out",
            str(tmp_path / "c.csv"),
            "--pairs",
            "intrain:intrain.gamma",
            "--pairs-out",
            str(tmp_path / "p.csv"),
            path,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    pairs = pd.read_csv(tmp_path / "p.csv")
    assert list(pairs[["a", "b"]].iloc[0]) == ["intrain", "intrain.gamma"]
    corr = pd.read_csv(tmp_path / "c.csv").set_index("proxy")
    assert pairs.delta.iloc[0] == pytest.approx(corr.kendall["intrain"] - corr.kendall["intrain.gamma"])
    assert "tau_a" in proc.stdout


# ----------------------------------------------------------------------------- natural input


def test_natural_batch_is_seeded_and_normalised_per_dataset():
    import torch

    from intrain.engine.inputs import DATASET_STATS, natural_batch

    x1, y1 = natural_batch(16, 10, 32, seed=0, dataset="cifar10")
    x2, y2 = natural_batch(16, 10, 32, seed=0, dataset="cifar10")
    x3, _ = natural_batch(16, 10, 32, seed=1, dataset="cifar10")
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert x1.shape == (16, 3, 32, 32) and x1.dtype == torch.float32 and y1.max() < 10
    # undoing the CIFAR-10 normalisation gives pixel values in [0, 1] on the 1/255 grid
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in DATASET_STATS["cifar10"])
    pixels = x1 * std + mean
    assert pixels.min() >= -1e-6 and pixels.max() <= 1 + 1e-6
    assert torch.allclose(pixels * 255, (pixels * 255).round(), atol=1e-3)
    # another dataset: the same pixels, its own constants
    x16, _ = natural_batch(16, 120, 16, seed=0, dataset="ImageNet16-120")
    assert x16.shape == (16, 3, 16, 16)
    xc100, _ = natural_batch(16, 100, 32, seed=0, dataset="cifar100")
    mean100, std100 = (torch.tensor(v).view(1, 3, 1, 1) for v in DATASET_STATS["cifar100"])
    assert torch.allclose(xc100 * std100 + mean100, pixels, atol=1e-5)
    # crops of one photograph are not noise: neighbouring pixels are strongly correlated
    a, b = x1[..., :, :-1].flatten(), x1[..., :, 1:].flatten()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1] > 0.8


def test_natural_provenance_names_the_photographs_and_the_batch_digest():
    from intrain.core.records import ScoreSettings
    from intrain.engine.inputs import DataError, describe_input, natural_batch, natural_names
    from intrain.scoring.scorer import Scorer

    s = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, data="natural", proxies=("params",)), device="cpu")
    again = Scorer("nb201", "cifar10", ScoreSettings(batch_size=4, data="natural", proxies=("params",)), device="cpu")
    other = Scorer(
        "nb201", "cifar10", ScoreSettings(batch_size=4, seed=1, data="natural", proxies=("params",)), device="cpu"
    )
    d = describe_input("natural", s.x)
    assert d.startswith("natural:grace_hopper.jpg:sha256=") and len(d.rsplit("=", 1)[1]) == 16
    assert d == describe_input("natural", again.x) != describe_input("natural", other.x)
    x, _ = natural_batch(4, 10, 32, 0, "cifar10", natural_names("natural:grace_hopper.jpg"))
    assert describe_input("natural:grace_hopper.jpg", x) == d
    with pytest.raises(DataError, match="not in matplotlib"):
        natural_batch(4, 10, 32, 0, "cifar10", ("nope.jpg",))
    with pytest.raises(DataError, match="directly in"):
        natural_batch(4, 10, 32, 0, "cifar10", ("../../__init__.py",))
    with pytest.raises(DataError, match="normalisation"):
        natural_batch(4, 10, 32, 0, "mnist")


# ----------------------------------------------------------------------------- reference network

DEAD = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"  # 3<-2 conv3x3 is dead
LIVE = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _hand_params(k2_edges: list[int], num_classes: int = 10, c: int = 16) -> int:
    """Parameters of the NB201 tiny network whose cells hold conv edges with these k*k, by hand."""
    total = 3 * c * 9 + 2 * c  # stem conv + BN
    for stage in range(3):
        if stage > 0:
            total += 9 * c * 2 * c + 2 * 2 * c + 9 * (2 * c) ** 2 + 2 * 2 * c + c * 2 * c  # conv_a, conv_b, downsample
            c *= 2
        total += 5 * sum(k2 * c * c + 2 * c for k2 in k2_edges)  # ReLU-Conv-BN edges
    return total + 2 * c + c * num_classes + num_classes  # lastact BN, classifier


def _hand_macs(k2_edges: list[int], side: int = 32, num_classes: int = 10, c: int = 16) -> int:
    total = 3 * c * 9 * side * side
    for stage in range(3):
        if stage > 0:
            side //= 2
            total += (9 * c * 2 * c + 9 * (2 * c) ** 2 + c * 2 * c) * side * side
            c *= 2
        total += 5 * sum(k2 * c * c for k2 in k2_edges) * side * side
    return total + c * num_classes


@pytest.mark.slow
def test_reference_cell_runs_dead_edges_on_zeros():
    import torch

    from intrain.proxies.base import count_macs, count_params
    from intrain.spaces.nb201.encoding import conv_macs
    from intrain.spaces.nb201.network import build_network

    ref, pruned = build_network(DEAD, "cifar10", reference=True), build_network(DEAD, "cifar10")
    n_convs = lambda m: sum(isinstance(x, torch.nn.Conv2d) for x in m.modules())  # noqa: E731
    assert n_convs(ref) == 1 + 15 * 4 + 2 * 3 and n_convs(pruned) == 1 + 15 * 3 + 2 * 3
    assert count_params(ref) == _hand_params([9, 9, 1, 9]) and count_params(pruned) == _hand_params([9, 9, 1])
    x = torch.randn(4, 3, 32, 32)
    assert count_macs(ref, x) == _hand_macs([9, 9, 1, 9]) == conv_macs(DEAD, "cifar10", reference=True)
    assert count_macs(pruned, x) == _hand_macs([9, 9, 1]) == conv_macs(DEAD, "cifar10", reference=False)
    # prune=False instantiates the dead edge but never runs it: not the reference network
    unpruned = build_network(DEAD, "cifar10", prune=False)
    assert count_params(unpruned) == count_params(ref) and count_macs(unpruned, x) == count_macs(pruned, x)
    # the dead edge (node 2 -> node 3) of the first cell: its input is all zeros, its BN updates
    cell = ref.cells[0]
    dead = cell.edge_ops[cell.edges.index((3, 2))]
    seen = []
    dead[0].register_forward_hook(lambda _m, inp, _out: seen.append(inp[0]))
    ref.train()(x)
    assert len(seen) == 1 and seen[0].shape == (4, 16, 32, 32) and not seen[0].any()
    assert int(dead[2].num_batches_tracked) == 1
    # default build options are untouched: the pruned network has no such edge
    assert (3, 2) not in pruned.cells[0].edges


def test_reference_and_pruned_networks_coincide_without_dead_edges():
    import torch

    from intrain.spaces.nb201.network import build_network

    torch.manual_seed(0)
    a = build_network(LIVE, "cifar100", reference=True)
    torch.manual_seed(0)
    b = build_network(LIVE, "cifar100")
    x = torch.randn(4, 3, 32, 32)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert torch.equal(a(x), b(x))


# ----------------------------------------------------------------------------- protocol setting

GRAD_PROXIES = ("intrain", "grad_norm", "grad_norm_layers", "snip", "synflow", "naswot", "jacov", "flops", "params")


def _scorer(protocol: str, proxies=GRAD_PROXIES, dataset="cifar10"):
    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    return Scorer("nb201", dataset, ScoreSettings(batch_size=8, proxies=proxies, protocol=protocol), device="cpu")


@pytest.mark.slow
def test_uniform_protocol_is_todays_scoring_bit_for_bit():
    import torch

    from intrain.core.records import ScoreSettings
    from intrain.planning.selection import settings_hash
    from intrain.scoring.scorer import evaluate

    s = _scorer("uniform")
    rec = s.score(0, DEAD)

    def todays_build():  # the build path before the protocol setting existed
        torch.manual_seed(0)
        return s.space.build(DEAD, "cifar10", prune=True, fast_pool=True)

    _, values = evaluate(todays_build, s.x, s.y, 10, s.proxies, seed=0, options=ScoreSettings().pass_options())
    assert rec.proxies == values
    # the default's hash is the one artifacts written before the setting carry
    import hashlib
    import json

    d = ScoreSettings().as_dict()
    assert d["protocol"] == "uniform"
    del d["protocol"]
    old = hashlib.sha256(
        json.dumps({"space": "nb201", "dataset": "cifar10", "settings": d}, sort_keys=True).encode()
    ).hexdigest()
    assert settings_hash("nb201", "cifar10", ScoreSettings()) == old
    assert settings_hash("nb201", "cifar10", ScoreSettings(protocol="reference")) != old
    with pytest.raises(ValueError, match="protocol"):
        ScoreSettings(protocol="published")


@pytest.mark.slow
def test_reference_protocol_definitions_and_inits():
    import torch

    from intrain.proxies.base import kaiming_fanin_init
    from intrain.scoring.scorer import evaluate
    from intrain.spaces.nb201.encoding import conv_macs

    uni, ref = _scorer("uniform"), _scorer("reference")
    # one network per (init, input): the as-built Gaussian group first; real-image proxies on the stand-in
    assert [(i, d) for i, d, _ in ref.groups] == [
        (None, None),
        (None, "natural"),
        ("kaiming", None),
        ("kaiming", "natural"),
    ]
    assert ref.input_of["snip"].startswith("natural:") and ref.input_of["grad_norm"] == "gaussian"
    assert set(uni.input_of.values()) == {"gaussian"}
    for arch in (DEAD, LIVE):
        u, r = uni.score(0, arch).proxies, ref.score(0, arch).proxies
        # FLOPs: the unpruned network's under reference; they differ exactly when a conv edge is dead
        assert r["flops"]["score"] == conv_macs(arch, "cifar10", reference=True)
        assert u["flops"]["score"] == conv_macs(arch, "cifar10", reference=False)
        # InTrain, #Params and FLOPs keep the as-built init and Gaussian input: with no dead edge the
        # networks coincide and so do their scores; with one they differ
        same = arch == LIVE
        for name in ("intrain", "params", "flops"):
            assert (u[name] == r[name]) is same, name
        # grad_norm_layers keeps its definition and init but its published run read real images
        assert u["grad_norm_layers"] != r["grad_norm_layers"]
        # the Kaiming proxies differ from uniform on both cells (another init)
        for name in ("grad_norm", "snip", "synflow", "naswot", "jacov"):
            assert u[name]["score"] != r[name]["score"], name

        # ... and equal an independent computation on a Kaiming fan-in re-initialised reference network
        def kaiming_build(arch=arch):
            torch.manual_seed(0)
            m = ref.space.build(arch, "cifar10", protocol="reference")
            kaiming_fanin_init(m, torch.Generator().manual_seed(61))
            return m

        for data in (None, "natural"):
            kaiming = [p for p in ref.proxies if p.reference_init == "kaiming" and ref.data_of(p) == data]
            x, y = ref.batch(data)
            _, v = evaluate(kaiming_build, x, y, 10, kaiming, seed=0, options=ref.settings.pass_options())
            assert v and {k: r[k] for k in v} == v
        # grad_norm under reference: one L2 norm over every parameter's gradient (BN, bias included)
        m = kaiming_build()
        torch.nn.functional.cross_entropy(m.train()(ref.x), ref.y).backward()
        total = torch.sqrt(sum(p.grad.double().pow(2).sum() for p in m.parameters() if p.grad is not None))
        assert r["grad_norm"]["score"] == pytest.approx(float(total), rel=1e-6)
        layers = sum(
            torch.linalg.vector_norm(mod.weight.grad.double())
            for mod in m.modules()
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))
        )
        assert r["grad_norm"]["score"] < float(layers)  # sqrt of a sum of squares < sum of the norms


def _tiny_bn_net():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def _tiny_mlp():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 3))


def test_tenas_reference_ntk_is_train_mode_over_every_weight():
    """Reference NTK: one train-mode forward, a backward per sample of its summed logits, every
    ``*weight`` (BN γ included), float32. Checked against a loop written from the definition;
    it differs from the uniform NTK (calibrated eval-mode BN, conv/linear weights) on a BN network
    and agrees with it where neither BN nor the parameter choice can matter (an MLP)."""
    import torch

    from intrain.proxies.kernel import per_sample_grams, train_mode_ntk

    x = torch.randn(6, 3, 2, 2, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    net = _tiny_bn_net()
    ntk = train_mode_ntk(net, x)
    assert ntk.dtype == torch.float32 and ntk.shape == (6, 6)
    m = _tiny_bn_net().train()
    out = m(x)
    rows = []
    for i in range(6):
        m.zero_grad()
        out[i].sum().backward(retain_graph=True)
        rows.append(torch.cat([p.grad.reshape(-1) for n, p in m.named_parameters() if "weight" in n]))
    g = torch.stack(rows)
    assert g.shape[1] == 4 * 27 + 4 + 3 * 4  # conv, BN γ, linear weights
    torch.testing.assert_close(ntk, g @ g.t())
    uniform, _ = per_sample_grams(_tiny_bn_net(), x, y)
    assert not torch.allclose(uniform.float(), ntk, rtol=1e-3)
    mlp_ref = train_mode_ntk(_tiny_mlp(), x)
    mlp_uni, _ = per_sample_grams(_tiny_mlp(), x, y)
    torch.testing.assert_close(mlp_ref.double(), mlp_uni, rtol=1e-5, atol=1e-6)


def test_tenas_reads_other_passes_under_the_reference_protocol():
    from intrain.proxies import get_proxy
    from intrain.scoring.scorer import plan

    uni, ref = get_proxy("tenas"), get_proxy("tenas")
    ref.protocol = "reference"
    assert plan([uni])[1] == ("linear_regions", "per_sample")
    assert plan([ref])[1] == ("linear_regions_batch", "ntk_train")
    zico = get_proxy("zico")
    zico.protocol = "reference"
    assert plan([zico])[1] == ("zico_batches",)  # the reference pass replaces the half-batch one


def test_linear_regions_over_the_batch_saturate_at_its_size():
    import torch

    from intrain.proxies.base import PassContext
    from intrain.proxies.kernel import linear_regions_batch_pass

    x = torch.zeros(16, 3, 8, 8)
    ctx = PassContext(build=_tiny_bn_net, x=x, y=torch.zeros(16, dtype=torch.long), num_classes=3, seed=0)
    assert linear_regions_batch_pass(ctx)["regions"] == 16.0  # 256 ReLU units: every input its own pattern
    ctx = PassContext(build=_tiny_mlp, x=torch.zeros(16, 3, 2, 2), y=ctx.y, num_classes=3, seed=0)
    assert linear_regions_batch_pass(ctx)["regions"] == 1.0  # no 4-d ReLU output: nothing to count


def test_zico_reference_reads_two_whole_batches():
    import torch

    from intrain.proxies import formulas
    from intrain.proxies.base import PassContext
    from intrain.proxies.zico import zico_batches_pass, zico_pass

    gen = torch.Generator().manual_seed(2)
    batches = [(torch.randn(8, 3, 4, 4, generator=gen), torch.randint(0, 3, (8,), generator=gen)) for _ in range(2)]
    ctx = PassContext(
        build=_tiny_bn_net, x=batches[0][0], y=batches[0][1], num_classes=3, seed=0, more=lambda k: batches[k]
    )
    got = zico_batches_pass(ctx)["score"]
    m = _tiny_bn_net().train()
    grads = {"0": [], "5": []}
    for x, y in batches:
        m.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        for name in grads:
            grads[name].append(m.get_submodule(name).weight.grad.reshape(-1).clone())
    assert got == pytest.approx(formulas.zico_score([torch.stack(g) for g in grads.values()]))
    assert got != zico_pass(ctx)["score"]  # the uniform pass halves the first batch instead
    # ... and agrees when its one batch is the two reference batches end to end
    both = PassContext(
        build=_tiny_bn_net,
        x=torch.cat([batches[0][0], batches[1][0]]),
        y=torch.cat([batches[0][1], batches[1][1]]),
        num_classes=3,
        seed=0,
    )
    assert zico_pass(both)["score"] == pytest.approx(got, rel=1e-12)
    with pytest.raises(RuntimeError, match="more than one scoring batch"):
        zico_batches_pass(PassContext(build=_tiny_bn_net, x=ctx.x, y=ctx.y, num_classes=3, seed=0))


@pytest.mark.slow
def test_nb101_reference_bn_momentum_moves_zen_and_nothing_else():
    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer
    from intrain.spaces.nb101.network import REFERENCE_BN_MOMENTUM

    arch = "0110-0001-0001-0000|conv3x3,maxpool3x3"
    settings = dict(batch_size=4, resolution=8, proxies=("intrain", "zen", "params"))
    uni = Scorer("nb101", "cifar10", ScoreSettings(**settings), device="cpu")
    ref = Scorer("nb101", "cifar10", ScoreSettings(protocol="reference", **settings), device="cpu")
    bns = [m for m in ref.build(arch).modules() if m.__class__.__name__ == "BatchNorm2d"]
    assert bns and {m.momentum for m in bns} == {REFERENCE_BN_MOMENTUM}
    u, r = uni.score(0, arch).proxies, ref.score(0, arch).proxies
    assert u["intrain"] == r["intrain"] and u["params"] == r["params"]  # batch statistics, not running ones
    assert u["zen"]["delta"] == r["zen"]["delta"]  # the feature response reads batch statistics too
    assert r["zen"]["bn_log_scale"] > u["zen"]["bn_log_scale"]  # running variances move 33x faster


def test_natural_input_per_proxy_is_deterministic_and_recorded():
    import torch

    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    def scorer(seed=0):
        return Scorer(
            "nb201",
            "cifar10",
            ScoreSettings(batch_size=4, proxies=("snip", "synflow", "zico"), protocol="reference", seed=seed),
            device="cpu",
        )

    a, b, c = scorer(), scorer(), scorer(seed=1)
    assert a.input_of == b.input_of and a.input_of["synflow"] == "gaussian"
    assert a.input_of["snip"] == a.input_of["zico"] and a.input_of["snip"].startswith("natural:")
    assert c.input_of["snip"] != a.input_of["snip"]  # another seed, other crops, another digest
    x1, _ = a.batch("natural", 1)
    assert x1.shape == a.batch("natural")[0].shape and not torch.equal(x1, a.batch("natural")[0])
    assert torch.equal(x1, b.batch("natural", 1)[0])


def test_variant_labels_keep_one_run_s_variants_apart():
    from intrain.analysis.correlate import variant_suffix

    assert variant_suffix({"settings": {"protocol": "uniform", "layers": "conv"}}) == ""
    assert variant_suffix({"settings": {"protocol": "reference", "layers": "conv"}}) == "@reference"
    assert variant_suffix({"settings": '{"protocol": "reference", "layers": "relu"}'}) == "@reference+relu"
    assert variant_suffix({}) == ""  # artifacts written before the settings were recorded


# ----------------------------------------------------------------------------- the workflow and the table


@pytest.mark.slow
def test_protocol_sets_and_table_through_the_workflow(tmp_path, mirror):
    """Baseline sets under the reference protocol, on their own sub-sample and datasets, and the
    post-activation InTrain variant, end to end: the sub-sample is a subset of the space's
    selection, each proxy's input is recorded, and the protocol table pairs every variant with
    its uniform scores on the architectures both scored."""
    import subprocess
    import sys

    import pandas as pd

    from intrain.core.artifacts import read_proxy_inputs, read_scores

    from .conftest import REPO

    results = tmp_path / "results"
    light = ["grad_norm", "snip", "synflow", "flops"]
    cfg = {
        "results": str(results),
        "mirror": str(mirror),
        "spaces": {"nb201": {"sample": 8, "shard_size": 4}},
        "studies": {"enabled": False},
        "correlation": {"n_boot": 20},
        "baselines": {
            "sets": {
                "zc": {"proxies": ["synflow"]},  # the same proxy in two sets: one bar, one table row
                "light": {"proxies": light, "datasets": ["cifar10"]},
                "light_ref": {"proxies": light, "protocol": "reference", "datasets": ["cifar10"]},
                "heavy_ref": {
                    "proxies": ["zico"],
                    "protocol": "reference",
                    "sample": 4,
                    "shard_size": 2,
                    "datasets": ["cifar10"],
                },
                "relu": {"proxies": ["intrain"], "layers": "relu", "datasets": ["cifar10"]},
            }
        },
    }
    # JSON: the sets share lists, which YAML would write as aliases (refused in config files)
    (tmp_path / "c.yaml").write_text(json.dumps(cfg))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--configfile",
            "config/tiny.yaml",
            str(tmp_path / "c.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    main = pd.read_csv(results / "nb201" / "selection.csv")
    sub = pd.read_csv(results / "nb201" / "sets" / "heavy_ref" / "selection.csv")
    assert len(sub) == 4 and set(sub.arch_index) <= set(main.arch_index)
    assert not (results / "nb201" / "ImageNet16-120" / "set-heavy_ref.h5").exists()
    heavy = read_scores(results / "nb201" / "cifar10" / "set-heavy_ref.h5")
    assert set(heavy.arch_index) == set(sub.arch_index)
    inputs = read_proxy_inputs(results / "nb201" / "cifar10" / "set-light_ref.h5")
    assert inputs["grad_norm"] == "gaussian" and inputs["snip"].startswith("natural:grace_hopper")
    assert set(read_proxy_inputs(results / "nb201" / "cifar10" / "set-light.h5").values()) == {"gaussian"}

    corr = pd.read_csv(results / "correlations.csv")
    assert {"snip", "snip@reference", "zico@reference", "intrain@relu"} <= set(corr.proxy)
    row = corr[(corr.proxy == "snip@reference") & (corr.dataset == "cifar10")].iloc[0]
    assert row.protocol == "reference" and row.input.startswith("natural:") and row.paper_kendall == 0.431

    table = pd.read_csv(results / "protocols.csv")
    c10 = table[table.dataset == "cifar10"].set_index(["proxy", "variant"])
    assert {("snip", "reference"), ("grad_norm", "reference"), ("intrain", "relu")} <= set(c10.index)
    # zico has a reference variant but no uniform scores in this run: no paired difference
    assert c10.loc[("zico", "reference"), "n"] == 4 and pd.isna(c10.loc[("zico", "reference"), "minus_uniform"])
    snip = c10.loc[("snip", "reference")]
    assert snip.n == snip.n_uniform == snip.n_paired == 8
    assert snip.minus_uniform == pytest.approx(snip.tau - snip.tau_uniform)
    assert snip.tau_uniform_paired == pytest.approx(snip.tau_uniform)  # the same 8 architectures
    assert snip.minus_published == pytest.approx(snip.tau - 0.431)
    assert snip.intrain_minus_lo <= snip.intrain_minus <= snip.intrain_minus_hi
    # FLOPs (no dead edge is re-initialised; the unpruned count) and the published value of every row
    assert c10.loc[("flops", "reference"), "published"] == 0.623
    md = (results / "protocols.md").read_text()
    assert "### nb201 / cifar10" in md
    # issue 31: the paper's ranking claims, one per reference row with a published value
    assert "### Ranking claims, nb201" in md and "InTrain > snip" in md and "InTrain > synflow" in md
    html = (results / "report" / "index.html").read_text()
    assert "Protocols: uniform vs reference" in html and "Ranking claims of the paper" in html


def test_a_sub_sampled_variant_shows_the_uniform_tau_on_its_own_rows():
    """A variant scored on 50 of 1,000 architectures: the uniform τ shown beside it says which
    sample it covers, and the paired uniform τ on the variant's own 50."""
    import pandas as pd

    from intrain.analysis.comparison import display_rows

    row = dict(
        space="nb201",
        dataset="cifar100",
        proxy="swap",
        variant="reference",
        input="gaussian",
        n=50,
        tau=0.561,
        tau_lo=0.403,
        tau_hi=0.712,
        published=np.nan,
        minus_published=np.nan,
        n_uniform=1000,
        tau_uniform=0.526,
        tau_uniform_lo=0.492,
        tau_uniform_hi=0.559,
        n_paired=50,
        tau_uniform_paired=0.384,
        minus_uniform=0.176,
        minus_uniform_lo=0.013,
        minus_uniform_hi=0.34,
        n_vs_intrain=50,
        intrain_minus=0.078,
        intrain_minus_lo=-0.069,
        intrain_minus_hi=0.227,
    )
    shown = display_rows(pd.DataFrame([row]))[0]["τ uniform [95% CI]"]
    assert shown == "0.526 [0.492, 0.559] (n = 1000; on these 50: 0.384)"
    part = display_rows(pd.DataFrame([{**row, "n_uniform": 28, "n_paired": 20}]))[0]["τ uniform [95% CI]"]
    assert part == "0.526 [0.492, 0.559] (n = 28; on the 20 both scored: 0.384)"
    same = display_rows(pd.DataFrame([{**row, "n_uniform": 50}]))[0]["τ uniform [95% CI]"]
    assert same == "0.526 [0.492, 0.559]"


def test_a_proxys_own_wall_time_is_never_correlated_with_accuracy():
    """``meco.seconds`` measures the machine; a resumed run's correlations must equal an
    uninterrupted run's (benchmarks/kill_trials.py), so timing components are not correlated."""
    import pandas as pd

    from intrain.analysis.correlate import proxy_columns

    cols = ["arch_index", "seconds", "meco", "meco.modules", "meco.seconds", "swap.seconds"]
    assert proxy_columns(pd.DataFrame(columns=cols)) == ["meco", "meco.modules"]
