"""Hostile input: every loader and parser fuzzed on a fixed, seeded budget; nothing a user hands
the tool runs code; refusals say what is wrong in words; memory limits are refused up front and
out-of-memory in a proxy is flagged per architecture. Larger runs: benchmarks/fuzz.py."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from intrain.core.errors import InputError, IntrainError, UnsafeInputError

from .conftest import REPO
from .fuzz_targets import outcome, targets

TARGETS = targets()
# Examples per target in the default suite (derandomized: the same inputs every run).
BUDGET = {
    "hdf5_artifact": 40,
    "search_log": 40,
    "cifar_batch": 40,
    "config_overlay": 40,
    "download": 40,
    "hdf5_features": 40,
    "searchlog_features": 40,
    "string_sinks": 30,
}
# Targets whose budget takes more than 5 s (measured with --durations): marked slow, left out of -m "not slow".
SLOW_TARGETS = {"hdf5_features", "searchlog_features", "string_sinks", "yaml_features"}


def _fuzz_test(name: str):
    target = TARGETS[name]

    @settings(
        max_examples=BUDGET.get(name, 60),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(target.strategy())
    def test(value):
        assert outcome(target, value) in ("valid", "refused")

    test.__name__ = f"test_fuzz_{name}"
    return pytest.mark.slow(test) if name in SLOW_TARGETS else test


for _name in TARGETS:
    globals()[f"test_fuzz_{_name}"] = _fuzz_test(_name)


def test_every_target_accepts_its_valid_seed():
    """The seeds round-trip, so a target that refuses everything would fail here, not pass silently."""
    from . import fuzz_targets as ft

    seeds = {
        "nb201_arch": ft.NB201_SEED,
        "nb101_arch": ft.NB101_SEED,
        "zennas_arch": ft.ZENNAS_SEED,
        "nds_record": ft.NDS_CELL,
        "config_overlay": "spaces:\n  nb201:\n    sample: 5\n",
        "catalog": (REPO / "intrain" / "data" / "benchmarks.yaml").read_text(),
        "download": ft.DOWNLOAD_SEED,
        "table_nb201": ft.NB201_TABLE_SEED,
        "table_nb101": ft.NB101_TABLE_SEED,
        "table_nds": ft.NDS_TABLE_SEED,
        "cifar_batch": ft.cifar_seed(),
        "npz_batch": ft.npz_seed(),
        "hdf5_artifact": ft.artifact_seed(),
        "search_log": ft.searchlog_seed(),
        "hdf5_features": ft.artifact_seed(),
        "searchlog_features": ft.searchlog_seed(),
        "pickle_features": pickle.dumps({"a": [1, 2.5, b"x"]}, protocol=2),
        "yaml_features": "spaces: {nb201: {sample: 5}}\n",
        "string_sinks": "naswot",
        "json_features": json.dumps({"cifar10": {"(4, 0, 3, 1, 4, 3)": {"id": 2631, "nwot": {"score": -1.5}}}}),
    }
    assert set(seeds) == set(TARGETS)
    for name, seed in seeds.items():
        assert outcome(TARGETS[name], seed) == "valid", name


def test_outside_reads_and_executions_are_detected_not_missed(tmp_path):
    """The format-aware targets' detectors can fail: sentinel values in a result, sentinel bytes in an
    output, and the marker file each raise their own error (counted apart by benchmarks/fuzz.py)."""
    import pandas as pd

    from . import fuzz_targets as ft

    with pytest.raises(ft.OutsideRead):
        ft._check_outside(tmp_path, pd.DataFrame({"x": [1.0, ft.SENTINEL_VALUE]}))
    (tmp_path / "out.h5").write_bytes((ft.outside_dir() / "outside.bin").read_bytes()[:64])
    with pytest.raises(ft.OutsideRead):
        ft._check_outside(tmp_path)
    ft.marker().touch()
    with pytest.raises(ft.Executed):
        ft._check_executed()
    assert not ft.marker().exists()


# ----------------------------------------------------------------------------- nothing executes


class _Marker:
    """Unpickling this object would create ``path``; no loader may let it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))  # unpickling creates the file


