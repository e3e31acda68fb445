"""Faults lose no finished work: disk full, a killed run, a truncated shard, non-finite scores."""

import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from intrain.analysis.correlate import correlation_table

from .conftest import REPO
from .helpers import fake_artifact, fake_record, ladder

SETTINGS = json.dumps({"batch_size": 4})


def intrain(*args, preexec_fn=None):
    return subprocess.run(
        [sys.executable, "-m", "intrain", *map(str, args)], capture_output=True, text=True, preexec_fn=preexec_fn
    )


@pytest.fixture(scope="module")
def selection(groundtruth_csv, tmp_path_factory):
    d = tmp_path_factory.mktemp("sel")
    proc = intrain(
        "select", "--groundtruth", groundtruth_csv, "--sample", 4, "--seed", 5, "--n-shards", 2, "--out", d / "sel.csv"
    )
    assert proc.returncode == 0, proc.stderr
    return d / "sel.csv"


@pytest.mark.slow
def test_disk_full_fails_cleanly_and_keeps_earlier_shards(tmp_path, selection):
    args = [
        "score",
        "--space",
        "nb201",
        "--dataset",
        "ImageNet16-120",
        "--selection",
        selection,
        "--settings",
        SETTINGS,
        "--no-progress",
        "--threads",
        1,
    ]
    assert intrain(*args, "--shard", 0, "--out", tmp_path / "shard-000.h5").returncode == 0
    before = (tmp_path / "shard-000.h5").read_bytes(), (tmp_path / "shard-000.h5").stat().st_mtime_ns

    def tiny_disk():  # every file this process writes may hold at most 2 kB
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    proc = intrain(*args, "--shard", 1, "--out", tmp_path / "shard-001.h5", preexec_fn=tiny_disk)
    assert proc.returncode == 1
    assert "disk full" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["shard-000.h5"]  # no partial, no temp file
    assert ((tmp_path / "shard-000.h5").read_bytes(), (tmp_path / "shard-000.h5").stat().st_mtime_ns) == before


