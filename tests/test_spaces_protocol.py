"""The space protocol: every built-in space satisfies it, a plugin space works like a built-in one,
broken plugins are InputErrors naming the module, and spaces and analysis work without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from intrain.core.errors import InputError
from intrain.spaces import (
    PLUGIN_ENV,
    DatasetSpec,
    Space,
    SpaceError,
    get_space,
    list_spaces,
    load_plugin,
    register_space,
)

from .conftest import REPO

NB201_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]
NB101_ARCHS = [
    "0110000-0010001-0001000-0000100-0000010-0000001-0000000|conv3x3,conv1x1,maxpool3x3,conv3x3,conv1x1",
    "0100001-0010000-0001000-0000100-0000010-0000001-0000000|conv1x1,conv3x3,maxpool3x3,conv3x3,conv3x3",
    "01-00|",
]
ZENNAS_ARCHS = ["SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K5(8,16,2,8,2)SuperConvK1BNRELU(16,32,1,1)"]
# (space, reader input under the mirror, bad arch)
BUILTIN = {
    "nb201": ("nb201/nats_tss_200ep_test_acc.csv", "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    "nb101": ("nb101/nb101_30archs_3runs.json", "0100-0010-0001-0000|conv5x5,conv3x3"),
    "nds_darts": ("nds_imagenet/DARTS_in.json", '{"width": 16}'),
    "zennas": (None, "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE2K5(9,16,2,8,2)"),
}


def _nds_archs(mirror: Path, file: str = "DARTS_in.json", n: int = 2) -> list[str]:
    """The smallest records of an NDS space (cheap to build)."""
    records = json.loads((mirror / "nds_imagenet" / file).read_text())
    records = sorted(records, key=lambda r: r["params"])[:n]
    return [json.dumps(r["net"]) for r in records]


def _archs(space: str, mirror: Path) -> list[str]:
    return {"nb201": NB201_ARCHS, "nb101": NB101_ARCHS, "zennas": ZENNAS_ARCHS}.get(space) or _nds_archs(mirror)


# ----------------------------------------------------------------------------- built-in spaces


def test_the_registry_lists_every_builtin_space():
    names = list_spaces()
    assert {
        "nb201",
        "nb101",
        "zennas",
        "nds_amoeba",
        "nds_darts",
        "nds_enas",
        "nds_nasnet",
        "nds_pnas",
        "nds_resnext_a",
        "nds_resnext_b",
    } <= set(names)
    for name in names:
        space = get_space(name)
        assert isinstance(space, Space) and space.name == name
        assert space.datasets and all(isinstance(d, DatasetSpec) and d.name == k for k, d in space.datasets.items())
        assert set(space.options) <= {"prune", "fast_pool", "batch_size", "resolution", "seed", "protocol"}


def test_each_space_names_its_catalog_benchmark_and_the_catalog_agrees():
    from intrain.core.download import catalog

    files = catalog()
    for name in list_spaces():
        key = get_space(name).benchmark
        assert key is None or files[key].space == name, name
    for key, entry in files.items():
        if entry.space:
            assert get_space(entry.space).benchmark == key


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_normalize_and_canonical_round_trip(name, mirror):
    space = get_space(name)
    for arch in _archs(name, mirror):
        spelled = space.normalize(arch)
        assert space.normalize(spelled) == spelled
        assert space.canonical(arch) == space.canonical(spelled)
        assert isinstance(space.canonical(arch), str) and space.canonical(arch)
    with pytest.raises(InputError):
        space.normalize(BUILTIN[name][1])


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_build_on_the_smallest_dataset_gives_logits(name, mirror):
    import torch

    space = get_space(name)
    dataset = min(space.datasets.values(), key=lambda d: (d.resolution, d.num_classes))
    arch = _archs(name, mirror)[0]
    # every space accepts all scoring settings; only NB201 uses prune/fast_pool
    net = space.build(arch, dataset.name, prune=False, fast_pool=False, batch_size=8)
    side = 32 if dataset.resolution > 64 else dataset.resolution
    with torch.no_grad():
        out = net.eval()(torch.randn(2, 3, side, side))
    assert out.shape == (2, dataset.num_classes)
    with pytest.raises(SpaceError, match="no dataset"):
        space.build(arch, "no-such-dataset")


def test_nb201_options_reach_its_network_and_no_other_space_sees_them():
    space = get_space("nb201")
    arch = "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # the pool edge is dead
    assert type(space.build(arch, "cifar10", prune=False, fast_pool=False).cells[0].edge_ops[0]).__name__ == "AvgPool2d"
    assert (
        type(space.build(arch, "cifar10", prune=False, fast_pool=True).cells[0].edge_ops[0]).__name__
        == "FastAvgPool3x3"
    )
    assert len(space.build(arch, "cifar10", prune=True).cells[0].edge_ops) == 1  # only the live skip edge


@pytest.mark.parametrize("name", ["nb201", "nb101", "nds_darts"])
def test_groundtruth_reader_gives_the_normalised_format(name, mirror):
    space = get_space(name)
    table = space.groundtruth(mirror / BUILTIN[name][0])
    assert list(table.columns[:3]) == ["arch_index", "arch", "canonical"]
    assert (table["arch_index"].to_numpy() == np.arange(len(table))).all()
    for ds in space.datasets:
        assert table[f"acc_{ds}"].between(0, 100).all()
    for arch, canonical in table[["arch", "canonical"]].head(3).itertuples(index=False):
        assert space.normalize(arch) == arch and space.canonical(arch) == canonical


def test_search_only_and_searchless_spaces_say_so():
    with pytest.raises(SpaceError, match="search-only"):
        get_space("zennas").groundtruth("anything.json")
    with pytest.raises(SpaceError, match="no search problem"):
        get_space("nb101").search_problem(None)
    assert type(get_space("zennas").search_problem(450e6)).__name__ == "ZenSearch"


def test_a_space_package_exports_only_its_space_and_network_names():
    """One home per name: encodings are imported from the module that defines them (no star re-export)."""
    import intrain.analysis.groundtruth as groundtruth
    import intrain.search.problems as problems
    from intrain.spaces import nb101, nb201, nds

    for package, names in (
        (nb201, ("parse_arch", "Cell", "live_edges", "EDGES")),
        (nb101, ("make_spec", "prune", "CellSpec")),
        (nds, ("parse_net", "NDSRecordError")),
    ):
        assert not [n for n in names if hasattr(package, n)], package.__name__
    assert not hasattr(problems, "NB201Edges")
    for old in ("normalize_nb201", "normalize_nb101", "normalize_nds", "NORMALIZERS"):
        assert not hasattr(groundtruth, old), old


# ----------------------------------------------------------------------------- a plugin space


class ToySpace(Space):
    """A toy plugin space: arch ``w<width>`` is a one-conv network; ground truth from a CSV."""

    name = "toy"
    datasets: ClassVar[dict[str, DatasetSpec]] = {"toy10": DatasetSpec("toy10", 10, 8)}

    def normalize(self, arch: str) -> str:
        text = str(arch).strip()
        if not (text.startswith("w") and text[1:].isdigit() and int(text[1:]) > 0):
            raise InputError(f"toy arch {arch!r} must look like w<width>")
        return f"w{int(text[1:])}"

    def network(self, arch: str, dataset: str):
        from torch import nn

        width, classes = int(self.normalize(arch)[1:]), self.dataset(dataset).num_classes
        return nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, classes),
        )

    def groundtruth(self, table, valid=None):
        raw = pd.read_csv(table)
        archs = [self.normalize(a) for a in raw["arch"]]
        return pd.DataFrame(
            {"arch_index": range(len(raw)), "arch": archs, "canonical": archs, "acc_toy10": raw["acc"].astype(float)}
        )


class NotASpace:
    name = "nope"


class HalfASpace(Space):
    name = "half"

    def normalize(self, arch: str) -> str:
        return arch


TOY = "tests.test_spaces_protocol:ToySpace"


def _toy_table(path: Path, n: int = 6) -> Path:
    pd.DataFrame({"arch": [f"w{2 + k}" for k in range(n)], "acc": [50.0 + k for k in range(n)]}).to_csv(
        path, index=False
    )
    return path


def test_a_plugin_space_by_module_class_string(tmp_path):
    space = get_space(TOY)
    assert isinstance(space, ToySpace) and space.normalize(" w04") == "w4"
    net = space.build("w3", "toy10", prune=True, fast_pool=False, resolution=8)  # settings it does not take
    assert net[-1].out_features == 10
    table = space.groundtruth(_toy_table(tmp_path / "toy.csv"))
    assert list(table["arch"]) == ["w2", "w3", "w4", "w5", "w6", "w7"]


def test_a_plugin_space_registered_by_name_goes_through_groundtruth_selection_scoring(tmp_path, monkeypatch):
    from intrain.analysis.groundtruth import normalize
    from intrain.core.records import ScoreSettings
    from intrain.planning.selection import select
    from intrain.scoring.scorer import Scorer
    from intrain.search.problems import make_problem

    monkeypatch.setenv(PLUGIN_ENV, f"toy={TOY}")
    assert "toy" in list_spaces() and get_space("toy").name == "toy"
    gt = normalize("toy", _toy_table(tmp_path / "toy.csv"))
    sel = select(gt, ["w3", "w05"], seed=0, n_shards=1, space="toy")
    assert list(sel["arch"]) == ["w3", "w5"]
    record = Scorer("toy", "toy10", ScoreSettings(batch_size=4, proxies=("intrain", "params")), "cpu").score(0, "w4")
    assert (
        np.isfinite(record.proxies["intrain"]["score"])
        and record.proxies["params"]["score"] == 3 * 4 * 9 + 4 + 4 * 10 + 10
    )
    with pytest.raises(SpaceError, match="no search problem"):
        make_problem("toy", None)


def test_register_space_and_entry_points(monkeypatch):
    import intrain.spaces as spaces

    monkeypatch.setattr(spaces, "_registered", {})
    register_space("toy_registered", TOY)
    assert get_space("toy_registered").name == "toy_registered"
    ep = metadata.EntryPoint(name="toy_ep", value=TOY, group=spaces.ENTRY_POINT_GROUP)
    monkeypatch.setattr(spaces, "_entry_points", lambda: {"toy_ep": ep})
    assert "toy_ep" in list_spaces() and isinstance(get_space("toy_ep"), ToySpace)


@pytest.mark.parametrize(
    "target, words",
    [
        ("no_such_module_xyz:Space", ["no_such_module_xyz", "cannot import", "ModuleNotFoundError"]),
        ("tests.test_spaces_protocol:NotASpace", ["tests.test_spaces_protocol", "not a space"]),
        ("tests.test_spaces_protocol:Missing", ["tests.test_spaces_protocol", "no attribute 'Missing'"]),
        ("tests.test_spaces_protocol:HalfASpace", ["tests.test_spaces_protocol", "does not implement", "network"]),
        ("tests.test_spaces_protocol", ["module.path:ClassName"]),
    ],
)
def test_broken_plugins_are_input_errors_naming_the_module(target, words):
    with pytest.raises(InputError) as info:
        load_plugin(target)
    for word in words:
        assert word in str(info.value)


def test_a_plugin_module_that_fails_to_import_names_module_and_reason(tmp_path, monkeypatch):
    (tmp_path / "broken_space_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match=r"broken_space_plugin.*RuntimeError: boom at import"):
        get_space("broken_space_plugin:Space")
    monkeypatch.setenv(PLUGIN_ENV, "bad=broken_space_plugin:Space")
    with pytest.raises(InputError, match="broken_space_plugin"):
        get_space("bad")


def test_unknown_space_lists_the_available_ones():
    with pytest.raises(SpaceError, match=r"unknown search space 'nb999'; available: .*nb201"):
        get_space("nb999")


@pytest.mark.slow
def test_a_plugin_space_in_the_workflow_config_dry_runs(tmp_path, mirror):
    """`spaces.toy.plugin` + a local table: the sample size comes from the table (6 rows -> 3 shards)."""
    cfg = tmp_path / "toy.yaml"
    cfg.write_text(
        f"spaces:\n  nb201: {{enabled: false}}\n  toy:\n    plugin: '{TOY}'\n"
        f"    table: '{_toy_table(tmp_path / 'toy.csv')}'\n    shard_size: 2\n"
        "studies: {enabled: false}\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            f"{tmp_path}/r/toy/toy10/scores.h5",
            "-n",
            "--cores",
            "1",
            "--configfile",
            "config/tiny.yaml",
            cfg,
            "--config",
            f"results={tmp_path}/r",
            f"mirror={mirror}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    counts = {
        c[0]: int(c[1]) for c in (line.split() for line in proc.stdout.splitlines()) if len(c) == 2 and c[1].isdigit()
    }
    assert counts.get("score") == 3 and counts.get("groundtruth") == 1, counts


# ----------------------------------------------------------------------------- without torch


def _run_without_torch(code: str) -> None:
    script = (
        "import sys\n"
        + code
        + "\nassert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)[:5]\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_spaces_normalize_and_read_groundtruth_without_torch(mirror):
    _run_without_torch(f"""
