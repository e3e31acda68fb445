"""Interop (intrain.interop): encodings, the peers' score files, export -> import, agreement.

The fixtures below are written by hand in the peers' published layouts (NASLib
``scripts/zc/create_benchmarks.py`` / ``get_zc_benchmark_api``; zero-cost-nas ``nasbench2_pred.py``
and ``nasbench1_pred.py``), a few architectures each.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from intrain.cli import main
from intrain.core.artifacts import merge_shards, read_attrs, read_scores, write_shard
from intrain.core.errors import InputError, UnsafeInputError
from intrain.interop import peer_encodings as enc
from intrain.interop.export import export
from intrain.interop.importer import import_scores
from intrain.interop.naslib_zc import read_zc
from intrain.interop.zero_cost_nas import read_stream
from intrain.spaces.nb101 import peers as nb101_peers
from intrain.spaces.nb101.encoding import make_spec, module_hash, prune
from intrain.spaces.nb101.encoding import parse_arch as nb101_parse
from intrain.spaces.nb201 import peers as nb201_peers

from .conftest import REPO
from .helpers import fake_record

NASLIB_TUPLE = "(4, 0, 3, 1, 4, 3)"
NASLIB_TUPLE_ARCH = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(autouse=True)
def _mirror_env(mirror, monkeypatch):
    monkeypatch.setenv("INTRAIN_MIRROR", str(mirror))


@pytest.fixture(scope="module")
def bench(mirror):
    return pd.read_csv(mirror / "nb201" / "nats_tss_200ep_test_acc.csv")


@pytest.fixture(scope="module")
def valid_gt(mirror, tmp_path_factory):
    """NB201 ground truth with valid_<dataset> columns (the *_train_valid_test.csv files)."""
    from intrain.analysis.groundtruth import normalize

    nb = mirror / "nb201"
    out = tmp_path_factory.mktemp("gtv") / "nb201.csv"
    normalize(
        "nb201",
        nb / "nats_tss_200ep_test_acc.csv",
        {ds: nb / f"nasbench201_{ds}_train_valid_test.csv" for ds in ("cifar10", "cifar100")},
    ).to_csv(out, index=False)
    return out


def _naslib_str_to_op_indices(arch: str) -> tuple:
    """NASLib's ``convert_str_to_op_indices``, restated as the reference for the converter."""
    node_ops = [[x.split("~")[0] for x in n.strip()[1:-1].split("|")] for n in arch.split("+")]
    names = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
    return tuple(names.index(node_ops[v - 2][u - 1]) for u, v in ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)))


# ----------------------------------------------------------------------------- encodings


