"""Search: Algorithm 1 and its resumable log, the NB201 pick-the-top table, and the CLI (the zennas
space's own search tests are in test_zennas.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd
import pytest

from intrain.core.search_log import SearchLogError, read_log
from intrain.search.evolution import evolve, top_k
from intrain.search.problems import nb201_pick_table, summarize_picks
from intrain.spaces import zennas
from intrain.spaces.nb201 import encoding as nb201
from intrain.spaces.nb201.search import NB201Edges

from .conftest import REPO
from .helpers import fake_artifact, ladder


def test_algorithm_1_climbs_a_known_landscape():
    class Line:
        def start(self, rng):
            return "0"

        def mutate(self, arch, rng):
            return str(int(arch) + int(rng.choice([-3, -1, 1, 3])))

        def describe(self, arch):
            return {}

    result = evolve(Line(), lambda a: -abs(int(a) - 40), iterations=200, k=3, seed=1)
    assert result.best_arch == "40" and result.best_score == 0
    assert result.n_evaluated == result.history["arch"].nunique() < 200  # repeats are not rescored
    again = evolve(Line(), lambda a: -abs(int(a) - 40), iterations=200, k=3, seed=1)
    assert list(again.history["arch"]) == list(result.history["arch"])
    assert top_k([1.0, float("nan"), 3.0, 3.0], 3) == [2, 3, 0]


def test_nb201_mutation_changes_exactly_one_edge():
    problem, rng = NB201Edges(), np.random.default_rng(0)
    arch = problem.start(rng)
    for _ in range(50):
        child = problem.mutate(arch, rng)
        a, b = nb201.parse_arch(arch).ops, nb201.parse_arch(child).ops
        assert sum(x != y for x, y in zip(a, b)) == 1
        arch = child


def _evolve_cmd(log, out, iterations, extra=()):
    return [
        sys.executable,
        "-m",
        "intrain",
        "evolve",
        "--space",
        "nb201",
        "--dataset",
        "cifar10",
        "--iterations",
        str(iterations),
        "--k",
        "3",
        "--seed",
        "4",
        "--settings",
        '{"batch_size": 4}',
        "--device",
        "cpu",
        "--log",
        str(log),
        "--out-dir",
        str(out),
        "--checkpoint-every",
        "3",
        "--no-progress",
        *extra,
    ]


@pytest.mark.slow
def test_killed_search_resumes_to_the_same_history(tmp_path, groundtruth_csv):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    straight = tmp_path / "straight.h5"
    subprocess.run(_evolve_cmd(straight, tmp_path / "a", 30), cwd=REPO, env=env, check=True, capture_output=True)
    log = tmp_path / "killed.h5"
    # SIGKILLed while writing its 3rd checkpoint (intrain/core/faults.py): no timer to race
    killed = subprocess.run(
        _evolve_cmd(log, tmp_path / "b", 30),
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**env, "INTRAIN_FAULT": "search_log.write:3"},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    done = len(read_log(log)[1])  # the HDF5 base and the journal's complete records
    assert 0 < done < 30  # the 2nd checkpoint's complete log, not the 3rd's partial record
    # the 3rd write point is halfway through the 2nd journal record (the 1st writes the HDF5 base)
    assert (tmp_path / ".killed.h5.journal").stat().st_size > 0, "the kill did not land mid-write"
    out = subprocess.run(
        _evolve_cmd(log, tmp_path / "b", 30, ["--groundtruth", str(groundtruth_csv)]),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "resuming" in out.stderr
    assert not (tmp_path / ".killed.h5.journal").exists()  # a finished search compacts its log into one file
    with h5py.File(straight, "r") as a, h5py.File(log, "r") as b:
        assert int(b.attrs["n_done"]) == 30
        assert list(b["iteration"][:30]) == list(range(30))  # no duplicate or missing iteration
        assert list(a["arch"][:]) == list(b["arch"][:30]) and np.array_equal(a["score"][:], b["score"][:30])
    best = json.loads((tmp_path / "b" / "best.json").read_text())
    assert best["iterations"] == 30 and 10.0 <= best["best_accuracy"] <= best["space_best_accuracy"]
    assert (tmp_path / "b" / "trajectory.png").stat().st_size > 1000
    bad = subprocess.run(
        _evolve_cmd(log, tmp_path / "c", 30, ["--k", "5"]), cwd=REPO, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "different search" in bad.stderr


def test_corrupt_search_log_is_named(tmp_path):
    path = tmp_path / "log.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(SearchLogError, match="corrupt"):
        evolve(NB201Edges(), lambda a: 0.0, iterations=2, log_path=path)


def test_pick_table_takes_each_proxys_top_architecture(tmp_path):
    n = 12
    rng = np.random.default_rng(0)
    path = fake_artifact(tmp_path / "s.h5", ladder(n, rng))  # intrain grows with the index
    acc = np.linspace(60, 90, n)[::-1].copy()  # accuracy falls with the index: intrain picks badly
    gt = pd.DataFrame(
        {
            "arch_index": range(n),
            "arch": [f"arch{i}" for i in range(n)],
            "canonical": [f"c{i}" for i in range(n)],
            "acc_cifar10": acc,
        }
    )
    gt.to_csv(tmp_path / "gt.csv", index=False)
    picks = nb201_pick_table([str(path)], str(tmp_path / "gt.csv"), n=5, seeds=[0, 1, 2])
    for seed in (0, 1, 2):
        sample = np.random.default_rng(seed).choice(np.arange(n), size=5, replace=False)
        rows = picks[picks.seed == seed].set_index("proxy")["accuracy"]
        assert rows["intrain"] == pytest.approx(acc[sample.max()])
        assert rows["ground_truth"] == pytest.approx(acc[sample.min()])
    summary = summarize_picks(picks).set_index("proxy")
    assert summary.loc["ground_truth", "seeds"] == 3 and summary.loc["intrain", "paper_mean"] == 93.72
    with pytest.raises(ValueError, match="only 12 architectures"):
        nb201_pick_table([str(path)], str(tmp_path / "gt.csv"), n=13, seeds=[0])


@pytest.mark.slow
def test_workflow_runs_the_searches_and_reports_them(tmp_path, mirror):
    cfg = tmp_path / "search.yaml"
    cfg.write_text(
        "studies: {enabled: false}\n"
        "search: {enabled: true, budgets: [450000000], iterations: 4, resolution: 32,"
        " nb201_iterations: 6, pick_n: 4, pick_seeds: [0, 1]}\n"
    )
    results = tmp_path / "results"
    cmd = [
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
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    zen = pd.read_csv(results / "search" / "zennas.csv")
    assert len(zen) == 1 and zen.loc[0, "iterations"] == 4 and zen.loc[0, "flops"] <= 450e6
    assert zennas.build_network(zen.loc[0, "best_arch"], "imagenet") is not None
    nb = pd.read_csv(results / "search" / "nb201.csv")
    assert nb.loc[0, "iterations"] == 6 and 0 < nb.loc[0, "best_accuracy"] <= nb.loc[0, "space_best_accuracy"]
    picks = pd.read_csv(results / "search" / "nb201_picks.csv")
    assert {"intrain", "ground_truth"} <= set(picks.proxy) and set(picks.n) == {4}
    html = (results / "report" / "index.html").read_text()
    assert "InTrain-NAS on the Zen-NAS ImageNet space" in html and "pick-the-top" in html
    assert (results / "report" / "search_zennas.png").stat().st_size > 1000
    # a longer T resumes from the log instead of starting over
    (tmp_path / "longer.yaml").write_text("search: {iterations: 6}\n")
    proc = subprocess.run([*cmd[:8], str(tmp_path / "longer.yaml"), *cmd[8:]], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = (results / "logs" / "search" / "zennas-b450000000.log").read_text()
    assert "resuming" in log and "at iteration 4" in log
    assert pd.read_csv(results / "search" / "zennas.csv").loc[0, "iterations"] == 6


def test_evolve_cli_looks_scores_up_in_rounds(tmp_path, caplog):
    """``intrain evolve --scores-from`` (search.scores_from) with ``--batch`` and ``--workers``: nothing
    is scored, the round size is in the log's meta and best.json, a missing architecture is named."""
    from intrain.cli import main

    from .test_search_parallel import _full_space_artifact

    path, gt, accuracy = _full_space_artifact(tmp_path, lambda i, a: a)  # a perfect proxy
    log, out = tmp_path / "log.h5", tmp_path / "out"
    argv = ["evolve", "--space", "nb201", "--dataset", "cifar10", "--iterations", "120", "--seed", "1"]
    argv += ["--scores-from", str(path), "--batch", "4", "--workers", "2", "--log", str(log)]
    assert main([*argv, "--groundtruth", str(gt), "--no-progress", "--out-dir", str(out)]) == 0
    best = json.loads((out / "best.json").read_text())
    assert best["batch"] == 4 and best["scores_from"] == str(path)
    assert best["best_accuracy"] == pytest.approx(accuracy[best["best_arch"]])
    meta, rows = read_log(log)
    assert meta["batch"] == 4 and len(rows) == 120
    assert best["best_score"] == pytest.approx(max(accuracy[a] for a in rows["arch"]))
    assert main([*argv[:-4], "--workers", "many", "--log", str(tmp_path / "x.h5"), "--out-dir", str(out)]) == 2
    assert "workers 'many': expected a number" in caplog.text and not (tmp_path / "x.h5").exists()