from intrain.spaces import get_space, list_spaces
for name in list_spaces():
    get_space(name)
assert get_space('nb201').normalize({NB201_ARCHS[0]!r}) == {NB201_ARCHS[0]!r}
get_space('nb101').canonical({NB101_ARCHS[0]!r})
from intrain.analysis.groundtruth import normalize
assert len(normalize('nds_darts', {str(mirror / BUILTIN["nds_darts"][0])!r})) == 121
assert len(normalize('nb101', {str(mirror / BUILTIN["nb101"][0])!r})) == 30
""")


@pytest.mark.slow
def test_analysis_builds_a_correlation_table_without_torch(tmp_path):
    from .helpers import fake_artifact, ladder

    records = ladder(8, np.random.default_rng(0))
    path = fake_artifact(tmp_path / "scores.h5", records)
    gt = tmp_path / "gt.csv"
    pd.DataFrame(
        {
            "arch_index": range(8),
            "arch": [f"arch{i}" for i in range(8)],
            "canonical": range(8),
            "acc_cifar10": np.linspace(80, 90, 8),
        }
    ).to_csv(gt, index=False)
    _run_without_torch(f"""
import intrain.analysis.correlate, intrain.analysis.stats, intrain.analysis.studies, intrain.analysis.report, intrain.analysis.groundtruth, intrain.core.artifacts
table = intrain.analysis.correlate.correlation_table([{str(path)!r}], {str(gt)!r}, n_boot=10)
row = table.set_index('proxy').loc['intrain']
assert row['n'] == 8 and row['kendall'] > 0.99, table
intrain.analysis.studies.ablation_scores({str(path)!r})
""")
