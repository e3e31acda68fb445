"""Search rounds: b = 1 is the old Algorithm 1 bit for bit, the history does not depend on the
workers (in-process, local processes, a Dask LocalCluster), Zen-NAS's iteration counting, the
incremental top-k and the scores_from lookup."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from intrain.core.errors import InputError
from intrain.search.evolution import TopK, evolve, round_of, top_k
from intrain.search.problems import single_draw
from intrain.search.workers import parse_workers
from intrain.spaces.nb201.search import NB201Edges
from intrain.spaces.zennas.mutation import ZenSearch

from .conftest import REPO as REPO_ROOT


def synthetic(arch: str) -> float:
    """A deterministic score with ties and NaNs (picklable: worker processes import this module)."""
    h = int(hashlib.sha256(arch.encode()).hexdigest()[:8], 16)
    return float("nan") if h % 17 == 0 else float(h % 50)


def old_evolve(problem, score, iterations: int, k: int, seed: int) -> pd.DataFrame:
    """Algorithm 1 as the code ran before rounds existed (intrain/search/evolution.py at 91f3db9),
    kept here as the reference b = 1 must equal: one child per iteration, top-k by a full sort."""
    archs: list[str] = []
    scores: list[float] = []
    cache: dict[str, float] = {}
    for i in range(iterations):
        rng = np.random.default_rng([seed, i])
        if i == 0:
            arch = problem.start(rng)
        else:
            parents = top_k(scores, k)
            parent = archs[parents[int(rng.integers(len(parents)))]]
            mutate_at = getattr(problem, "mutate_at", None)
            arch = mutate_at(parent, rng, i) if mutate_at else problem.mutate(parent, rng)
        if arch not in cache:
            cache[arch] = float(score(arch))
        archs.append(arch)
        scores.append(cache[arch])
    return pd.DataFrame({"iteration": range(len(archs)), "arch": archs, "score": scores})


def same_history(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    return (
        list(a["iteration"]) == list(b["iteration"])
        and list(a["arch"]) == list(b["arch"])
        and np.array_equal(a["score"].to_numpy(float), b["score"].to_numpy(float), equal_nan=True)
    )


def zen_params(arch: str) -> float:
    return ZenSearch(450e6).describe(arch)["params"]


@pytest.mark.parametrize("k,seed", [(10, 3), (3, 7), (1, 0)])
def test_batch_1_is_the_old_algorithm_bit_for_bit(k, seed):
    ref = old_evolve(NB201Edges(), synthetic, 400, k, seed)
    got = evolve(NB201Edges(), synthetic, iterations=400, k=k, seed=seed)
    assert same_history(got.history, ref)
    assert got.history["score"].isna().any()  # the NaN and tie rules were exercised


def test_batch_1_is_the_old_algorithm_on_zennas_and_when_resumed(tmp_path):
    ref = old_evolve(ZenSearch(450e6), zen_params, 40, 10, 1)
    assert same_history(evolve(ZenSearch(450e6), zen_params, iterations=40, k=10, seed=1).history, ref)
    ref = old_evolve(NB201Edges(), synthetic, 300, 3, 7)
    log = tmp_path / "log.h5"
    evolve(NB201Edges(), synthetic, iterations=130, k=3, seed=7, log_path=log, checkpoint_every=7)
    got = evolve(NB201Edges(), synthetic, iterations=300, k=3, seed=7, log_path=log, checkpoint_every=7)
    assert same_history(got.history, ref)


def test_rounds_draw_every_child_from_the_snapshot_before_the_round():
    seen: list[tuple[int, str]] = []

    class Recording(NB201Edges):
        def mutate(self, arch, rng):
            seen.append((len(seen), arch))
            return super().mutate(arch, rng)

    b = 4
    result = evolve(Recording(), synthetic, iterations=41, k=2, seed=5, batch=b)
    h = result.history
    for child, (_, parent) in zip(range(1, 41), seen):
        first, _ = round_of(child, b)
        earlier = h[h["iteration"] < first]
        assert parent in set(earlier.loc[top_k(list(earlier["score"]), 2), "arch"])
    assert not same_history(h, evolve(NB201Edges(), synthetic, iterations=41, k=2, seed=5).history)


def test_incremental_top_k_equals_the_full_sort():
    rng = np.random.default_rng(0)
    scores = [float(x) if x < 8 else math.nan for x in rng.integers(0, 10, 500)]
    for k in (1, 3, 10):
        t = TopK(k)
        for i, s in enumerate(scores):
            t.add(i, s)
            if i % 37 == 0:
                assert t.indices() == top_k(scores[: i + 1], k)


@pytest.mark.parametrize("b", [2, 4])
def test_one_and_two_local_workers_give_the_same_history(b, tmp_path):
    one = evolve(NB201Edges(), synthetic, iterations=60, k=5, seed=2, batch=b, workers=1)
    two = evolve(NB201Edges(), synthetic, iterations=60, k=5, seed=2, batch=b, workers=2, log_path=tmp_path / "log.h5")
    assert same_history(one.history, two.history)
    assert list(one.history["new"]) == list(two.history["new"])


def test_a_dask_local_cluster_gives_the_same_history():
    distributed = pytest.importorskip("distributed")
    ref = evolve(NB201Edges(), synthetic, iterations=50, k=5, seed=9, batch=4)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = evolve(NB201Edges(), synthetic, iterations=50, k=5, seed=9, batch=4, workers=client)
        assert len(client.scheduler_info()["workers"]) == 2
    assert same_history(ref.history, got.history)


def test_a_failing_worker_score_reaches_the_search():
    with pytest.raises(ZeroDivisionError):
        evolve(NB201Edges(), _fails, iterations=5, batch=2, workers=2)


def _fails(arch: str) -> float:
    return 1 / 0


def test_workers_spec_is_checked_in_words():
    assert parse_workers("3") == ("local", 3)
    with pytest.raises(InputError, match="needs a picklable score"):
        evolve(NB201Edges(), lambda a: 1.0, iterations=3, batch=2, workers=2)
    for bad in ("0", "two", "dask:", "slurm:0", "-1"):
        with pytest.raises(InputError, match="expected a number"):
            parse_workers(bad)


def test_zennas_counting_spends_an_iteration_on_each_rejected_child():
    problem = ZenSearch(450e6)
    # one draw at a time on one generator reaches what mutate_at returns (it redraws until a child fits)
    for s in range(5):
        parent = problem.start(None)
        a, b = np.random.default_rng(s), np.random.default_rng(s)
        want = problem.mutate_at(parent, a, 20)
        got = None
        while got is None:
            got = single_draw(problem, parent, b, 20)
        assert got == want
    counted = evolve(problem, zen_params, iterations=40, k=5, seed=1, count_rejected=True)
    iters = list(counted.history["iteration"])
    assert counted.iterations == 40 and iters == sorted(iters) and iters[0] == 0
    assert len(iters) < 40  # some children were over the budget or cap: their iterations left no row
    assert all(problem.describe(a)["flops"] <= 450e6 for a in counted.history["arch"])
    plain = evolve(problem, zen_params, iterations=40, k=5, seed=1)
    assert len(plain.history) == 40 and list(plain.history["iteration"]) == list(range(40))


def test_counting_rejected_children_resumes_exactly(tmp_path):
    problem, log = ZenSearch(450e6), tmp_path / "log.h5"
    straight = evolve(problem, zen_params, iterations=30, k=5, seed=4, count_rejected=True, batch=3)
    evolve(problem, zen_params, iterations=13, k=5, seed=4, count_rejected=True, batch=3, log_path=log)
    resumed = evolve(problem, zen_params, iterations=30, k=5, seed=4, count_rejected=True, batch=3, log_path=log)
    assert same_history(straight.history, resumed.history)


def test_scores_from_looks_scores_up_and_names_a_missing_architecture(tmp_path):
    from intrain.core.artifacts import write_shard
    from intrain.search.lookup import LookupScore
    from intrain.spaces.nb201.encoding import EDGES, OPS, Cell

    from .helpers import fake_record

    rng = np.random.default_rng(0)
    cells = sorted(
        {Cell(tuple(OPS[int(i)] for i in rng.integers(len(OPS), size=len(EDGES)))).to_str() for _ in range(40)}
    )
    records = []
    for i, arch in enumerate(cells):
        d = 2.0 + i
        rec = fake_record(i, [(d, d * d / (1.0 + i * 0.5), 16.0), (d, d, 16.0)], [(0.1, 1.0), (0.2, 1.0)])
        rec.arch = arch
        records.append(rec)
    path = tmp_path / "scores.h5"
    write_shard(path, records, {"space": "nb201", "dataset": "cifar10", "shard": 0, "n_shards": 1, "settings": {}})
    score = LookupScore(path, "intrain", "nb201")
    want = {r.arch: r.proxies["intrain"]["score"] for r in records}
    assert all(score(a) == pytest.approx(want[a]) for a in cells)
    with pytest.raises(InputError, match=r"'\|none~0\|\+\|none~0\|none~1\|"):
        score("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(InputError, match="has no 'zen' scores"):
        LookupScore(path, "zen")("x")
    with pytest.raises(InputError, match="space 'nb201' scores, the search is on 'zennas'"):
        LookupScore(path, "intrain", "zennas")("x")


@pytest.mark.slurm
@pytest.mark.slow
def test_a_b2_search_through_dask_jobqueue_on_the_slurm_cluster(slurm_cluster, tmp_path):
    """``workers = "slurm:2"``: dask-jobqueue's SLURMCluster submits two worker jobs with sbatch to
    the suite's single-node cluster (scripts/slurm-cluster.sh); same history as in-process."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask_jobqueue")
    import subprocess

    from .conftest import REPO

    ref = evolve(NB201Edges(), synthetic, iterations=30, k=4, seed=6, batch=2)
    slurm = {
        "jobqueue.slurm.cores": 1,
        "jobqueue.slurm.memory": "1GB",
        "jobqueue.slurm.processes": 1,
        "jobqueue.slurm.walltime": "00:10:00",
        "jobqueue.slurm.log-directory": str(tmp_path / "logs"),
        "jobqueue.slurm.job-script-prologue": [f"cd {REPO}", f"export PYTHONPATH={REPO}"],
    }
    with dask.config.set(slurm):
        got = evolve(NB201Edges(), synthetic, iterations=30, k=4, seed=6, batch=2, workers="slurm:2")
    assert same_history(ref.history, got.history)
    jobs = subprocess.run(["squeue", "-t", "all", "-h", "-o", "%j %T"], capture_output=True, text=True).stdout
    assert "dask-worker" in jobs, jobs  # the scoring ran in Slurm jobs