def test_crafted_cifar_batch_runs_no_code(tmp_path):
    from intrain.engine.inputs import image_batch

    marker = tmp_path / "marker"
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(
        pickle.dumps({b"data": np.zeros((4, 48), np.uint8), b"labels": [0, 1, 2, 3], b"x": _Marker(marker)}, protocol=2)
    )
    pickle.loads(pickle.dumps(_Marker(tmp_path / "control"))).close()  # the payload works when unpickled for real
    assert (tmp_path / "control").exists()
    with pytest.raises(UnsafeInputError, match=r"refused to unpickle the global '(io|__builtin__|builtins)\.open'"):
        image_batch(evil, batch_size=2, num_classes=10, resolution=4, seed=0)
    assert not marker.exists()


def test_npz_with_an_object_array_is_refused_unloaded(tmp_path):
    from intrain.engine.inputs import image_batch

    marker = tmp_path / "marker"
    path = tmp_path / "batch.npz"
    np.savez(path, x=np.array([_Marker(marker)], dtype=object), y=np.zeros(1, np.int64))
    with pytest.raises(UnsafeInputError, match="object array"):
        image_batch(path, batch_size=1, num_classes=10, resolution=4, seed=0)
    assert not marker.exists()


def test_no_unsafe_loader_calls_in_the_package():
    """pickle.load, np.load without allow_pickle=False, yaml.load, torch.load and eval stay out."""
    import re

    bad = []
    for path in sorted((REPO / "intrain").rglob("*.py")) + sorted((REPO / "workflow").rglob("*.smk")):
        if path.name == "safepickle.py":
            continue
        for k, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(
                r"\bpickle\.(load|loads)\(|yaml\.(load|unsafe_load|full_load)\(|torch\.load\(|[^.\w]eval\(|"
                r"\bexec\(",
                line,
            ) or ("np.load(" in line and "allow_pickle=False" not in line):
                bad.append(f"{path.relative_to(REPO)}:{k}: {line.strip()}")
    assert not bad, bad


# ----------------------------------------------------------------------------- errors in words


def test_nb201_error_names_the_edge_the_op_and_the_allowed_ops():
    from intrain.spaces.nb201.encoding import ArchStringError, parse_arch

    with pytest.raises(ArchStringError) as e:
        parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|conv5~1|+|none~0|none~1|none~2|")
    msg = str(e.value)
    assert "edge 2 of node 2 (node 1 -> node 2)" in msg and "unknown operation 'conv5'" in msg
    assert "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3" in msg
    assert isinstance(e.value, InputError) and isinstance(e.value, ValueError)


def test_spec_errors_name_the_field():
    from intrain.spaces import zennas
    from intrain.spaces.nb101 import encoding as nb101
    from intrain.spaces.nds import encoding as nds

    with pytest.raises(nb101.ArchSpecError, match="at most 9 edges"):
        nb101.parse_arch(
            "0111111-0011111-0001111-0000111-0000011-0000001-0000000|conv3x3,conv3x3,conv3x3,conv3x3,conv3x3"
        )
    with pytest.raises(zennas.ZenStructureError, match="block 1 .*channel chain broken: in_channels 9"):
        zennas.parse_structure("SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(9,32,2,8,1)SuperConvK1BNRELU(32,64,1,1)")
    with pytest.raises(nds.NDSRecordError, match="reduce cell, entry 1: unknown operation 'conv_9x9'"):
        nds.parse_net(
            {
                "width": 8,
                "depth": 1,
                "genotype": {
                    "normal": [["none", 0], ["none", 1]],
                    "normal_concat": [2],
                    "reduce": [["none", 0], ["conv_9x9", 1]],
                    "reduce_concat": [2],
                },
            }
        )


@pytest.mark.parametrize(
    "overlay, words",
    [
        (
            {"spaces": {"nb201": {"archs": ["|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|conv~2|"]}}},
            [
                "config key spaces.nb201.archs[0]",
                "edge 3 of node 3 (node 2 -> node 3)",
                "unknown operation 'conv'",
                "allowed: none, skip_connect",
                "Fix: write it as",
            ],
        ),
        (
            {"spaces": {"nb101": {"archs": ["011-001-000|conv9x9"]}}},
            ["config key spaces.nb101.archs[0]", "unknown operation 'conv9x9'"],
        ),
        ({"spaces": {"nb201": {"sample": 0}}}, ["config key spaces.nb201.sample: must be >= 1, got 0"]),
        ({"scoring": {"batch_sise": 4}}, ["config key scoring: unknown key(s) ['batch_sise']"]),
        ({"device": "gpu"}, ["config key device: 'gpu' is not in the expected form (auto, cpu, cuda or cuda:N)"]),
    ],
)
def test_config_errors_name_the_key_and_the_fix(overlay, words):
    import yaml

    from intrain.planning.configcheck import ConfigError, check_config, merge_overlay

    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    with pytest.raises(ConfigError) as e:
        check_config(merge_overlay(base, overlay))
    for w in words:
        assert w in str(e.value)
    assert "~0\\\\|" not in str(e.value) and "^" not in str(e.value)  # no regular expression dumps


