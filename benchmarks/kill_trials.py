"""Kill trials: SIGKILL a tiny workflow run (and a search) at seeded random points, resume, compare.

    PYTHONPATH=$PWD INTRAIN_MIRROR=/work/shared/benchmarks nice python benchmarks/kill_trials.py \
        --trials 10 --search-trials 10 --seed 0 --out benchmarks/kill_trials.csv

Workflow trials: one uninterrupted run of ``config/tiny.yaml`` (studies off) is the reference. Each trial starts
the same run in a fresh results folder and kills its whole process group with SIGKILL at a seeded
random point: by default (``--mode point``) while the n-th HDF5 artifact of the run is being written
(``INTRAIN_FAULT=artifact.write:n:group``, intrain/core/faults.py; n uniform over 1 .. the
reference's artifacts - 1), so the kill lands mid-run whatever the machine's load; ``--mode delay`` kills
after a seeded random delay instead (uniform over 0.5 s to 80% of the reference's duration; a run
that finishes before its kill is recorded but not counted, and another trial is drawn). Then it runs
``snakemake --unlock`` and the run again, and compares every file with the reference:

- lost: in the reference, missing after the resume;
- corrupt: an HDF5 artifact intrain refuses to open, or a CSV pandas cannot read;
- different: an HDF5 artifact whose content differs (every dataset and attribute except wall
  times: ``/arch/seconds``, ``pass_seconds``, ``cost_*``), a CSV whose non-timing columns differ,
  or a downloaded benchmark file whose bytes differ (snakemake's ``benchmarks/timing`` files hold
  wall times and are only checked to exist);
- stray: a file the reference does not have (a temporary or partial file left behind).

Search trials: ``intrain evolve`` (NB201, --search-iterations, default 120, checkpoint every 3) killed while
writing its n-th checkpoint (``INTRAIN_FAULT=search_log.write:n``: the first is the log's HDF5 base, later
ones land halfway through a journal record; ``--mode delay``: at a random moment) and resumed; its log must
equal the uninterrupted log row for row, and no temporary file or journal may be left after the resume.

All counts must be 0. One trial of each kind runs in the test suite (tests/test_faults.py).
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.test_faults import _smk  # noqa: E402  (the fault tests' snakemake helper)

TIMING = ("seconds", "pass_seconds", "threads")
NOSTUDY = "studies:\n  enabled: false\n"  # the tiny config without its studies (the _smk overlay file)


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _is_timing(name: str) -> bool:
    leaf = name.rsplit("/", 1)[-1]
    # "seconds" anywhere: the report's cost table has seconds_median / seconds_p90 columns
    return leaf in TIMING or leaf.startswith("cost_") or "seconds" in leaf


def h5_content(path: Path) -> dict:
    """Every dataset and attribute except wall times, as comparable Python values."""
    from intrain.core.artifacts import open_artifact

    out: dict = {}
    with open_artifact(path) as f:
        for k, v in f.attrs.items():
            if not _is_timing(k) and k not in ("retain_freed_memory",):
                out[f"@{k}"] = v.tolist() if hasattr(v, "tolist") else v

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not _is_timing(name):
                out[name] = obj[()].tolist()

        f.visititems(visit)
    return out


def csv_content(path: Path) -> list:
    df = pd.read_csv(path)
    kept = [c for c in df.columns if not _is_timing(str(c))]
    rows = df[kept].round(9).astype(str).values.tolist()
    # a table ordered by its timings (the cost table: cheapest first) is compared as a set of rows
    return sorted(rows) if len(kept) < len(df.columns) else rows


def snapshot(results: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(results)): p
        for p in results.rglob("*")
        if p.is_file() and "logs" not in p.relative_to(results).parts[:1] and ".snakemake" not in p.parts
    }


def compare(ref: Path, got: Path) -> dict:
    """Counts of lost, corrupt, different and stray files of ``got`` against ``ref``."""
    a, b = snapshot(ref), snapshot(got)
    counts = {"files": len(a), "lost": 0, "corrupt": 0, "different": 0, "stray": 0, "details": []}
    for rel, pa in a.items():
        pb = b.get(rel)
        if pb is None:
            counts["lost"] += 1
            counts["details"].append(f"lost {rel}")
            continue
        if rel.endswith(".h5"):
            try:
                cb = h5_content(pb)
            except Exception as e:
                counts["corrupt"] += 1
                counts["details"].append(f"corrupt {rel}: {e}")
                continue
            if cb != h5_content(pa):
                counts["different"] += 1
                counts["details"].append(f"different {rel}")
        elif rel.endswith(".csv") and "benchmarks/" not in rel:
            try:
                cb = csv_content(pb)
            except Exception as e:
                counts["corrupt"] += 1
                counts["details"].append(f"corrupt {rel}: {e}")
                continue
            if cb != csv_content(pa):
                counts["different"] += 1
                counts["details"].append(f"different {rel}")
        elif rel.startswith("benchmarks/timing/"):
            continue  # snakemake's per-job timings: wall times, different every run
        elif rel.startswith("benchmarks/") and pa.read_bytes() != pb.read_bytes():
            counts["different"] += 1
            counts["details"].append(f"different {rel}")
    for rel in set(b) - set(a):
        counts["stray"] += 1
        counts["details"].append(f"stray {rel}")
    return counts


def _popen_smk(results: Path, mirror: Path, env: dict | None = None) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "--configfile",
        "config/tiny.yaml",
        str(results.parent / "nostudy.yaml"),
        "--config",
        f"results={results}",
        f"mirror={mirror}",
    ]
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env or _env()
    )


def fault_env(workdir: Path, spec: str) -> dict:
    """The environment that kills the run at ``spec`` (``INTRAIN_FAULT``), counting across its processes."""
    return {**_env(), "INTRAIN_FAULT": spec, "INTRAIN_FAULT_COUNTER": str(workdir / "fault-counter")}


def reference_run(workdir: Path, mirror: Path) -> tuple[Path, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "nostudy.yaml").write_text(NOSTUDY)
    results = workdir / "results"
    start = time.perf_counter()
    _smk(results, mirror)
    return results, time.perf_counter() - start


def workflow_trial(
    workdir: Path, mirror: Path, ref: Path, delay: float | None = None, fault_at: int | None = None
) -> dict:
    """Kill a fresh run (after ``delay`` seconds, or while it writes its ``fault_at``-th HDF5 artifact),
    unlock, resume, compare with ``ref``."""
    if (delay is None) == (fault_at is None):
        raise ValueError("give delay or fault_at")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "nostudy.yaml").write_text(NOSTUDY)
    results = workdir / "results"
    if fault_at is not None:
        proc = _popen_smk(results, mirror, fault_env(workdir, f"artifact.write:{fault_at}:group"))
        finished_before_kill = proc.wait() == 0
    else:
        proc = _popen_smk(results, mirror)
        time.sleep(delay)
        finished_before_kill = proc.poll() is not None
        if not finished_before_kill:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_at_kill = len(snapshot(results)) if results.exists() else 0
    _smk(results, mirror, "--unlock")
    _smk(results, mirror)
    out = compare(ref, results)
    out.update(
        delay=round(delay, 2) if delay is not None else None,
        fault_at=fault_at,
        files_at_kill=done_at_kill,
        finished_before_kill=finished_before_kill,
    )
    return out


# ----------------------------------------------------------------------------- search log


def evolve_cmd(log: Path, out: Path, iterations: int = 30) -> list[str]:
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
    ]


def search_reference(workdir: Path, iterations: int = 30) -> tuple[Path, float]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "straight.h5"
    start = time.perf_counter()
    subprocess.run(evolve_cmd(log, workdir / "a", iterations), cwd=REPO, env=_env(), check=True, capture_output=True)
    return log, time.perf_counter() - start


def search_trial(
    workdir: Path, ref_log: Path, delay: float | None = None, iterations: int = 30, fault_at: int | None = None
) -> dict:
    """Kill a search (after ``delay`` seconds, or while it writes its ``fault_at``-th checkpoint), resume, compare."""
    from intrain.core.search_log import _read as read_with_journal
    from intrain.core.search_log import journal_path, read_log

    if (delay is None) == (fault_at is None):
        raise ValueError("give delay or fault_at")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "killed.h5"
    env = _env() if fault_at is None else {**_env(), "INTRAIN_FAULT": f"search_log.write:{fault_at}"}
    proc = subprocess.Popen(
        evolve_cmd(log, workdir / "b", iterations),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if delay is not None:
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # partial writes the kill left: a temporary HDF5 base, or a journal whose last record is torn
    stray_at_kill = sum(p.name.endswith(".tmp") for p in workdir.iterdir())
    journal = journal_path(log)
    journal_at_kill = journal.stat().st_size if journal.exists() else 0
    rows_at_kill, corrupt_at_kill = 0, 0
    if log.exists():
        try:
            _, got, _, valid = read_with_journal(log)
            rows_at_kill = len(got)
            stray_at_kill += journal_at_kill > valid
        except Exception:
            corrupt_at_kill = 1
    resumed = subprocess.run(
        evolve_cmd(log, workdir / "b", iterations), cwd=REPO, env=_env(), capture_output=True, text=True
    )
    # after the resume none may be left: no temporary file, no journal (a finished search compacts it)
    stray = [p.name for p in workdir.iterdir() if p.name.endswith((".tmp", ".journal"))]
    counts = {
        "delay": round(delay, 2) if delay is not None else None,
        "fault_at": fault_at,
        "killed": proc.returncode == -signal.SIGKILL,
        "tmp_at_kill": stray_at_kill,
        "journal_bytes_at_kill": journal_at_kill,
        "rows_at_kill": rows_at_kill,
        "lost": 0,
        "corrupt": corrupt_at_kill,
        "different": 0,
        "stray": len(stray),
        "details": [f"stray {s}" for s in stray],
    }
    if resumed.returncode != 0:
        counts["corrupt"] += 1
        counts["details"].append(resumed.stderr[-500:])
        return counts
    ref_meta, ref_rows = read_log(ref_log)
    meta, rows = read_log(log)
    counts["lost"] = max(0, len(ref_rows) - len(rows))
    same = (
        meta == ref_meta
        and len(rows) == len(ref_rows)
        and list(rows["iteration"]) == list(range(len(rows)))
        and list(rows["arch"]) == list(ref_rows["arch"])
        and np.array_equal(rows["score"], ref_rows["score"])
    )
    counts["different"] = 0 if same else 1
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--search-trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--search-iterations", type=int, default=120, help="iterations of each search (checkpoint every 3)")
    ap.add_argument(
        "--mode",
        choices=("point", "delay"),
        default="point",
        help="kill at a seeded named write point (INTRAIN_FAULT) or after a seeded random delay",
    )
    ap.add_argument("--workdir", default=None, help="default: a temporary folder")
    ap.add_argument("--out", default="benchmarks/kill_trials.csv")
    args = ap.parse_args()
    import tempfile

    mirror = Path(os.environ.get("INTRAIN_MIRROR", REPO.parent / "shared" / "benchmarks"))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="kill_trials_"))
    rng = np.random.default_rng(args.seed)
    rows = []
    if args.trials:
        ref, seconds = reference_run(work / "ref", mirror)
        print(f"reference workflow run: {seconds:.1f} s, {len(snapshot(ref))} files", flush=True)
        killed, i = 0, 0
        n_artifacts = sum(rel.endswith(".h5") for rel in snapshot(ref))
        while killed < args.trials and i < 2 * args.trials:  # a run that ends before its kill does not count
            if args.mode == "point":
                r = workflow_trial(work / f"wf{i}", mirror, ref, fault_at=int(rng.integers(1, n_artifacts)))
            else:
                r = workflow_trial(work / f"wf{i}", mirror, ref, float(rng.uniform(0.5, 0.8 * seconds)))
            rows.append({"kind": "workflow", "trial": i, **{k: v for k, v in r.items() if k != "details"}})
            print(rows[-1], *r["details"][:5], sep="\n  ", flush=True)
            killed += not r["finished_before_kill"]
            i += 1
    if args.search_trials:
        ref_log, seconds = search_reference(work / "search_ref", args.search_iterations)
        print(f"reference search: {seconds:.1f} s", flush=True)
        for i in range(args.search_trials):
            if args.mode == "point":  # the first checkpoint holds the initial population; the last one ends the run
                n = int(rng.integers(1, args.search_iterations // 3))
                r = search_trial(work / f"search{i}", ref_log, None, args.search_iterations, fault_at=n)
            else:
                delay = float(rng.uniform(0.5, 0.95 * seconds))
                r = search_trial(work / f"search{i}", ref_log, delay, args.search_iterations)
            rows.append({"kind": "search", "trial": i, **{k: v for k, v in r.items() if k != "details"}})
            print(rows[-1], *r["details"][:5], sep="\n  ", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    bad = sum(r.get("lost", 0) + r.get("corrupt", 0) + r.get("different", 0) + r.get("stray", 0) for r in rows)
    print(f"wrote {out}: {len(rows)} trials, {bad} lost/corrupt/different/stray files")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