@pytest.fixture(scope="module")
def slurm_cluster():
    """The Slurm test's cluster fixture (tests/test_slurm.py): up as root, down afterwards."""
    import os
    import shutil
    import subprocess

    from .conftest import REPO

    if os.geteuid() != 0 or (shutil.which("apt-get") is None and shutil.which("slurmctld") is None):
        if os.environ.get("CI"):
            pytest.fail("the Slurm test needs root and Debian's slurm-wlm/munge (scripts/setup.sh)")
        pytest.skip("needs root to run a Slurm cluster")
    script = REPO / "scripts" / "slurm-cluster.sh"
    up = subprocess.run(["bash", str(script), "up"], capture_output=True, text=True)
    assert up.returncode == 0, up.stdout + up.stderr
    yield
    subprocess.run(["bash", str(script), "down"], capture_output=True, text=True)


def _full_space_artifact(tmp_path, proxy_of):
    """Every NB201 architecture (15,625) with a synthetic score ``proxy_of(index)``, and a ground truth."""
    import itertools

    from intrain.core.artifacts import write_shard
    from intrain.spaces.nb201.encoding import OPS, Cell

    from .helpers import fake_record

    cells = [Cell(ops).to_str() for ops in itertools.product(OPS, repeat=6)]
    acc = np.random.default_rng(1).uniform(10, 94, len(cells)).round(2)
    records = []
    for i, arch in enumerate(cells):
        rec = fake_record(i, [(2.0, 1.0, 16.0)], [(0.1, 1.0)])
        rec.arch, rec.proxies = arch, {"intrain": {"score": float(proxy_of(i, acc[i]))}}
        records.append(rec)
    path = tmp_path / "scores.h5"
    write_shard(path, records, {"space": "nb201", "dataset": "cifar10", "shard": 0, "n_shards": 1, "settings": {}})
    gt = pd.DataFrame({"arch_index": range(len(cells)), "arch": cells, "canonical": cells, "acc_cifar10": acc})
    gt.to_csv(tmp_path / "gt.csv", index=False)
    return path, tmp_path / "gt.csv", dict(zip(cells, acc))