@pytest.mark.slow
def test_workflow_reports_a_bad_arch_in_words(tmp_path):
    """Through snakemake: the message names edge and op, not the schema's regular expression."""
    bad = "|nor_conv_3x3~0|+|nor_conv_3x3~0|conv~1|+|none~0|none~1|none~2|"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            "config/tiny.yaml",
            "--config",
            f"results={tmp_path}",
            f"spaces={{'nb201': {{'archs': ['{bad}']}}}}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config key spaces.nb201.archs[0]" in out and "edge 2 of node 2 (node 1 -> node 2)" in out
    assert "nor_conv_1x1|nor_conv_3x3|avg_pool_3x3)~" not in out


def test_error_classes_keep_their_builtin_bases():
    from intrain.analysis.groundtruth import GroundTruthError
    from intrain.core.artifacts import ArtifactError
    from intrain.core.download import CatalogError, DownloadError
    from intrain.core.search_log import SearchLogError
    from intrain.engine.inputs import DataError
    from intrain.scoring.resources import ResourceError
    from intrain.spaces.nb101.encoding import ArchSpecError
    from intrain.spaces.nb101.tfrecord import RecordError
    from intrain.spaces.nb201.encoding import ArchStringError
    from intrain.spaces.nds.encoding import NDSRecordError
    from intrain.spaces.zennas import ZenStructureError as SpecError

    for cls in (
        ArchStringError,
        ArchSpecError,
        SpecError,
        NDSRecordError,
        GroundTruthError,
        DataError,
        RecordError,
        CatalogError,
    ):
        assert issubclass(cls, InputError) and issubclass(cls, ValueError), cls
    for cls in (ArtifactError, SearchLogError, DownloadError, ResourceError):
        assert issubclass(cls, IntrainError) and issubclass(cls, RuntimeError), cls


# ----------------------------------------------------------------------------- resource bounds


@pytest.mark.slow
def test_memory_estimate_grows_with_batch_and_resolution():
    from intrain.scoring.resources import estimate
    from intrain.spaces.nb201 import build_network

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    small = estimate(lambda: build_network(arch, "cifar10"), 8, 32)
    big = estimate(lambda: build_network(arch, "cifar10"), 16, 32)
    wide = estimate(lambda: build_network(arch, "cifar10"), 8, 64)
    assert small.param_bytes == big.param_bytes == wide.param_bytes > 0
    assert big.activation_bytes == 2 * small.activation_bytes  # every activation has the batch dimension
    assert 3.99 < wide.activation_bytes / small.activation_bytes < 4  # all but the pooled head scale with the area
    # the stem conv alone outputs 16 channels at full side: a floor any real estimate is above
    assert small.activation_bytes > 8 * 16 * 32 * 32 * 4 and small.input_bytes == 8 * 3 * 32 * 32 * 4


def test_request_that_cannot_fit_is_refused_with_the_estimate(monkeypatch):
    from intrain.core.records import ScoreSettings
    from intrain.scoring import resources

    monkeypatch.setattr(resources, "available_bytes", lambda device: 64 * 2**20)
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    with pytest.raises(resources.ResourceError, match=r"needs at least \d+\.\d\d GiB .*activations .* has 0\.06 GiB"):
        resources.check_scoring("nb201", ["cifar10"], ScoreSettings(batch_size=256), "cpu", [arch])
    resources.check_scoring("nb201", ["cifar10"], ScoreSettings(batch_size=2), "cpu", [arch])  # fits