def test_convert_cli_prints_a_naslib_tuple_as_every_encoding(capsys):
    assert main(["convert", "--space", "nb201", NASLIB_TUPLE]) == 0
    out = capsys.readouterr().out
    assert f"arch: {NASLIB_TUPLE_ARCH}" in out and "naslib: (4, 0, 3, 1, 4, 3)" in out
    assert main(["convert", "--space", "nb201", "--json", NASLIB_TUPLE_ARCH]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["naslib"] == [4, 0, 3, 1, 4, 3] and got["op_ids"] == [4, 1, 0, 2, 4, 2]
    assert main(["convert", "--space", "nb201", str(got["index"])]) == 0
    assert f"arch: {NASLIB_TUPLE_ARCH}" in capsys.readouterr().out


NB201_NASLIB, NB201_OP_IDS, NB101_NASLIB = nb201_peers.NASLibTuple(), nb201_peers.OpIds(), nb101_peers.NASLibTuple()


def test_every_nb201_cell_round_trips_through_every_form(bench, mirror):
    archs = bench["ArchitectureString"].tolist()
    assert len(archs) == 15625
    index = enc.benchmark_index("nb201", mirror / "nb201" / "nats_tss_200ep_test_acc.csv")
    tuples, ids = set(), set()
    for i, arch in enumerate(archs):
        t = NB201_NASLIB.encode(arch)
        assert t == _naslib_str_to_op_indices(arch)  # NASLib's own conversion, restated above
        assert NB201_NASLIB.decode(t) == arch
        op_ids = NB201_OP_IDS.encode(arch)
        assert NB201_OP_IDS.decode(op_ids) == arch
        assert index.lookup(arch) == (i, arch) and index.arch(i) == arch
        tuples.add(t)
        ids.add(op_ids)
    assert len(tuples) == len(ids) == 15625


def test_nb101_fixture_round_trips_and_hashes_like_the_benchmark(mirror):
    records = json.loads((mirror / "nb101" / "nb101_30archs_3runs.json").read_text())
    table = str(mirror / "nb101" / "nb101_30archs_3runs.json")
    for k, rec in enumerate(records):
        arch = make_spec(rec["adjacency"], rec["operations"]).to_str()
        assert module_hash(arch) == rec["hash"]
        t = NB101_NASLIB.encode(arch)
        assert len(t) == 56 and t[-7] == 0 and t[-1] == 1
        back = NB101_NASLIB.decode(str(t))
        assert module_hash(back) == rec["hash"]
        assert back == prune(nb101_parse(arch)).to_str()
        out = enc.convert("nb101", rec["hash"], table=table)
        assert out["index"] == k and out["naslib"] == t and out["hash"] == rec["hash"] and out["benchmark_arch"] == arch
        assert enc.convert("nb101", str(t), table=table)["index"] == k


def test_nasLib_pads_small_nb101_cells_before_the_output():
    # 5 vertices: input -> conv3x3 -> conv1x1 -> maxpool -> output (NASLib convert_to_cell pads to 7)
    arch = "01000-00100-00010-00001-00000|conv3x3,conv1x1,maxpool3x3"
    t = NB101_NASLIB.encode(arch)
    matrix = np.array(t[:49]).reshape(7, 7)
    assert matrix[3, 6] == 1 and matrix[:, 4].sum() == 0 and matrix[:, 5].sum() == 0
    assert t[49:] == (0, 4, 3, 2, 4, 4, 1)
    assert NB101_NASLIB.decode(t) == arch


@pytest.mark.parametrize(
    "space,text,message",
    [
        ("nb201", "(5, 0, 0, 0, 0, 0)", "entries must lie in 0..4"),
        ("nb201", "(1, 1, 1)", "has 6 entries"),
        ("nb201", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv'"),
        ("nb201", "99999", "not in"),
        ("nb101", "(0, 1, 0, 0, 1)", r"n\*n \+ n entries"),
        ("nb101", "0000000000000000000000000000dead", "not in"),
        ("nb101", "01-00|conv3x3", "2 vertices but 3 operations"),
        ("nds_darts", "(1, 2)", "has no form 'naslib'"),
    ],
)
def test_bad_encodings_are_named_input_errors(space, text, message):
    with pytest.raises(InputError, match=message):
        enc.convert(space, text, form="naslib" if space == "nds_darts" else None)


@pytest.mark.slow
def test_encodings_and_agreement_import_no_torch():
    code = (
        "import sys; import intrain.interop.peer_encodings as e, intrain.interop.agreement, intrain.interop.naslib_zc, "
        "intrain.interop.zero_cost_nas; e.convert('nb201', '(4, 0, 3, 1, 4, 3)', table=''); "
        "e.convert('nb101', '01-00|', table=''); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


# ----------------------------------------------------------------------------- fixtures in the peers' layouts

ZC_NB201 = {  # zc_nasbench201.json: dataset -> str(NASLib tuple) -> id, val_accuracy, proxy -> score/time
    "cifar10": {
        "(4, 0, 3, 1, 4, 3)": {
            "id": 2631,
            "val_accuracy": 80.55,
            "nwot": {"score": 760.25, "time": 0.41},
            "jacov": {"score": -65.1, "time": 0.52},
            "synflow": {"score": 30.0, "time": 0.2},
        },
        "(2, 2, 2, 2, 2, 2)": {
            "id": 0,
            "val_accuracy": 90.0,
            "nwot": {"score": 790.5, "time": 0.39},
            "jacov": {"score": -1e8, "time": 0.50},
            "synflow": {"score": 55.5, "time": 0.3},
        },
        "(1, 1, 1, 1, 1, 1)": {
            "id": 0,
            "val_accuracy": 10.0,
            "nwot": {"score": 100.0, "time": 0.3},
            "jacov": {"score": -300.0, "time": 0.4},
            "synflow": {"score": 0.0, "time": 0.1},
        },
        "(0, 3, 2, 0, 4, 3)": {
            "id": 0,
            "val_accuracy": 85.0,
            "nwot": {"score": 770.0, "time": 0.35},
            "jacov": {"score": -60.0, "time": 0.45},
            "synflow": {"score": 40.0, "time": 0.25},
        },
    },
    "cifar100": {"(4, 0, 3, 1, 4, 3)": {"id": 2631, "val_accuracy": 50.0, "nwot": {"score": 700.0, "time": 0.4}}},
}


def _zc_file(tmp_path, doc=ZC_NB201, name="zc_nasbench201.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _stream_file(tmp_path, records, name="nb2_cf10_seed42_dlrandom_dlinfo1_initwnone_initbnone.p"):
    path = tmp_path / name
    for rec in records:  # appended one at a time, as nasbench2_pred.py does
        with open(path, "ab") as fh:
            pickle.dump(rec, fh)
    return path


def _nb2_records(bench, rows=(2631, 7, 300, 12000)):
    out = []
    for k, i in enumerate(rows):
        out.append(
            {
                "i": i,
                "arch": bench["ArchitectureString"][i],
                "logmeasures": {
                    "grad_norm": 1.0 + k,
                    "snip": 2.0 * k,
                    "grasp": -0.5 * k,
                    "fisher": 0.1 * k,
                    "jacob_cov": np.float64(-70.0 + k),
                    "plain": 0.0,
                    "synflow": 1e30 * (k + 1),
                    "synflow_bn": 3.0,
                },
                "trainacc": 90.0,
                "valacc": 80.0 + k,
                "testacc": 79.0 + k,
            }
        )
    return out


def test_naslib_zc_fixture_imports(tmp_path, bench, valid_gt):
    out = tmp_path / "imp.h5"
    summary = import_scores(_zc_file(tmp_path), "naslib-zc", "nb201", "cifar10", out)
    assert summary["architectures"] == 4 and set(summary["proxies"]) == {"naswot", "jacov", "synflow"}
    attrs = read_attrs(out)
    assert attrs["provenance"].startswith("imported:zc_nasbench201.json ") and len(attrs["provenance"].split()[1]) == 64
    df = read_scores(out).set_index("arch")
    assert df.loc[NASLIB_TUPLE_ARCH, "naswot"] == 760.25 and df.loc[NASLIB_TUPLE_ARCH, "arch_index"] == 2631
    all_conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert df.loc[all_conv, "arch_index"] == bench.index[bench["ArchitectureString"] == all_conv][0]
    assert np.isnan(df.loc[all_conv, "jacov"]) and df.loc[all_conv, "flags"] == 1  # NASLib's -1e8 is a failed score
    assert df.loc[NASLIB_TUPLE_ARCH, "seconds"] == pytest.approx(0.41 + 0.52 + 0.2)
    from intrain.analysis.correlate import correlation_table

    corr = correlation_table([str(out)], str(valid_gt), n_boot=0, metric="valid").set_index("proxy")
    assert corr.loc["naswot@imp", "n"] == 4 and corr.loc["jacov@imp", "n_excluded"] == 1
    with pytest.raises(InputError, match="no dataset 'svhn'.*cifar10"):
        read_zc(_zc_file(tmp_path), "nb201", "svhn")


def test_zero_cost_nas_stream_fixture_imports(tmp_path, bench):
    records = _nb2_records(bench)
    path = _stream_file(tmp_path, records + [records[1]])  # a rerun appends the same architecture again
    summary = import_scores(path, "zero-cost-nas", "nb201", "cifar10", tmp_path / "imp.h5")
    assert summary["architectures"] == 4 and "jacov" in summary["proxies"] and "jacob_cov" not in summary["proxies"]
    df = read_scores(tmp_path / "imp.h5").set_index("arch_index")
    for rec in records:
        assert df.loc[rec["i"], "jacov"] == rec["logmeasures"]["jacob_cov"]
        assert df.loc[rec["i"], "synflow"] == rec["logmeasures"]["synflow"]
    bad = [dict(records[0], i=5)]  # 'i' is the NB201 API index: it must name the same architecture
    with pytest.raises(InputError, match="state a benchmark index"):
        import_scores(_stream_file(tmp_path, bad, "bad.p"), "zero-cost-nas", "nb201", "cifar10", tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_nb101_fixtures_import_by_hash_and_naslib_tuple(tmp_path, mirror):
    records = json.loads((mirror / "nb101" / "nb101_30archs_3runs.json").read_text())[:4]
    table = str(mirror / "nb101" / "nb101_30archs_3runs.json")
    stream = _stream_file(
        tmp_path,
        [{"hash": r["hash"], "logmeasures": {"snip": float(k), "jacob_cov": -float(k)}} for k, r in enumerate(records)],
        "nb1_cf10.p",
    )
    import_scores(stream, "zero-cost-nas", "nb101", "cifar10", tmp_path / "a.h5", table=table)
    a = read_scores(tmp_path / "a.h5")
    assert a["arch_index"].tolist() == [0, 1, 2, 3] and a["snip"].tolist() == [0.0, 1.0, 2.0, 3.0]
    doc = {
        "cifar10": {
            str(NB101_NASLIB.encode(make_spec(r["adjacency"], r["operations"]).to_str())): {
                "id": k,
                "val_accuracy": 100 * r["validation_accuracy_runs"][0],
                "snip": {"score": float(k), "time": 1.0},
            }
            for k, r in enumerate(records)
        }
    }
    import_scores(
        _zc_file(tmp_path, doc, "zc_nasbench101.json"), "naslib-zc", "nb101", "cifar10", tmp_path / "b.h5", table=table
    )
    b = read_scores(tmp_path / "b.h5")
    assert b["arch_index"].tolist() == [0, 1, 2, 3] and b["snip"].tolist() == [0.0, 1.0, 2.0, 3.0]


# ----------------------------------------------------------------------------- export -> import


@pytest.fixture
def merged(tmp_path, bench):
    """A merged artifact of 6 real NB201 cells (one a member of another's class), three proxies, one NaN."""
    rng = np.random.default_rng(3)
    rows = [2631, 7, 300, 12000, 15000]
    recs = []
    for k, i in enumerate(rows):
        r = fake_record(i, [(2.0 + k, 3.0, 16.0)], [(0.1, 1.0)], seconds=0.125 * (k + 1))
        r.arch = bench["ArchitectureString"][i]
        r.proxies["naswot"] = {"score": float(rng.normal()) * 1e3}
        r.proxies["jacov"] = {"score": float("nan") if k == 2 else float(rng.normal())}
        recs.append(r)
    shard = tmp_path / "s0.h5"
    write_shard(
        shard,
        recs,
        {
            "space": "nb201",
            "dataset": "cifar10",
            "shard": 0,
            "n_shards": 1,
            "config_hash": "h",
            "settings": {},
            "seed": 0,
            "batch_size": 64,
            "resolution": 32,
            "device": "cpu",
        },
    )
    members = pd.DataFrame(
        {
            "arch_index": rows + [9],
            "arch": [bench["ArchitectureString"][i] for i in rows + [9]],
            "representative": rows + [7],
        }
    )
    out = tmp_path / "scores.h5"
    merge_shards([shard], out, members=members)
    return out


@pytest.mark.parametrize("fmt", ["naslib-zc", "zero-cost-nas"])
def test_export_then_import_reproduces_intrains_scores_exactly(tmp_path, merged, valid_gt, fmt):
    peer = tmp_path / ("zc_nasbench201.json" if fmt == "naslib-zc" else "nb2_cf10.p")
    export([str(merged)], fmt, peer, groundtruth=[str(valid_gt)])
    import_scores(peer, fmt, "nb201", "cifar10", tmp_path / "back.h5")
    own = read_scores(merged).sort_values("arch_index").reset_index(drop=True)
    back = read_scores(tmp_path / "back.h5")
    assert back["arch_index"].tolist() == own["arch_index"].tolist() == sorted([2631, 7, 300, 12000, 15000, 9])
    assert back["arch"].tolist() == own["arch"].tolist()
    for proxy in ("intrain", "naswot", "jacov"):
        assert np.array_equal(back[proxy].to_numpy(), own[proxy].to_numpy(), equal_nan=True), proxy
    assert np.isnan(back.set_index("arch_index").loc[300, "jacov"])


def test_export_val_accuracy_names_and_time(tmp_path, merged, valid_gt, mirror, capsys):
    peer = tmp_path / "zc_nasbench201.json"
    assert (
        main(["export", str(merged), "--format", "naslib-zc", "--groundtruth", str(valid_gt), "--out", str(peer)]) == 0
    )
    doc = json.loads(peer.read_text())["cifar10"]
    valid = pd.read_csv(mirror / "nb201" / "nasbench201_cifar10_train_valid_test.csv")
    rec = doc[NASLIB_TUPLE]
    assert rec["id"] == 2631 and rec["val_accuracy"] == valid["validation accuracy"][2631]
    assert set(rec) == {"id", "val_accuracy", "intrain", "nwot", "jacov"}  # naswot -> nwot, the rest kept
    assert rec["nwot"]["time"] == rec["intrain"]["time"] == 0.125  # the stored per-architecture seconds
    assert doc[str(enc.convert("nb201", "300")["naslib"])]["jacov"]["score"] == -1e8
    assert (
        main(["export", str(merged), "--format", "zero-cost-nas", "--proxy", "jacov", "--out", str(tmp_path / "z.p")])
        == 0
    )
    assert "val_accuracy omitted (no --groundtruth given)" in capsys.readouterr().err
    with open(tmp_path / "z.p", "rb") as fh:
        first = pickle.load(fh)
    assert first == {
        "i": 7,
        "arch": enc.convert("nb201", "7")["arch"],
        "logmeasures": {"jacob_cov": first["logmeasures"]["jacob_cov"]},
    }


def test_csv_export_and_parquet_needs_its_extra(tmp_path, merged, valid_gt, monkeypatch):
    export([str(merged)], "csv", tmp_path / "s.csv", groundtruth=[str(valid_gt)])
    df, own = pd.read_csv(tmp_path / "s.csv"), read_scores(merged).sort_values("arch_index")
    assert df["naslib"][df["arch_index"] == 2631].item() == NASLIB_TUPLE
    assert np.array_equal(df["naswot"].to_numpy(), own["naswot"].to_numpy())  # float64 text round-trips exactly
    assert "val_accuracy" in df and df["time"].notna().all()
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a))
    with pytest.raises(RuntimeError, match=r"pip install 'intrain\[parquet\]'"):
        export([str(merged)], "parquet", tmp_path / "s.parquet")
    assert not (tmp_path / "s.parquet").exists()


def test_parquet_export_when_pyarrow_is_installed(tmp_path, merged):
    pytest.importorskip("pyarrow")
    export([str(merged)], "parquet", tmp_path / "s.parquet")
    df, own = pd.read_parquet(tmp_path / "s.parquet"), read_scores(merged).sort_values("arch_index")
    assert np.array_equal(df["jacov"].to_numpy(), own["jacov"].to_numpy(), equal_nan=True)


# ----------------------------------------------------------------------------- unsafe and malformed files


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_runs_nothing_and_names_the_file(tmp_path, bench):
    marker = tmp_path / "pwned"
    path = tmp_path / "scores.p"
    with open(path, "wb") as fh:
        pickle.dump(_nb2_records(bench)[0], fh)
        pickle.dump({"i": 7, "arch": bench["ArchitectureString"][7], "logmeasures": {"snip": _Evil(marker)}}, fh)
    with pytest.raises(UnsafeInputError, match=r"scores\.p: refused to unpickle the global '(posix|os)\.system'"):
        read_stream(path, "nb201", "cifar10")
    assert (
        main(
            [
                "import",
                "--format",
                "zero-cost-nas",
                str(path),
                "--space",
                "nb201",
                "--dataset",
                "cifar10",
                "--out",
                str(tmp_path / "o.h5"),
            ]
        )
        == 2
    )
    assert not marker.exists() and not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize(
    "content,message",
    [
        ("not json", "not a NAS-Bench-Suite-Zero JSON file"),
        (
            json.dumps({"cifar10": {"(9, 0, 0, 0, 0, 0)": {"nwot": {"score": 1.0}}}}),
            r"cifar10 / \(9, 0, 0, 0, 0, 0\).*0..4",
        ),
        (json.dumps({"cifar10": {"(1, 1, 1, 1, 1, 1)": {"nwot": 3.0}}}), r"nwot: expected \{\"score\""),
        (json.dumps({"cifar10": {"(1, 1, 1, 1, 1, 1)": {"nwot": {"score": "high"}}}}), "expected a number"),
        (json.dumps({"cifar10": {"(1, 1, 1, 1, 1, 1)": {"id": 3, "val_accuracy": 10.0}}}), "no proxy scores"),
        (json.dumps([1, 2]), "top level must be an object"),
    ],
)
def test_malformed_zc_files_are_named_input_errors(tmp_path, content, message):
    path = tmp_path / "zc_nasbench201.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        read_zc(path, "nb201", "cifar10")
    assert "zc_nasbench201.json" in str(err.value)


@pytest.mark.parametrize(
    "payload,message",
    [
        (pickle.dumps([1, 2, 3]), "record 0: expected a dict with 'logmeasures'"),
        (pickle.dumps({"i": 1, "logmeasures": {}}), "needs 'i' \\(int\\) and 'arch'"),
        (pickle.dumps({"i": 1, "arch": "|x~0|", "logmeasures": {}}), "record 0.*3 '\\+'-separated"),
        (pickle.dumps({"i": 1, "arch": NASLIB_TUPLE_ARCH, "logmeasures": {"snip": "big"}}), "snip: expected a number"),
        (pickle.dumps({"i": 1, "arch": NASLIB_TUPLE_ARCH, "logmeasures": {}})[:-3], "not a readable pickle"),
        (b"", "empty stream"),
    ],
)
def test_malformed_streams_are_named_input_errors(tmp_path, payload, message):
    path = tmp_path / "nb2.p"
    path.write_bytes(payload)
    with pytest.raises(InputError, match=message) as err:
        read_stream(path, "nb201", "cifar10")
    assert "nb2.p" in str(err.value)


# ----------------------------------------------------------------------------- agreement


@pytest.mark.slow
def test_agreement_of_an_import_with_intrains_own_scores(tmp_path, merged, valid_gt, capsys):
    doc = {"cifar10": {}}
    own = read_scores(merged).set_index("arch_index")
    peer_naswot = {2631: 5.0, 7: 1.0, 300: 3.0, 12000: 2.0, 9: 4.0, 1: 0.0}  # 1 is not in intrain's artifact
    for i, s in peer_naswot.items():
        doc["cifar10"][str(enc.convert("nb201", str(i))["naslib"])] = {"nwot": {"score": s, "time": 1.0}}
    import_scores(_zc_file(tmp_path, doc), "naslib-zc", "nb201", "cifar10", tmp_path / "imp.h5")
    out = tmp_path / "agreement.csv"
    assert (
        main(["agreement", str(tmp_path / "imp.h5"), str(merged), "--groundtruth", str(valid_gt), "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    table = pd.read_csv(out)
    assert table["proxy"].tolist() == ["naswot"] and table["a"][0] == "imported:zc_nasbench201.json"
    shared = [2631, 7, 300, 12000, 9]
    gt = pd.read_csv(valid_gt).set_index("arch_index")["valid_cifar10"]
    x, y, t = [peer_naswot[i] for i in shared], own.loc[shared, "naswot"], gt.loc[shared]
    assert table["n_shared"][0] == 5 and table["n"][0] == 5
    assert table["spearman_ab"][0] == pytest.approx(sps.spearmanr(x, y).statistic)
    assert table["kendall_a"][0] == pytest.approx(sps.kendalltau(x, t).statistic)
    assert table["kendall_b"][0] == pytest.approx(sps.kendalltau(y, t).statistic)
    assert "spearman_ab" in printed and "naswot" in printed
    assert (
        main(
            [
                "agreement",
                str(merged),
                str(tmp_path / "imp.h5"),
                "--groundtruth",
                str(valid_gt),
                "--out",
                str(tmp_path / "again.csv"),
            ]
        )
        == 0
    )  # order does not matter: the import is side a
    assert pd.read_csv(tmp_path / "again.csv").equals(table)
    print(table.to_string(index=False, float_format="%.3f"), file=sys.stderr)  # the closing note's example

    from intrain.analysis.correlate import correlation_table
    from intrain.analysis.report import build_report

    scores = [str(merged), str(tmp_path / "imp.h5")]
    correlation_table(scores, str(valid_gt), n_boot=0, metric="valid").to_csv(tmp_path / "corr.csv", index=False)
    page = build_report(
        str(tmp_path / "corr.csv"),
        scores,
        str(valid_gt),
        str(tmp_path / "report" / "index.html"),
        studies={"agreement": str(out)},
    ).read_text()
    assert "Agreement with imported score files" in page and "imported:zc_nasbench201.json" in page