def test_regret_study_on_a_synthetic_full_space(tmp_path):
    """benchmarks/search_regret.py: its regrets equal a direct computation from the searches (a
    noisy proxy, looked up), the b = 1 differences are 0, the paired differences are per seed."""
    import importlib.util

    noise = np.random.default_rng(2).normal(0, 5, 15625)
    path, gt, accuracy = _full_space_artifact(tmp_path, lambda i, a: a + noise[i])
    spec = importlib.util.spec_from_file_location("search_regret", REPO_ROOT / "benchmarks" / "search_regret.py")
    sr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sr)
    out = tmp_path / "regret.csv"
    argv = ["--scores", str(path), "--groundtruth", str(gt), "--batches", "1", "4", "--seeds", "4"]
    assert sr.main([*argv, "--T", "5", "30", "80", "--out", str(out), "--markdown", str(tmp_path / "r.md")]) == 0
    table, runs = pd.read_csv(out), pd.read_csv(out.with_suffix(".runs.csv"))
    best = max(accuracy.values())
    lookup = {a: a_ + noise[i] for i, (a, a_) in enumerate(accuracy.items())}
    for b in (1, 4):
        for seed in range(4):
            h = evolve(NB201Edges(), lookup.__getitem__, iterations=80, k=10, seed=seed, batch=b).history
            for t in (5, 30, 80):
                first = h.iloc[:t]
                pick = first["arch"].iloc[top_k(list(first["score"]), 1)[0]]
                row = runs[(runs.b == b) & (runs.seed == seed) & (runs["T"] == t)].iloc[0]
                assert row["arch"] == pick and row["regret"] == pytest.approx(best - accuracy[pick])
    assert (table[table.b == 1]["diff_vs_b1"] == 0).all()
    r4 = runs[runs.b == 4].set_index(["seed", "T"])["regret"] - runs[runs.b == 1].set_index(["seed", "T"])["regret"]
    for t in (5, 30, 80):
        row = table[(table.b == 4) & (table["T"] == t)].iloc[0]
        assert row["diff_vs_b1"] == pytest.approx(r4.xs(t, level="T").mean())
        assert row["diff_lo"] <= row["diff_vs_b1"] <= row["diff_hi"]
    assert "| 4 | 80 | 4 |" in (tmp_path / "r.md").read_text()


