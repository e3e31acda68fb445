"""NAS-Bench-101: specs, pruning, the benchmark's hash and parameter counts, ground-truth readers,
and the space inside the workflow."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import pandas as pd
import pytest
import torch

from intrain.analysis.correlate import correlation_table
from intrain.analysis.groundtruth import GroundTruthError, GroundTruths, normalize
from intrain.planning.selection import select
from intrain.spaces import get_space
from intrain.spaces.nb101 import encoding as nb101
from intrain.spaces.nb101.network import NB101Network
from intrain.spaces.nb101.tfrecord import RecordError, encode_metrics, iter_nasbench, write_records

from .conftest import REPO

CHAIN = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]  # input -> conv3x3 -> output


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.fixture(scope="module")
def fixture_records(mirror):
    return json.loads((mirror / "nb101" / "nb101_30archs_3runs.json").read_text())


def test_parameter_count_and_hash_match_the_benchmark_for_all_30_records(fixture_records):
    assert len(fixture_records) == 30
    for rec in fixture_records:
        spec = nb101.make_spec(rec["adjacency"], rec["operations"])
        assert n_params(NB101Network(spec, 10)) == rec["trainable_parameters"], rec["hash"]
        assert nb101.module_hash(spec) == rec["hash"]


def test_hand_counted_parameters_of_the_smallest_cell():
    # stem 3->128 3x3 conv + BN; per cell: 1x1 projection c_in->c and BN, then the 3x3 conv c->c and BN
    spec = nb101.make_spec(CHAIN, ["input", "conv3x3", "output"])
    expected = 3 * 128 * 9 + 2 * 128
    for c_in, c in [
        (128, 128),
        (128, 128),
        (128, 128),
        (128, 256),
        (256, 256),
        (256, 256),
        (256, 512),
        (512, 512),
        (512, 512),
    ]:
        expected += c_in * c + 2 * c + c * c * 9 + 2 * c
    expected += 512 * 10 + 10
    assert n_params(NB101Network(spec, 10)) == expected


def test_vertex_channels_split_the_output_and_widen_backwards():
    # vertices 1, 2, 3 feed the output: 128 = 43 + 43 + 42
    fan = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert nb101.vertex_channels(64, 128, fan) == [64, 43, 43, 42, 128]
    # vertex 1 feeds only vertex 2 and 3; it takes the widest of them (43)
    deep = [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert nb101.vertex_channels(128, 85, deep) == [128, 43, 43, 42, 85]
    assert nb101.vertex_channels(128, 256, [[0, 1], [0, 0]]) == [128, 256]


def test_pruning_drops_vertices_off_every_input_output_path():
    # vertex 2 is a dead end (no path to the output); vertex 3 is unreachable from the input
    matrix = [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    spec = nb101.make_spec(matrix, ["input", "conv1x1", "maxpool3x3", "conv3x3", "output"])
    pruned = nb101.prune(spec)
    assert pruned.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
    assert pruned.ops == ("input", "conv1x1-bn-relu", "output")
    assert nb101.module_hash(spec) == nb101.module_hash(pruned)
    full, small = NB101Network(spec, 10), NB101Network(pruned, 10)
    assert n_params(full) == n_params(small)
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(0)
    a = NB101Network(spec, 10)(x)
    torch.manual_seed(0)
    b = NB101Network(pruned, 10)(x)
    assert a.shape == (2, 10) and torch.equal(a, b)


def test_hash_is_invariant_to_vertex_order_and_sees_operations():
    a = nb101.make_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3", "conv1x1", "output"]
    )
    b = nb101.make_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1", "conv3x3", "output"]
    )  # the two branches swapped
    c = nb101.make_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1", "conv1x1", "output"]
    )
    assert nb101.module_hash(a) == nb101.module_hash(b) != nb101.module_hash(c)


def test_arch_string_round_trip_and_short_or_long_op_names():
    spec = nb101.make_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
    )
    s = spec.to_str()
    assert s == "0110-0001-0001-0000|conv3x3,maxpool3x3"
    assert nb101.parse_arch(s) == spec
    assert get_space("nb101").normalize(s) == s and get_space("nb101").canonical(s) == nb101.module_hash(spec)


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], ["input", "conv3x3", "output"], "upper-triangular"),
        ([[0, 1, 0], [1, 0, 1], [0, 0, 0]], ["input", "conv3x3", "output"], "upper-triangular"),
        (CHAIN, ["input", "conv5x5", "output"], "unknown operation 'conv5x5'"),
        (CHAIN, ["conv3x3", "conv3x3", "output"], "first operation must be 'input'"),
        (CHAIN, ["input", "conv3x3"], "3 vertices but 2 operations"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "conv3x3", "output"], "no path from the input"),
        ([[0] * 8 for _ in range(8)], ["input"] + ["conv3x3"] * 6 + ["output"], "2..7 vertices"),
        (
            [[1 if j > i else 0 for j in range(6)] for i in range(6)],
            ["input"] + ["conv1x1"] * 4 + ["output"],
            "at most 9 edges, got 15",
        ),
        ([[0, 2, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3", "output"], "0 or 1"),
        ([[0, 1], [0, 0, 1]], ["input", "output"], "square"),
    ],
)
def test_bad_specs_are_rejected_with_the_reason(matrix, ops, message):
    with pytest.raises(nb101.ArchSpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        nb101.make_spec(matrix, ops)


@pytest.mark.parametrize(
    "arch, message",
    [
        ("011-001-000", "must look like"),
        ("012-001-000|conv3x3", "0/1 digits"),
        ("011-001-000|conv3x3,conv3x3", "3 vertices but 4 operations"),
    ],
)
def test_bad_arch_strings_are_rejected(arch, message):
    with pytest.raises(nb101.ArchSpecError, match=message):
        nb101.parse_arch(arch)


# ----------------------------------------------------------------------------- ground truth


def test_mirrored_2500_cells_normalise_to_the_common_table(mirror, tmp_path):
    from intrain.core.download import fetch, get_file

    entry = get_file("nb101_2500")
    path = fetch(entry, tmp_path / f"nb101_2500{entry.suffix}", mirror=str(mirror))
    table = normalize("nb101", path)
    assert len(table) == entry.rows == 2500
    assert list(table.columns) == ["arch_index", "arch", "canonical", "acc_cifar10"]
    assert table["canonical"].nunique() == 2500  # distinct cells, as the README says
    assert table["acc_cifar10"].min() >= 10.0 and table["acc_cifar10"].max() <= 94.1  # percent, not fractions
    raw = json.loads(path.read_text())
    assert table["acc_cifar10"].iloc[7] == pytest.approx(100 * raw[7][1])
    assert nb101.parse_arch(table["arch"].iloc[7]) == nb101.make_spec(*raw[7][0])


def test_record_exports_are_checked_against_their_hash(fixture_records, tmp_path):
    good = tmp_path / "records.json"
    good.write_text(json.dumps(fixture_records))
    table = normalize("nb101", good)
    rec = fixture_records[3]
    assert table["canonical"].iloc[3] == rec["hash"]
    assert table["acc_cifar10"].iloc[3] == pytest.approx(100 * sum(rec["test_accuracy_runs"]) / 3)
    assert table["valid_cifar10"].iloc[3] == pytest.approx(100 * sum(rec["validation_accuracy_runs"]) / 3)
    bad = [dict(r) for r in fixture_records]
    bad[5]["hash"] = fixture_records[6]["hash"]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(GroundTruthError, match="record 5 says hash"):
        normalize("nb101", tmp_path / "bad.json")
    bad = [dict(r) for r in fixture_records]
    bad[2]["operations"] = ["input", "conv7x7", *bad[2]["operations"][2:]]
    (tmp_path / "bad_op.json").write_text(json.dumps(bad))
    with pytest.raises(GroundTruthError, match="record 2: unknown operation 'conv7x7'"):
        normalize("nb101", tmp_path / "bad_op.json")
    with pytest.raises(GroundTruthError, match="no NB101 reader for '.csv'"):
        (tmp_path / "x.csv").write_text("a\n")
        normalize("nb101", tmp_path / "x.csv")
    with pytest.raises(FileNotFoundError, match="run the download step"):
        normalize("nb101", tmp_path / "missing.json")


def _tfrecord_rows(records, epochs=108):
    rows = []
    for rec in records:
        adj = "".join(str(v) for row in rec["adjacency"] for v in row)
        for test, valid in zip(rec["test_accuracy_runs"], rec["validation_accuracy_runs"]):
            metrics = encode_metrics(test, valid, rec["trainable_parameters"])
            rows.append(json.dumps([rec["hash"], epochs, adj, ",".join(rec["operations"]), metrics]).encode())
    return rows


def test_official_tfrecord_layout_reads_without_tensorflow(fixture_records, tmp_path):
    records = fixture_records[:4]
    path = tmp_path / "nasbench_only108.tfrecord"
    write_records(path, _tfrecord_rows(records) + _tfrecord_rows(records[:1], epochs=36))
    runs = list(iter_nasbench(path))
    assert len(runs) == 12  # 4 cells x 3 runs at 108 epochs; the 36-epoch rows are skipped
    assert runs[0]["trainable_parameters"] == records[0]["trainable_parameters"]
    from_tfrecord = normalize("nb101", path)
    (tmp_path / "same.json").write_text(json.dumps(records))
    from_json = normalize("nb101", tmp_path / "same.json")
    pd.testing.assert_frame_equal(from_tfrecord, from_json)
    truncated = tmp_path / "cut.tfrecord"
    truncated.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(RecordError, match="truncated record"):
        list(iter_nasbench(truncated))


def test_groundtruths_pick_each_artifacts_space(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("arch_index,arch,canonical,acc_cifar10\n")
    b.write_text("arch_index,arch,canonical,acc_cifar10\n")
    gts = GroundTruths([f"nb201={a}", f"nb101={b}"])
    assert gts.path("nb201") == str(a) and gts.path("nb101") == str(b)
    with pytest.raises(ValueError, match="no ground-truth table for space 'other'"):
        gts.path("other")
    assert GroundTruths(str(a)).path("anything") == str(a)
    with pytest.raises(ValueError, match="given twice"):
        GroundTruths([f"nb201={a}", f"nb201={b}"])


def test_selection_of_explicit_nb101_archs(mirror):
    table = normalize("nb101", mirror / "nb101" / "nb101_30archs_3runs.json")
    wanted = list(table["arch"].iloc[[4, 9]])
    sel = select(table, wanted, seed=0, n_shards=2, space="nb101")
    assert sorted(sel["arch"]) == sorted(wanted)
    with pytest.raises(nb101.ArchSpecError):
        select(table, ["0111-0001|conv3x3"], seed=0, n_shards=1, space="nb101")


# ----------------------------------------------------------------------------- workflow


@pytest.mark.slow
def test_workflow_scores_nb101_and_nds_beside_nb201(tmp_path, mirror):
    """Three spaces in one run: their own ground truth, shards, merge, correlations and report
    (NDS at its own reduced resolution, NB201 at its native one)."""
    cfg = tmp_path / "both.yaml"
    cfg.write_text(
        "spaces:\n  nb101: {enabled: true, sample: 4, shard_size: 2, sample_seed: 3}\n"
        "  nds_resnext_a: {enabled: true, sample: 3, shard_size: 2, resolution: 32}\n"
        "studies: {enabled: false}\nbaselines: {sets: {}}\n"
    )
    results = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--configfile",
            "config/tiny.yaml",
            str(cfg),
            "--config",
            f"results={results}",
            f"mirror={mirror}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (results / "benchmarks" / "nb101_2500.json").exists()
    corr = pd.read_csv(results / "correlations.csv")
    nb = corr[(corr.space == "nb101") & (corr.proxy == "intrain")].iloc[0]
    assert nb.n == 4 and nb.paper_kendall == pytest.approx(0.56)
    assert set(corr[corr.proxy == "intrain"].space) == {"nb101", "nb201", "nds_resnext_a"}
    assert corr[(corr.space == "nds_resnext_a") & (corr.proxy == "intrain")].n.iloc[0] == 3
    with h5py.File(results / "nds_resnext_a" / "imagenet" / "scores.h5") as f:
        assert f.attrs["resolution"] == 32 and f.attrs["dataset"] == "imagenet"
    with h5py.File(results / "nb201" / "cifar10" / "scores.h5") as f:
        assert f.attrs["resolution"] == 32  # native: the NDS setting stays in its space
    # the correlation uses NB101's own table: recompute it by hand
    gt = pd.read_csv(results / "groundtruth" / "nb101.csv")
    again = correlation_table(
        [str(results / "nb101" / "cifar10" / "scores.h5")], [f"nb101={results / 'groundtruth' / 'nb101.csv'}"], n_boot=0
    )
    assert again.set_index("proxy").loc["intrain", "kendall"] == pytest.approx(nb.kendall)
    assert len(gt) == 2500
    assert "nb101/cifar10" in (results / "report" / "index.html").read_text()


@pytest.mark.slow
def test_space_specific_proxies_run_on_nb101_networks():
    """Zen needs forward_features and AZ-NAS feature_modules; both exist on the NB101 network."""
    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    arch = nb101.make_spec(
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", "conv1x1", "maxpool3x3", "output"]
    ).to_str()
    settings = ScoreSettings(batch_size=4, proxies=("intrain", "naswot", "zen", "zico", "synflow", "az_nas", "flops"))
    record = Scorer("nb101", "cifar10", settings, device="cpu").score(0, arch)
    for proxy, values in record.proxies.items():
        assert all(map(lambda v: v == v and abs(v) != float("inf"), values.values())), (proxy, values)
    assert record.proxies["intrain"]["n_layers"] > 9  # stem + projections + convs of 9 cells
