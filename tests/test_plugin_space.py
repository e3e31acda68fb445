"""The example plugin space (examples/plugin, ``toy_cnn``) through the commands a built-in space goes through:
ground truth, selection, scoring and merging, then ``export`` / ``import`` (scores back bit for bit),
``convert``, ``describe`` and the studies, all through the CLI and the ``Space`` hooks it declares."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from intrain.cli import main
from intrain.core.artifacts import read_attrs, read_scores
from intrain.core.errors import InputError
from intrain.spaces import PLUGIN_ENV

from .conftest import REPO

PLUGIN_SRC = REPO / "examples" / "plugin" / "src"
TOY_CSV = PLUGIN_SRC / "intrain_example" / "toy_groundtruth.csv"
N = 10
PROXIES = ["intrain", "params", "naswot"]


def _run(*args) -> None:
    assert main([str(a) for a in args]) == 0, args


def _score(d, gt, name: str, settings: dict) -> str:
    """Select N toy architectures, score them in one shard and merge, as the workflow's rules do."""
    sel = d / f"{name}_sel.csv"
    _run("select", "--groundtruth", gt, "--space", "toy_cnn", "--sample", N, "--seed", 1, "--n-shards", 1, "--out", sel)
    text = json.dumps(settings)
    _run(
        "score",
        "--space",
        "toy_cnn",
        "--dataset",
        "toy10",
        "--selection",
        sel,
        "--shard",
        0,
        "--settings",
        text,
        "--device",
        "cpu",
        "--no-progress",
        "--out",
        d / f"{name}_000.h5",
    )
    _run(
        "merge",
        d / f"{name}_000.h5",
        "--space",
        "toy_cnn",
        "--dataset",
        "toy10",
        "--selection",
        sel,
        "--settings",
        text,
        "--out",
        d / f"{name}.h5",
    )
    return str(d / f"{name}.h5")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The plugin registered as the workflow registers it (``INTRAIN_SPACE_PLUGINS``), its ground
    truth, and three merged runs (batch sizes 4 and 8 at seed 0, batch size 4 at seed 1)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(PLUGIN_SRC))
        mp.setenv(PLUGIN_ENV, "toy_cnn=intrain_example.space:ToyCNNSpace")
        d = tmp_path_factory.mktemp("toy")
        gt = d / "toy_cnn.csv"
        _run("groundtruth", "toy_cnn", "--test", TOY_CSV, "--out", gt)
        runs = {
            (bs, seed): _score(d, gt, f"b{bs}_s{seed}", {"batch_size": bs, "seed": seed, "proxies": PROXIES})
            for bs, seed in ((4, 0), (8, 0), (4, 1))
        }
        yield SimpleNamespace(dir=d, gt=gt, merged=runs[(4, 0)], runs=runs)


@pytest.mark.parametrize(
    "fmt,name",
    [("naslib-zc", "zc_toy.json"), ("zero-cost-nas", "toy.p"), ("csv", "toy.csv"), ("parquet", "toy.parquet")],
)
def test_export_then_import_gives_the_plugins_scores_back_exactly(toy, fmt, name):
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="parquet needs the [parquet] extra (pyarrow)")
    peer, back = toy.dir / name, toy.dir / f"back_{name}.h5"
    _run("export", toy.merged, "--format", fmt, "--out", peer)
    _run("import", "--format", fmt, peer, "--space", "toy_cnn", "--dataset", "toy10", "--table", toy.gt, "--out", back)
    own = read_scores(toy.merged).sort_values("arch_index").reset_index(drop=True)
    got = read_scores(back)
    assert len(own) == N and got["arch_index"].tolist() == own["arch_index"].tolist()
    assert got["arch"].tolist() == own["arch"].tolist()
    for proxy in PROXIES:
        assert np.array_equal(got[proxy].to_numpy(), own[proxy].to_numpy(), equal_nan=True), proxy
    assert read_attrs(back)["space"] == "toy_cnn"


def test_the_naslib_layout_keys_the_plugin_by_its_own_encoding(toy):
    from intrain_example.space import WidthIds

    from intrain.spaces.peers import parse_tuple

    peer = toy.dir / "zc_keys.json"
    _run("export", toy.merged, "--format", "naslib-zc", "--out", peer)
    keys = list(json.loads(peer.read_text())["toy10"])
    own = read_scores(toy.merged).sort_values("arch_index")
    assert keys == [str(WidthIds().encode(a)) for a in own["arch"]]
    assert all(len(parse_tuple(k)) == len(a.split("-")) for k, a in zip(keys, own["arch"]))