# ----------------------------------------------------------------------------- attack findings (issue 30)


def threads_seen(arch: str) -> float:
    """The torch thread count a scorer runs with (picklable)."""
    import torch

    return float(torch.get_num_threads())


def tiny_net(arch: str) -> float:
    """A real (tiny) network scored in float32: its reductions depend on the thread count."""
    import torch

    seed = int(hashlib.sha256(arch.encode()).hexdigest()[:8], 16)
    gen = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 64))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
        out = net(torch.randn(2048, 64, generator=gen))
    return float(out.abs().sum())


def test_every_scorer_gets_the_same_threads_and_the_scores_do_not_depend_on_workers(monkeypatch):
    """In-process scoring used every thread, each of n workers total // n: float reductions then
    differed (1e-9 .. 5e-6). Every scorer now runs with ``threads``, wherever it runs."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the parent's budget the workers used to split
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        one = evolve(NB201Edges(), threads_seen, iterations=5, k=3, seed=2, batch=2, workers=1)
        two = evolve(NB201Edges(), threads_seen, iterations=5, k=3, seed=2, batch=2, workers=2)
        assert set(one.history["score"]) == set(two.history["score"]) == {1.0}
        assert torch.get_num_threads() == 3  # in-process scoring restores the caller's count
        one = evolve(NB201Edges(), tiny_net, iterations=7, k=3, seed=5, batch=3, workers=1, threads=2)
        two = evolve(NB201Edges(), tiny_net, iterations=7, k=3, seed=5, batch=3, workers=2, threads=2)
        assert same_history(one.history, two.history)  # bit for bit
    finally:
        torch.set_num_threads(before)


def test_workers_exit_when_their_parent_is_killed(tmp_path):
    """SIGKILL of the search (the OOM killer) left its worker processes orphaned forever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = (
        "import sys, time\n"
        "from intrain.search.workers import LocalProcesses\n"
        "pool = LocalProcesses(len, 2)\n"
        "pool.map(['a', 'bb', 'ccc', 'dddd'])\n"
        "print(' '.join(str(p) for p in pool.executor._processes), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
    finally:
        parent.kill()  # SIGKILL: no cleanup runs in the parent
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 120  # a bound on the wait for an event, not a timed race
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)  # started by this test
    assert not left, f"workers {left} outlived their killed parent"