@pytest.mark.slow
def test_cli_refuses_a_huge_batch_before_allocating(tmp_path):
    import pandas as pd

    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    pd.DataFrame({"arch_index": [0], "arch": [arch], "representative": [0], "shard": [0]}).to_csv(
        tmp_path / "sel.csv", index=False
    )
    out = tmp_path / "shard-000.h5"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "intrain",
            "score",
            "--space",
            "nb201",
            "--dataset",
            "cifar10",
            "--selection",
            tmp_path / "sel.csv",
            "--shard",
            "0",
            "--out",
            out,
            "--device",
            "cpu",
            "--settings",
            json.dumps({"batch_size": 50_000_000}),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "needs at least" in proc.stderr and "GiB" in proc.stderr and "lower batch_size" in proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_out_of_memory_in_a_proxy_is_flagged_and_the_shard_goes_on(tmp_path, monkeypatch):
    from intrain.core.artifacts import read_scores, write_shard
    from intrain.core.flags import Flag
    from intrain.proxies.base import PASSES
    from intrain.scoring import scorer as scoring

    archs = [
        "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
        "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|skip_connect~2|",
    ]
    scoring.Scorer  # noqa: B018
    from intrain.proxies import synflow  # noqa: F401  (registers the pass)

    real = PASSES["synflow"]

    calls = {"n": 0}

    def flaky(ctx):
        calls["n"] += 1
        if calls["n"] == 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(ctx)

    monkeypatch.setitem(PASSES, "synflow", flaky)
    from intrain.core.records import ScoreSettings

    settings = ScoreSettings(batch_size=2, proxies=("intrain", "synflow"))
    scorer = scoring.Scorer("nb201", "ImageNet16-120", settings, device="cpu")
    records = list(scorer.score_many(enumerate(archs)))
    assert [r.probe.flags & Flag.OUT_OF_MEMORY for r in records] == [0, Flag.OUT_OF_MEMORY, 0]
    assert records[1].probe.flags & Flag.NONFINITE
    assert np.isfinite(records[0].proxies["synflow"]["score"]) and np.isfinite(records[2].proxies["intrain"]["score"])
    write_shard(tmp_path / "s.h5", records, {"space": "nb201", "dataset": "ImageNet16-120", "shard": 0})
    df = read_scores(tmp_path / "s.h5")
    assert list(df["flags"] & int(Flag.OUT_OF_MEMORY)) == [0, 8, 0]
    assert np.isnan(df["synflow"][1]) and np.isnan(df["intrain"][1]) and np.isfinite(df["intrain"][[0, 2]]).all()


def test_search_log_write_clears_a_killed_writers_temp_file(tmp_path):
    """A search killed between writing its next log and renaming it leaves .log.h5.<pid>.tmp; the
    resumed search's first checkpoint removes it (seen in benchmarks/kill_trials.py)."""
    from intrain.core.search_log import SearchLog, read_log

    (tmp_path / ".log.h5.123.tmp").write_bytes(b"half a log")
    SearchLog(tmp_path / "log.h5", {"a": 1}, []).append([{"iteration": 0, "arch": "x", "score": 1.0, "new": 1}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.h5"]
    assert list(read_log(tmp_path / "log.h5")[1]["arch"]) == ["x"]


def test_fuzz_harness_counts_crashes_hangs_and_blowups(tmp_path):
    """benchmarks/fuzz.py runs each target in a worker under RLIMIT_AS: probe targets that segfault,
    block where SIGALRM cannot reach, or allocate 64 GiB are counted (and restarted), not lost."""
    out = tmp_path / "counts.csv"
    env = {**os.environ, "INTRAIN_FUZZ_PROBES": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "fuzz.py"),
            "--examples",
            "10",
            "--timeout",
            "1",
            "--grace",
            "1",
            "--memory-gib",
            "3",
            "--out",
            str(out),
            "--only",
            "probe_crash",
            "--only",
            "probe_hang",
            "--only",
            "probe_blowup",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # bad outcomes were found, as they should be
    import csv

    rows = {r["target"]: r for r in csv.DictReader(out.open())}
    for name, column in (("probe_crash", "crashes"), ("probe_hang", "hangs"), ("probe_blowup", "blowups")):
        row = rows[name]
        assert int(row["examples"]) == 10 and int(row[column]) >= 1 and int(row["valid"]) >= 1, row
        assert int(row["valid"]) + int(row[column]) == 10, row