def test_nonfinite_scores_are_excluded_and_reported(tmp_path):
    recs = ladder(5, np.random.default_rng(0))
    recs.append(fake_record(5, [(np.nan, 1.0, 4.0)], [(1.0, 1.0)]))
    recs[5].probe.flags = 1
    path = fake_artifact(tmp_path / "a.h5", recs)
    gt = pd.DataFrame(
        {
            "arch_index": range(6),
            "arch": [f"a{i}" for i in range(6)],
            "canonical": list("abcdef"),
            "acc_cifar10": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    gt.to_csv(tmp_path / "gt.csv", index=False)
    row = correlation_table([str(path)], str(tmp_path / "gt.csv"), n_boot=0).set_index("proxy").loc["intrain"]
    assert (row.n, row.n_excluded, row.n_nonfinite, row.n_flagged) == (5, 1, 1, 1)
    assert row.kendall == pytest.approx(1.0)


def _smk(results, mirror, *extra, check=True):
    """snakemake on the tiny config; ``extra`` (flags or targets) goes before --config."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            *extra,
            "--cores",
            "2",
            "--configfile",
            "config/tiny.yaml",
            str(results.parent / "nostudy.yaml"),
            "--config",
            f"results={results}",
            f"mirror={mirror}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


@pytest.mark.slow
def test_killed_run_redoes_only_the_unfinished_shard(tmp_path, mirror):
    (tmp_path / "nostudy.yaml").write_text("studies:\n  enabled: false\n")
    results = tmp_path / "results"
    shards = results / "nb201" / "cifar10" / "shards"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        str(shards / "shard-000.h5"),
        str(shards / "shard-001.h5"),
        "--cores",
        "1",
        "--configfile",
        "config/tiny.yaml",
        str(tmp_path / "nostudy.yaml"),
        "--config",
        f"results={results}",
        f"mirror={mirror}",
    ]
    # the whole run (snakemake and its jobs) is SIGKILLed while the second shard is being written
    # (intrain/core/faults.py): one shard finished, the other one mid-write, whatever the load
    env = {**os.environ, "INTRAIN_FAULT": "artifact.write:2:group", "INTRAIN_FAULT_COUNTER": str(tmp_path / "count")}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, start_new_session=True, env=env, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert (tmp_path / "count").read_text() == "..", "the run was not killed at the second shard's write"
    done = sorted(p.name for p in shards.glob("shard-*.h5"))
    assert len(done) == 1 and list(shards.glob(".shard-*.h5.*.tmp")), "the kill did not land mid-write"
    finished = shards / done[0]
    before = finished.read_bytes(), finished.stat().st_mtime_ns
    complete = sorted(p.name for p in shards.iterdir() if not p.name.startswith("."))
    assert complete == done  # nothing that looks like a complete second shard
    merged = results / "nb201" / "cifar10" / "scores.h5"
    _smk(results, mirror, "--unlock")
    _smk(results, mirror, str(merged))
    assert (finished.read_bytes(), finished.stat().st_mtime_ns) == before
    assert sorted(p.name for p in shards.glob("shard-*.h5")) == ["shard-000.h5", "shard-001.h5"]
    assert merged.exists()


@pytest.mark.slow
def test_truncated_shard_is_named_at_merge_and_regenerated(tmp_path, mirror):
    (tmp_path / "nostudy.yaml").write_text("studies:\n  enabled: false\n")
    results = tmp_path / "results"
    merged = results / "nb201" / "ImageNet16-120" / "scores.h5"
    _smk(results, mirror, str(merged))
    shard = results / "nb201" / "ImageNet16-120" / "shards" / "shard-001.h5"
    merged.unlink()
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 3])
    proc = _smk(results, mirror, str(merged), check=False)
    assert proc.returncode != 0
    log = (results / "logs" / "merge" / "nb201" / "ImageNet16-120.log").read_text()
    assert "shard-001.h5: corrupt or truncated HDF5 file" in log
    assert not merged.exists()
    shard.unlink()
    _smk(results, mirror, str(shard))
    _smk(results, mirror, str(merged))
    assert merged.exists()


def _kill_trials():
    import importlib.util

    spec = importlib.util.spec_from_file_location("kill_trials", REPO / "benchmarks" / "kill_trials.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_kill_trial_loses_nothing(tmp_path, mirror):
    """One trial of benchmarks/kill_trials.py: kill the tiny run while it writes its 4th HDF5 artifact
    (intrain/core/faults.py, no timer), resume, compare every file with an uninterrupted run."""
    kt = _kill_trials()
    ref, _ = kt.reference_run(tmp_path / "ref", mirror)
    assert sum(rel.endswith(".h5") for rel in kt.snapshot(ref)) > 4
    r = kt.workflow_trial(tmp_path / "trial", mirror, ref, fault_at=4)
    assert not r["finished_before_kill"], "the run was not killed at its 4th artifact write"
    assert r["files"] > 10 and (r["lost"], r["corrupt"], r["different"], r["stray"]) == (0, 0, 0, 0), r["details"]


@pytest.mark.slow
def test_search_killed_mid_write_resumes_to_the_same_log(tmp_path):
    kt = _kill_trials()
    ref_log, _ = kt.search_reference(tmp_path / "ref")
    r = kt.search_trial(tmp_path / "trial", ref_log, fault_at=5)  # killed while writing its 5th checkpoint
    assert r["killed"] and r["tmp_at_kill"] == 1, "the kill did not land mid-write"
    assert 0 < r["rows_at_kill"] < 30
    assert (r["lost"], r["corrupt"], r["different"], r["stray"]) == (0, 0, 0, 0), r["details"]


def test_a_fault_point_kills_exactly_at_its_nth_arrival_across_processes(tmp_path):
    """INTRAIN_FAULT's count (intrain/core/faults.py): per process, or shared through the counter file."""
    code = (
        "from intrain.core import faults\n"
        "for _ in range(3):\n"
        "    faults.reached('artifact.write'); faults.reached('search_log.write'); print('passed', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "INTRAIN_FAULT": "artifact.write:2"}
    alone = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert alone.returncode == -signal.SIGKILL and alone.stdout.split() == ["passed"]
    shared = {**env, "INTRAIN_FAULT": "artifact.write:4", "INTRAIN_FAULT_COUNTER": str(tmp_path / "n")}
    first = subprocess.run([sys.executable, "-c", code], env=shared, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", code], env=shared, capture_output=True, text=True)
    assert first.returncode == 0 and second.returncode == -signal.SIGKILL  # arrivals 1-3, then 4 in the second
    assert second.stdout.split() == [] and (tmp_path / "n").read_text() == "...."
    unset = {k: v for k, v in env.items() if k != "INTRAIN_FAULT"}
    assert subprocess.run([sys.executable, "-c", code], env=unset, capture_output=True).returncode == 0


def test_a_malformed_fault_spec_is_refused_with_the_format():
    from intrain.core.errors import InputError
    from intrain.core.faults import parse

    for spec in ("artifact.write", "artifact.write:0", "nowhere:1", "artifact.write:1:all"):
        with pytest.raises(InputError, match=r"INTRAIN_FAULT=.*expected <point>:<n>\[:group\]"):
            parse(spec)