@pytest.mark.parametrize(
    "spec", ["²", "slurm:²", "99999999999999999999", "1025", "slurm:0", "slurm:99999999999999999999"]
)
def test_odd_workers_specs_are_refused_in_words(spec):
    with pytest.raises(InputError, match=r"expected a number from 1 to 1024"):
        parse_workers(spec)


def test_an_unreachable_dask_scheduler_is_an_error_in_words(monkeypatch):
    from intrain.search import workers

    monkeypatch.setattr(workers, "DASK_CONNECT_TIMEOUT", "2s")
    with (
        pytest.raises(InputError, match=r"workers 'dask:nohost:1': cannot reach a Dask scheduler"),
        workers.open_pool("dask:nohost:1", len),
    ):
        pass


def _partial_artifact(path, n=40, offset=0.0):
    from intrain.core.artifacts import write_shard
    from intrain.spaces.nb201.encoding import EDGES, OPS, Cell

    from .helpers import fake_record

    rng = np.random.default_rng(0)
    cells = sorted(
        {Cell(tuple(OPS[int(i)] for i in rng.integers(len(OPS), size=len(EDGES)))).to_str() for _ in range(n)}
    )
    records = []
    for i, arch in enumerate(cells):
        d = 2.0 + i + offset
        rec = fake_record(i, [(d, d * d / (1.0 + i * 0.5), 16.0), (d, d, 16.0)], [(0.1, 1.0), (0.2, 1.0)])
        rec.arch = arch
        records.append(rec)
    write_shard(path, records, {"space": "nb201", "dataset": "cifar10", "shard": 0, "n_shards": 1, "settings": {}})
    return cells


def _evolve_cli(tmp_path, *extra):
    from intrain.cli import main

    argv = ["evolve", "--space", "nb201", "--dataset", "cifar10", "--iterations", "20", "--no-progress"]
    return main([*argv, "--out-dir", str(tmp_path / "out"), *extra])


def test_scores_from_that_is_no_regular_file_is_refused_in_words(tmp_path, caplog):
    """A FIFO blocked the reader forever; a directory, a device, /proc/self/mem gave raw errors or
    advice to delete a user's file."""
    import os

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (fifo, tmp_path, "/dev/zero"):
        caplog.clear()
        assert _evolve_cli(tmp_path, "--scores-from", str(target), "--log", str(tmp_path / "l.h5")) == 2
        assert "is not a regular file" in caplog.text and "delete" not in caplog.text
    caplog.clear()
    assert _evolve_cli(tmp_path, "--scores-from", "/proc/self/mem", "--log", str(tmp_path / "l.h5")) == 2
    assert "search.scores_from /proc/self/mem" in caplog.text and "Traceback" not in caplog.text
    assert not (tmp_path / "l.h5").exists()
    from intrain.core.artifacts import ArtifactError, read_attrs

    with pytest.raises(ArtifactError, match="not a regular file"):
        read_attrs(fifo)  # the artifact reader itself never opens a FIFO