def test_csv_export_writes_the_plugins_columns(toy):
    out = toy.dir / "toy.csv"
    _run("export", toy.merged, "--format", "csv", "--out", out)
    df = pd.read_csv(out)
    own = read_scores(toy.merged).sort_values("arch_index")
    assert list(df.columns[:5]) == ["space", "dataset", "arch_index", "arch", "width_ids"]
    assert (df["space"] == "toy_cnn").all() and df["arch"].tolist() == own["arch"].tolist()
    widths = [tuple(int(w) for w in a.split("-")) for a in df["arch"]]
    assert df["width_ids"].tolist() == [str(tuple((8, 16, 32).index(w) for w in ws)) for ws in widths]
    assert np.array_equal(df["intrain"].to_numpy(), own["intrain"].to_numpy())


def test_convert_takes_the_plugins_encoding_and_index(toy, capsys):
    _run("convert", "--space", "toy_cnn", "(2, 0, 1)", "--table", toy.gt, "--json")
    out = json.loads(capsys.readouterr().out)
    table = pd.read_csv(toy.gt)
    assert out["arch"] == "32-8-16" and out["width_ids"] == [2, 0, 1]
    assert out["index"] == int(table.loc[table["arch"] == "32-8-16", "arch_index"].item())
    with pytest.raises(InputError, match="toy_cnn has no form 'naslib'"):
        from intrain.interop.peer_encodings import convert

        convert("toy_cnn", "(1, 2)", form="naslib", table="")


def test_a_space_without_a_peer_layout_is_refused_naming_those_with_one(toy):
    from intrain.interop.peer_encodings import codec

    with pytest.raises(
        InputError, match=r"naslib-zc: no score files for space 'nds_darts'; spaces with them: .*nb201.*toy_cnn"
    ):
        codec("nds_darts", "naslib-zc")


def test_describe_counts_a_plugin_architecture(toy, capsys):
    _run("describe", "8-16", "--space", "toy_cnn", "--json")
    d = json.loads(capsys.readouterr().out)
    # conv3x3 3->8 at 16x16 (stride 1), conv3x3 8->16 at 8x8 (stride 2), BN weights+biases, linear 16->10
    macs = 3 * 8 * 9 * 16 * 16 + 8 * 16 * 9 * 8 * 8 + 16 * 10
    params = 3 * 8 * 9 + 2 * 8 + 8 * 16 * 9 + 2 * 16 + 16 * 10 + 10
    assert d["space"] == "toy_cnn" and d["dataset"] == "toy10" and d["resolution"] == 16
    assert d["params"] == params and d["conventions"]["macs"] == macs
    assert [r["type"] for r in d["layers"]] == ["conv", "conv", "linear"]
    assert [r["out_side"] for r in d["layers"]] == [16, 8, 1]


def test_the_studies_run_on_plugin_artifacts(toy):
    gt = f"toy_cnn={toy.gt}"
    _run("study", "ablation", toy.merged, "--groundtruth", gt, "--n-boot", 0, "--out", toy.dir / "ablation.csv")
    ablation = pd.read_csv(toy.dir / "ablation.csv").set_index("variant")
    assert set(ablation["space"]) == {"toy_cnn"} and (ablation["n"] == N).all()
    # the ablation recomputes InTrain from the stored statistics: its shipped variant is the scorer's score
    scores = read_scores(toy.merged).merge(pd.read_csv(toy.gt)[["arch_index", "acc_toy10"]], on="arch_index")
    tau = sps.kendalltau(scores["intrain"], scores["acc_toy10"]).statistic
    assert ablation.loc["gamma * (1 + o) / log(L + 1)", "kendall"] == pytest.approx(tau)
    assert ablation["paper_kendall"].isna().all()  # the paper's NB201 values are not the toy space's

    _run("study", "topk", toy.merged, "--groundtruth", gt, "--out", toy.dir / "topk.csv")
    topk = pd.read_csv(toy.dir / "topk.csv").set_index("proxy")
    assert set(PROXIES) <= set(topk.index) and (topk["n"] == N).all()
    assert topk.loc["intrain", "top1_acc"] == scores.loc[scores["intrain"].idxmax(), "acc_toy10"]

    runs = [toy.runs[(4, 0)], toy.runs[(8, 0)]]
    _run("study", "batch-size", *runs, "--groundtruth", gt, "--out", toy.dir / "batch.csv")
    batch = pd.read_csv(toy.dir / "batch.csv")
    assert batch["batch_size"].tolist() == [4, 8] and set(batch["space"]) == {"toy_cnn"}
    assert batch[["paper_kendall", "paper_latency_ms_gpu"]].isna().all().all()  # 8 is in the paper's NB201 table
    _run("study", "seeds", toy.runs[(4, 0)], toy.runs[(4, 1)], "--groundtruth", gt, "--out", toy.dir / "seeds.csv")
    seeds = pd.read_csv(toy.dir / "seeds.csv")
    assert seeds["seeds"].tolist() == [2] and seeds["dataset"].tolist() == ["toy10"]
