"""NDS design spaces: networks built from records match the records' params and FLOPs, bad
records are refused by name, and the ground truth comes through the download path."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from intrain.analysis.groundtruth import GroundTruthError
from intrain.spaces import get_space
from intrain.spaces.nds import encoding as enc
from intrain.spaces.nds import network as nds
from intrain.spaces.nds.groundtruth import read_groundtruth as normalize_nds

FILES = {
    "nds_amoeba": "Amoeba",
    "nds_darts": "DARTS",
    "nds_enas": "ENAS",
    "nds_nasnet": "NASNet",
    "nds_pnas": "PNAS",
    "nds_resnext_a": "ResNeXt-A",
    "nds_resnext_b": "ResNeXt-B",
}

TINY_CELL = {
    "aux": False,
    "depth": 3,
    "drop_prob": 0.0,
    "width": 8,
    "genotype": {
        "normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2], ["none", 1]],
        "normal_concat": [2, 3],
        "reduce": [["avg_pool_3x3", 0], ["dil_conv_3x3", 1], ["conv_7x1_1x7", 2], ["skip_connect", 0]],
        "reduce_concat": [2, 3],
    },
}
TINY_RESNEXT = {
    "block_type": "res_bottleneck_block",
    "ds": [1, 1],
    "ws": [64, 32],
    "ss": [8, 2],
    "bot_muls": [1.0, 0.5],
    "num_gs": [1, 4],
}


def records(mirror, space: str) -> list[dict]:
    return json.loads((mirror / "nds_imagenet" / f"{FILES[space]}_in.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("space", sorted(FILES))
def test_builder_matches_every_records_params_and_flops(mirror, space):
    """The bar of the issue: exact agreement for every mirrored model (897 in all)."""
    bad = []
    for k, rec in enumerate(records(mirror, space)):
        model = get_space(space).build(enc.normalize_arch(rec["net"]), "imagenet")
        got = (nds.count_params(model), nds.count_flops(model))
        if got != (rec["params"], rec["flops"]):
            bad.append((k, got, (rec["params"], rec["flops"])))
    assert not bad, f"{len(bad)} records differ, first: {bad[:3]}"


def test_hand_counted_resnext_parameters_and_flops():
    """Stem 3x3 convs 3->32->64->64 (+BN), one bottleneck 64->32 (w_b = 16, 4 groups, stride 2,
    projection), 1000-way head; FLOPs at 224: MACs + head bias + 5 per BN output element."""
    model = nds.build_model(TINY_RESNEXT)
    bn = lambda c: 2 * c  # noqa: E731
    stem = 27 * 32 + bn(32) + 32 * 9 * 64 + bn(64) + 64 * 9 * 64 + bn(64)
    block = 64 * 32 + bn(32) + 64 * 16 + bn(16) + 16 * (16 // 4) * 9 + bn(16) + 16 * 32 + bn(32)
    assert nds.count_params(model) == stem + block + 32 * 1000 + 1000
    s1, s2, s3, s4 = 112**2, 56**2, 28**2, 14**2
    macs = (
        27 * 32 * s1
        + 32 * 9 * 64 * s2
        + 64 * 9 * 64 * s3
        + 64 * 32 * s4
        + 64 * 16 * s3
        + 16 * 4 * 9 * s4
        + 16 * 32 * s4
        + 32 * 1000
    )
    bn_out = 32 * s1 + 64 * s2 + 64 * s3 + 32 * s4 + 16 * s3 + 16 * s4 + 32 * s4
    assert nds.count_flops(model) == macs + 1000 + 5 * bn_out


def test_cell_network_shapes_and_reductions():
    """Depth 3: cells 1 and 2 reduce (depth//3, 2*depth//3), doubling the channels each time;
    the output concatenates two states of 4C; 64x64 input -> 8 (stem) -> 2x2 after two reductions."""
    model = nds.build_model(TINY_CELL)
    assert [isinstance(c.edges[0], torch.nn.AvgPool2d) for c in model.cells] == [False, True, True]
    assert model.classifier.in_features == 2 * 8 * 4
    feats = model.forward_features(torch.randn(2, 3, 64, 64))
    assert feats.shape == (2, 64, 2, 2)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 1000)
    zero = nds.Zero(2)(torch.randn(1, 3, 5, 5))
    assert zero.shape == (1, 3, 3, 3) and not zero.any()


def test_dilated_convs_are_counted_as_undilated_in_cell_flops():
    """The cell records' convention (fitted to all 603 cell records): a 3x3 dilation-2 conv with
    padding 2 is sized (h + 4 - 3) + 1 = h + 2 per side, as if undilated."""
    conv = torch.nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4, bias=False)
    inp, out = torch.zeros(1, 4, 10, 10), torch.zeros(1, 4, 10, 10)
    convention = nds.FLOP_CONVENTIONS[nds.CellNetwork]
    assert convention(conv, inp, out) == 9 * 1 * 4 * 12 * 12
    assert nds.FLOP_CONVENTIONS[nds.ResNeXtNetwork](conv, inp, out) == 9 * 4 * 10 * 10


def test_arch_string_is_canonical_json_and_round_trips():
    shuffled = json.loads(json.dumps(TINY_RESNEXT))
    arch = enc.normalize_arch(json.dumps(dict(reversed(list(shuffled.items())))))
    assert arch == enc.normalize_arch(TINY_RESNEXT) == json.dumps(TINY_RESNEXT, sort_keys=True, separators=(",", ":"))
    assert enc.canonical_form(arch) == arch
    space = get_space("nds_resnext_a")
    assert space.normalize(arch) == arch
    torch.manual_seed(0)
    a = space.build(arch, "imagenet")
    torch.manual_seed(0)
    b = space.build(arch, "imagenet")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def _with(net: dict, path: tuple, value) -> dict:
    net = copy.deepcopy(net)
    target = net
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return net


@pytest.mark.parametrize(
    "net, message",
    [
        (_with(TINY_CELL, ("genotype", "normal", 1), ["conv_9x9", 1]), "unknown operation 'conv_9x9'"),
        (_with(TINY_CELL, ("genotype", "reduce", 2), ["max_pool_3x3", 5]), "input state 5 does not exist"),
        (_with(TINY_CELL, ("genotype", "normal_concat"), [2, 7]), "concat state 7 out of range"),
        (_with(TINY_CELL, ("genotype", "normal"), [["skip_connect", 0]]), "even, non-empty list"),
        (_with(TINY_CELL, ("width",), 7), "width must be even"),
        (_with(TINY_CELL, ("aux",), True), "auxiliary heads"),
        (_with(TINY_RESNEXT, ("block_type",), "res_basic_block"), "unknown block_type 'res_basic_block'"),
        (_with(TINY_RESNEXT, ("num_gs",), [1, 3]), "not divisible by 3 groups"),
        (_with(TINY_RESNEXT, ("ss",), [8, 2, 2]), "differ in length"),
        (_with(TINY_RESNEXT, ("bot_muls",), [1.0, "half"]), "stage 1 bottleneck multiplier"),
        (_with(TINY_RESNEXT, ("ds",), [1, 0]), "stage 1 depth must be an integer >= 1"),
        (_with(TINY_RESNEXT, ("ws",), [32, 32]), "fixed stem"),
        ({"width": 8}, "neither 'genotype'"),
    ],
)
def test_bad_records_are_refused_with_the_reason(net, message):
    with pytest.raises(enc.NDSRecordError, match=message):
        nds.build_model(net)


def test_bad_arch_string_is_refused():
    with pytest.raises(enc.NDSRecordError, match="not JSON"):
        get_space("nds_darts").normalize("{genotype: nope")


# ----------------------------------------------------------------------------- ground truth


@pytest.mark.parametrize("space", ["nds_darts", "nds_resnext_b"])
def test_records_download_and_normalise(mirror, tmp_path, space):
    """Through the catalog (sha256-verified) to the common table: accuracy = 100 - final error."""
    from intrain.core.download import catalog, fetch

    key, entry = next((k, e) for k, e in catalog().items() if e.space == space)
    path = fetch(entry, tmp_path / f"{key}{entry.suffix}", mirror=str(mirror))
    table = normalize_nds(path)
    raw = records(mirror, space)
    assert len(table) == entry.rows == len(raw)
    assert table["arch"].is_unique
    assert table["acc_imagenet"].iloc[5] == pytest.approx(100 - raw[5]["test_ep_top1"][-1])
    assert table["best_acc_imagenet"].iloc[5] == pytest.approx(100 - min(raw[5]["test_ep_top1"]))
    assert json.loads(table["arch"].iloc[5]) == raw[5]["net"]
    assert (table["acc_imagenet"] > 15).all() and (table["acc_imagenet"] < 80).all()


def test_a_record_with_an_unknown_op_fails_the_normaliser_naming_it(mirror, tmp_path):
    raw = records(mirror, "nds_pnas")[:4]
    raw[2]["net"]["genotype"]["reduce"][3][0] = "transformer_block"
    path = tmp_path / "PNAS_in.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(GroundTruthError, match=r"record 2: .*unknown operation 'transformer_block'"):
        normalize_nds(path)
    path.write_text(json.dumps([{"net": TINY_RESNEXT}]))
    with pytest.raises(GroundTruthError, match="record 0 lacks a usable 'test_ep_top1'"):
        normalize_nds(path)
    path.write_text(json.dumps([{"net": TINY_RESNEXT, "test_ep_top1": [], "params": 1, "flops": 1}]))
    with pytest.raises(GroundTruthError, match="record 0 has an unusable test_ep_top1/params/flops value"):
        normalize_nds(path)


def test_exports_split_into_top_and_mid_halves_are_read_in_order(mirror, tmp_path):
    raw = records(mirror, "nds_enas")[:5]
    path = tmp_path / "ENAS_in.json"
    path.write_text(json.dumps({"top": raw[:2], "mid": raw[2:]}))
    split = normalize_nds(path)
    path.write_text(json.dumps(raw))
    assert split.equals(normalize_nds(path))


def test_proxies_run_on_nds_networks_at_reduced_resolution():
    """The scorer builds NDS networks at the configured side; proxies that need forward_features
    (zen) and feature_modules (az_nas) work on both families."""
    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    settings = ScoreSettings(batch_size=4, resolution=32, proxies=("intrain", "zen", "naswot", "az_nas", "flops"))
    for space, net in (("nds_darts", TINY_CELL), ("nds_resnext_a", TINY_RESNEXT)):
        scorer = Scorer(space, "imagenet", settings, device="cpu")
        assert scorer.x.shape == (4, 3, 32, 32)
        record = scorer.score(0, enc.normalize_arch(net))
        for proxy, values in record.proxies.items():
            assert all(v == v and abs(v) != float("inf") for v in values.values()), (space, proxy, values)


def test_describe_adds_the_records_flop_convention():
    """``intrain describe`` asks the space for its own conventions (Space.describe): NDS adds the records' FLOPs."""
    from intrain.spaces.describe import describe

    d = describe("nds_darts", json.dumps(TINY_CELL))
    model = nds.build_model(TINY_CELL)
    assert d["conventions"]["nds_record_flops"] == nds.count_flops(model, 224)
    assert d["params"] == nds.count_params(model) and "zen_flops" not in d["conventions"]