def test_a_partial_scores_from_is_refused_up_front_counting_the_missing(tmp_path, caplog):
    path = tmp_path / "scores.h5"
    cells = _partial_artifact(path)
    assert _evolve_cli(tmp_path, "--scores-from", str(path), "--log", str(tmp_path / "l.h5")) == 2
    assert f"lacks {15625 - len(cells):,} architectures of the space" in caplog.text
    assert not (tmp_path / "l.h5").exists()


def test_a_negative_seed_is_refused_in_words(tmp_path, caplog):
    assert _evolve_cli(tmp_path, "--seed", "-1", "--log", str(tmp_path / "l.h5")) == 2
    assert "--seed -1: a search seed is a non-negative integer" in caplog.text
    with pytest.raises(InputError, match="non-negative"):
        evolve(NB201Edges(), synthetic, iterations=3, seed=-1)


def test_scores_from_is_recorded_by_content_not_by_path(tmp_path, caplog):
    """Replacing the artifact under the same path mixed two artifacts' scores on resume; the same
    file spelled differently was refused. The log records the artifact's sha256."""
    import os

    from intrain.core.search_log import read_log

    path, _, _ = _full_space_artifact(tmp_path, lambda i, a: a)
    log = tmp_path / "log.h5"
    assert _evolve_cli(tmp_path, "--scores-from", str(path), "--log", str(log)) == 0
    assert "scores_from" not in read_log(log)[0] and len(read_log(log)[0]["scores_from_sha256"]) == 64
    spelled = tmp_path / "sub" / ".." / "scores.h5"
    (tmp_path / "sub").mkdir()
    more = ["--iterations", "30", "--scores-from", str(spelled), "--log", str(log)]
    assert _evolve_cli(tmp_path, *more) == 0  # the same file, spelled differently: resumed
    assert len(read_log(log)[1]) == 30
    other = tmp_path / "other"
    other.mkdir()
    replaced, _, _ = _full_space_artifact(other, lambda i, a: -a)
    os.replace(replaced, path)
    caplog.clear()
    assert _evolve_cli(tmp_path, "--iterations", "40", "--scores-from", str(path), "--log", str(log)) == 2
    assert "differs in ['scores_from_sha256']" in caplog.text
    assert len(read_log(log)[1]) == 30


class _Dies:
    """``synthetic`` that fails (as a killed run would stop) at its ``at``-th call; counts calls."""

    def __init__(self, at: int | None = None) -> None:
        self.at, self.calls = at, 0

    def __call__(self, arch: str) -> float:
        self.calls += 1
        if self.at is not None and self.calls >= self.at:
            raise RuntimeError("killed")
        return synthetic(arch)


def test_a_search_stopped_mid_round_keeps_the_rounds_finished_scores(tmp_path):
    """Checkpoints only at round ends lost up to b - 1 finished scores: rows are now logged as soon
    as they and the rows before them are scored, and the resumed history is unchanged."""
    from intrain.core.search_log import read_log

    log = tmp_path / "log.h5"
    straight = evolve(NB201Edges(), synthetic, iterations=17, k=3, seed=6, batch=8)
    dies = _Dies(at=7)  # iteration 0, then 5 scores of the first 8-child round, then the stop
    with pytest.raises(RuntimeError, match="killed"):
        evolve(NB201Edges(), dies, iterations=17, k=3, seed=6, batch=8, log_path=log, checkpoint_every=2)
    kept = read_log(log)[1]
    assert len(kept) >= 4 and int(kept["iteration"].max()) < 9  # mid-round rows were checkpointed
    again = _Dies()
    resumed = evolve(NB201Edges(), again, iterations=17, k=3, seed=6, batch=8, log_path=log, checkpoint_every=2)
    assert same_history(straight.history, resumed.history)
    assert again.calls <= int(straight.history["new"].sum()) - int(kept["new"].sum())  # nothing scored twice
