"""Throughput of InTrain scoring on NB201: the plain path against the optimised one.

- plain: every architecture scored (no isomorphism dedup), one dataset and one network at a
  time, one process using all threads, the default settings (NCHW) and glibc's default
  allocator;
- optimised: what ``snakemake --configfile config/full.yaml`` runs -- one scoring per
  isomorphism class (4,930 of 15,625), CIFAR-10 and CIFAR-100 from one shared body forward
  (:class:`intrain.scoring.scorer.SharedForwardScorer`), the settings of config/full.yaml (channels-
  last), freed memory kept for reuse (:mod:`intrain.engine.allocator`), and ``--workers`` processes
  with one thread each.

In one run on one machine it measures per dataset the seconds per architecture of each path on
the same seeded sample, the achieved GFLOP/s (plain-equivalent conv + linear FLOPs of forward
and backward, so the shared forward shows as a gain) against a measured conv and GEMM peak,
and projects the time for the full space.

Correctness. Channels-last changes the float32 rounding, not the computed quantity, and the
score is sensitive to rounding: 1-3 parameters per NB201 network have a gradient that is zero in
exact arithmetic, and the std/max of their float32 rounding noise enters the optimisation
resilience (``benchmarks/score_precision.py``; README, "Throughput"). So the check is a stated
tolerance, anchored on float64: on the sampled class representatives the probe also runs in
float64 (the reference), and the run passes when the two float32 paths differ by at most
``TOLERANCE`` relative and the optimised path is no further from float64 than the plain path's
own float32 error allows (its max relative error at most ``FLOAT64_MARGIN`` times the plain
path's). Kendall tau between the paths and of each path with float64 is reported.

A lever table times each optimisation's contribution alone (CIFAR-10 representatives, one
thread): channels-last, the retained allocator, and the unused reference ``nn.AvgPool2d``.

With ``--full-run DIR`` (the results folder of ``snakemake --configfile config/full.yaml``) it
also checks what dedup changes: the plain path scores a uniform sample of the space one network
per architecture (each isomorphic copy with its own initialisation), and the sample's Kendall
tau with test accuracy is compared with that of the full run's merged scores for the same
architectures (members carry their representative's score). With ``--compare-run DIR`` (a
full run with the plain settings) it compares the two runs' scores and correlations over all
15,625 architectures.

    python benchmarks/throughput.py --n 60 --out results/benchmarks/throughput
    python benchmarks/throughput.py --no-paths --no-levers --full-run results/full --n-corr 1000 \
        --compare-run results/full-nchw

write ``throughput.csv``, ``levers.csv``, ``throughput.png``, ``correlation_check.csv`` and
``run_comparison.csv`` there and print the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

from intrain.analysis.groundtruth import accuracy_column, normalize
from intrain.analysis.stats import correlate
from intrain.core.artifacts import read_scores
from intrain.core.records import ScoreSettings
from intrain.engine.allocator import retain_freed_memory
from intrain.engine.probe import run_probe
from intrain.proxies import get_proxy
from intrain.scoring.scorer import Scorer, SharedForwardScorer
from intrain.spaces.nb201.encoding import NUM_ARCHS, canonical_classes
from intrain.spaces.nb201.network import build_network

CONFIG = Path(__file__).resolve().parents[1] / "config"
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
GROUPS = (("cifar10", "cifar100"), ("ImageNet16-120",))  # the optimised path's jobs
#: Relative score difference allowed between the float32 paths. Each path's own float32 error
#: (vs float64) reaches 0.7-2.7 % on 24-60 networks (benchmarks/score_precision.py, this
#: script's float64 columns) and the two errors are independent; over all 15,625 networks the
#: two full runs (channels-last vs NCHW) differ by at most 3.6 % (README, "Throughput").
TOLERANCE = 0.05
#: The optimised path's max error vs float64 may be at most this multiple of the plain path's.
FLOAT64_MARGIN = 2.0


def full_run_settings() -> ScoreSettings:
    """The scoring settings of config/full.yaml (over config/config.yaml's), as the run uses them."""
    import yaml

    scoring = dict(yaml.safe_load((CONFIG / "config.yaml").read_text())["scoring"])
    scoring.update((yaml.safe_load((CONFIG / "full.yaml").read_text()) or {}).get("scoring", {}))
    return ScoreSettings.from_dict(scoring)


DEFAULT = ScoreSettings()
OPTIMISED = full_run_settings()
LEVERS = {  # name -> (settings, retain freed memory)
    "channels_last": (ScoreSettings(channels_last=True), False),
    "retain_freed_memory": (DEFAULT, True),
    "reference_avgpool (unused)": (ScoreSettings(fast_pool=False), False),
}


def forward_flops(arch: str, dataset: str, batch: int) -> float:
    """Multiply-adds x 2 of every conv and linear layer in one forward pass of the batch."""
    from torch import nn

    net = build_network(arch, dataset)
    res = 16 if dataset == "ImageNet16-120" else 32
    total = 0.0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total += 2.0 * out.numel() * k
        elif isinstance(m, nn.Linear):
            total += 2.0 * out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        net(torch.zeros(batch, 3, res, res))
    for h in handles:
        h.remove()
    return total


def machine_peak(threads: int) -> dict[str, float]:
    """Measured float32 GFLOP/s of a large GEMM and of a NB201-shaped 3x3 conv (fwd + bwd)."""
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    reps = 20
    for _ in range(reps):
        a @ b
    gemm = 2 * 1024**3 * reps / (time.perf_counter() - t) / 1e9
    conv = torch.nn.Conv2d(16, 16, 3, padding=1, bias=False)
    x = torch.randn(64, 16, 32, 32, requires_grad=True)
    for _ in range(3):
        conv(x).sum().backward()
    t = time.perf_counter()
    for _ in range(reps):
        conv(x).sum().backward()
    flops = 3 * 2 * 64 * 16 * 32 * 32 * 16 * 9  # forward + input grad + weight grad
    conv_peak = flops * reps / (time.perf_counter() - t) / 1e9
    return {"gemm_gflops": gemm, "conv_gflops": conv_peak}


def _chunks(items: list, workers: int) -> list[list]:
    """``items`` dealt round-robin to at most ``workers`` non-empty chunks."""
    return [c for c in (items[i::workers] for i in range(workers)) if c]


def _in_spawned_workers(fn, per_worker_args: list) -> list:
    """``fn`` on each argument tuple in its own fresh (spawned) process, results in order."""
    with ProcessPoolExecutor(len(per_worker_args), mp_context=get_context("spawn")) as pool:
        return list(pool.map(fn, per_worker_args))


def _score_list(
    args: tuple[tuple[str, ...], ScoreSettings, list[tuple[int, str]], int, bool],
) -> tuple[list[tuple[int, tuple[float, ...]]], float]:
    """Scores of ``items`` on each dataset of the group (shared forward when there are several),
    and the seconds they took after one warm-up scoring (allocator, kernels)."""
    datasets, settings, items, threads, retain = args
    torch.set_num_threads(threads)
    if retain:
        retain_freed_memory()
    if len(datasets) > 1:
        scorer = SharedForwardScorer("nb201", list(datasets), settings, "cpu")
        score = scorer.score
    else:
        single = Scorer("nb201", datasets[0], settings, "cpu")
        score = lambda index, arch: [single.score(index, arch)]  # noqa: E731
    score(*items[0])
    start = time.perf_counter()
    scores = [(index, tuple(r.proxies["intrain"]["score"] for r in score(index, arch))) for index, arch in items]
    return scores, time.perf_counter() - start


def run_path(
    datasets: tuple[str, ...],
    settings: ScoreSettings,
    items: list[tuple[int, str]],
    workers: int,
    threads: int,
    retain: bool = False,
) -> tuple[dict[str, dict[int, float]], float]:
    """Scores per dataset and wall seconds of scoring ``items`` with ``workers`` fresh processes.

    Fresh (spawned) processes, so each path starts from the same allocator and thread state;
    the wall time is the slowest worker's, warm-up and imports excluded.
    """
    results = _in_spawned_workers(
        _score_list, [(datasets, settings, c, threads, retain) for c in _chunks(items, workers)]
    )
    wall = max(seconds for _, seconds in results)
    return {d: {i: s[k] for res, _ in results for i, s in res} for k, d in enumerate(datasets)}, wall


def _float64_list(args: tuple[str, list[tuple[int, str]]]) -> list[tuple[int, float]]:
    """The same networks and batch as the plain path, probed in float64: the rounding-free reference."""
    dataset, items = args
    torch.set_num_threads(1)
    scorer = Scorer("nb201", dataset, DEFAULT, "cpu")
    x = scorer.x.double()
    out = []
    intrain = get_proxy("intrain")
    for index, arch in items:
        probe = run_probe(scorer.build(arch).double(), x, scorer.y, layers=DEFAULT.layers, params=DEFAULT.params)
        out.append((index, intrain.compute(probe)["score"]))
    return out


def float64_scores(dataset: str, items: list[tuple[int, str]], workers: int) -> dict[int, float]:
    results = _in_spawned_workers(_float64_list, [(dataset, c) for c in _chunks(items, workers)])
    return {i: s for res in results for i, s in res}


def _agreement(ref: dict[int, float], other: dict[int, float]) -> tuple[float, float, float]:
    """(max and median relative difference, Kendall tau) of two score maps over their common finite keys."""
    keys = sorted(ref)
    a, b = np.array([ref[i] for i in keys]), np.array([other[i] for i in keys])
    finite = np.isfinite(a) & np.isfinite(b)
    rel = np.abs(a - b)[finite] / np.maximum(np.abs(a[finite]), 1e-12)
    if not len(rel):
        return float("nan"), float("nan"), float("nan")
    return float(rel.max()), float(np.median(rel)), float(kendalltau(a[finite], b[finite]).statistic)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="architectures sampled per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of the plain path")
    ap.add_argument("--benchmark-csv", default=None, help="NB201 benchmark table (default: mirror)")
    ap.add_argument("--no-levers", action="store_true", help="skip timing the levers one by one")
    ap.add_argument("--no-paths", action="store_true", help="skip the plain-vs-optimised timing")
    ap.add_argument("--full-run", default=None, help="results folder of a config/full.yaml run to check")
    ap.add_argument("--n-corr", type=int, default=1000, help="uniform sample for the --full-run check")
    ap.add_argument(
        "--compare-run",
        default=None,
        help="results folder of another full run (e.g. plain settings) to compare --full-run with",
    )
    ap.add_argument("--out", default="results/benchmarks/throughput")
    args = ap.parse_args()
    mirror = os.environ.get("INTRAIN_MIRROR", "../shared/benchmarks")
    gt = normalize("nb201", args.benchmark_csv or Path(mirror) / "nb201" / "nats_tss_200ep_test_acc.csv")
    classes = canonical_classes()
    index_of = dict(zip(gt["arch"], gt["arch_index"]))
    reps = sorted(index_of[min(m, key=lambda a: index_of[a])] for m in classes.values())
    rng = np.random.default_rng(args.seed)
    # plain path: a uniform sample of the space; optimised path: a uniform sample of the class
    # representatives (what the full optimised run scores), scored by both for correctness.
    uniform = gt.iloc[np.sort(rng.choice(NUM_ARCHS, args.n, replace=False))]
    rep_sample = gt.set_index("arch_index").loc[np.sort(rng.choice(reps, args.n, replace=False))].reset_index()
    uni_items = list(zip(uniform.arch_index.astype(int), uniform.arch))
    rep_items = list(zip(rep_sample.arch_index.astype(int), rep_sample.arch))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.full_run:
        check_full_run(Path(args.full_run), gt, args, out)
        if args.compare_run:
            compare_runs(Path(args.full_run), Path(args.compare_run), gt, out)
    if not args.no_paths:
        compare_paths(args, classes, uni_items, rep_items, out)
    if not args.no_levers:
        time_levers(args, rep_items, out)


def compare_paths(args: argparse.Namespace, classes: dict, uni_items: list, rep_items: list, out: Path) -> None:
    """Time both paths per dataset, project the full space, check them against each other and float64."""
    print(f"optimised settings (config/full.yaml): {OPTIMISED.as_dict()}", flush=True)
    peak = machine_peak(args.workers)
    rows = []
    for group in GROUPS:
        opt, wall_opt = run_path(group, OPTIMISED, rep_items, args.workers, 1, retain=True)
        for ds in group:
            _, wall_plain = run_path((ds,), DEFAULT, uni_items, 1, args.threads)
            plain_rep = run_path((ds,), DEFAULT, rep_items, 1, args.threads)[0][ds]
            ref = float64_scores(ds, rep_items, args.workers)
            max_rel, med_rel, tau = _agreement(plain_rep, opt[ds])
            plain64, _, plain64_tau = _agreement(ref, plain_rep)
            opt64, _, opt64_tau = _agreement(ref, opt[ds])
            flops_uni = np.mean([forward_flops(arch, ds, 64) for _, arch in uni_items]) * 3
            flops_rep = np.mean([forward_flops(arch, ds, 64) for _, arch in rep_items]) * 3
            s_plain = wall_plain / len(uni_items)
            s_opt = wall_opt / len(rep_items) / len(group)  # the shared job's time split evenly
            rows.append(
                {
                    "dataset": ds,
                    "n": args.n,
                    "job": "+".join(group),
                    "plain_s_per_arch": s_plain,
                    "optimised_s_per_arch": s_opt,
                    "plain_archs_per_s": 1 / s_plain,
                    "optimised_archs_per_s": 1 / s_opt,
                    "plain_gflops": flops_uni / s_plain / 1e9,
                    "optimised_gflops": flops_rep / s_opt / 1e9,
                    "plain_full_projected_s": s_plain * NUM_ARCHS,
                    "optimised_full_projected_s": s_opt * len(classes),
                    "max_rel_diff": max_rel,
                    "median_rel_diff": med_rel,
                    "kendall_paths": tau,
                    "plain_max_rel_err_float64": plain64,
                    "optimised_max_rel_err_float64": opt64,
                    "plain_kendall_float64": plain64_tau,
                    "optimised_kendall_float64": opt64_tau,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    df = pd.DataFrame(rows)
    total = {"dataset": "all", "n": args.n}
    for col in ("plain_full_projected_s", "optimised_full_projected_s"):
        total[col] = df[col].sum()
    df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    df["speedup_full"] = df["plain_full_projected_s"] / df["optimised_full_projected_s"]
    df["gemm_peak_gflops"] = peak["gemm_gflops"]
    df["conv_peak_gflops"] = peak["conv_gflops"]
    df["machine"] = f"{platform.processor() or platform.machine()} x{os.cpu_count()} torch {torch.__version__}"
    df.to_csv(out / "throughput.csv", index=False)
    per = df[df.dataset != "all"]
    ok = bool(
        (per["max_rel_diff"] <= TOLERANCE).all()
        and (per["optimised_max_rel_err_float64"] <= FLOAT64_MARGIN * per["plain_max_rel_err_float64"]).all()
    )
    _plot(df, out / "throughput.png")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(df.drop(columns=["machine"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(
        f"projected full NB201 (3 datasets): plain {total['plain_full_projected_s'] / 60:.1f} min, "
        f"optimised {total['optimised_full_projected_s'] / 60:.1f} min; paths within {TOLERANCE:g} relative "
        f"and the optimised path within {FLOAT64_MARGIN:g}x the plain path's float64 error: {ok}"
    )
    if not ok:
        raise SystemExit("the optimised path disagrees with the plain path beyond the stated tolerance")


def time_levers(args: argparse.Namespace, rep_items: list, out: Path) -> None:
    """Each lever alone against the default (CIFAR-10 representatives, one process, one thread)."""
    ds = "cifar10"
    base, wall_base = run_path((ds,), DEFAULT, rep_items, 1, 1)
    levers = []
    for name, (settings, retain) in LEVERS.items():
        scores, wall = run_path((ds,), settings, rep_items, 1, 1, retain=retain)
        max_rel, med_rel, tau = _agreement(base[ds], scores[ds])
        levers.append(
            {
                "lever": name,
                "dataset": ds,
                "n": args.n,
                "s_per_arch_1_thread": wall / args.n,
                "default_s_per_arch_1_thread": wall_base / args.n,
                "speedup": wall_base / wall,
                "max_rel_diff_vs_default": max_rel,
                "median_rel_diff_vs_default": med_rel,
                "kendall_vs_default": tau,
            }
        )
        print(json.dumps(levers[-1]), flush=True)
    lv = pd.DataFrame(levers)
    lv.to_csv(out / "levers.csv", index=False)
    print(lv.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


def compare_runs(run: Path, other: Path, gt: pd.DataFrame, out: Path) -> None:
    """Two full runs' merged scores over the whole space: agreement and Kendall tau with test accuracy."""
    rows = []
    for ds in DATASETS:
        a = read_scores(run / "nb201" / ds / "scores.h5").set_index("arch_index")["intrain"]
        b = read_scores(other / "nb201" / ds / "scores.h5").set_index("arch_index")["intrain"]
        idx = a.index.intersection(b.index)
        acc = gt.set_index("arch_index").loc[idx, accuracy_column(ds)].to_numpy()
        x, y = a.loc[idx].to_numpy(), b.loc[idx].to_numpy()
        max_rel, med_rel, tau = _agreement(dict(zip(idx, y)), dict(zip(idx, x)))  # relative to `other`
        ca, cb = correlate(x, acc, n_boot=200), correlate(y, acc, n_boot=200)
        rows.append(
            {
                "dataset": ds,
                "n": len(idx),
                "run": str(run),
                "other": str(other),
                "kendall_between": tau,
                "max_rel_diff": max_rel,
                "median_rel_diff": med_rel,
                "kendall_run": ca.kendall,
                "kendall_other": cb.kendall,
                "spearman_run": ca.spearman,
                "spearman_other": cb.spearman,
                "kendall_run_ci": f"[{ca.kendall_lo:.3f}, {ca.kendall_hi:.3f}]",
                "kendall_other_ci": f"[{cb.kendall_lo:.3f}, {cb.kendall_hi:.3f}]",
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "run_comparison.csv", index=False)
    print(table.drop(columns=["run", "other"]).to_string(index=False, float_format=lambda x: f"{x:.4f}"))


def check_full_run(full: Path, gt: pd.DataFrame, args: argparse.Namespace, out: Path) -> None:
    """Tau with accuracy on a uniform sample: plain per-architecture scores vs the full run's."""
    rng = np.random.default_rng(args.seed + 1)
    sample = gt.iloc[np.sort(rng.choice(NUM_ARCHS, args.n_corr, replace=False))]
    items = list(zip(sample.arch_index.astype(int), sample.arch))
    rows = []
    for ds in DATASETS:
        merged = read_scores(full / "nb201" / ds / "scores.h5").set_index("arch_index")
        plain, wall = run_path((ds,), DEFAULT, items, args.workers, 1)  # plain settings, 1 thread each
        idx = [i for i, _ in items]
        acc = sample.set_index("arch_index").loc[idx, accuracy_column(ds)].to_numpy()
        a = np.array([plain[ds][i] for i in idx])
        b = merged.loc[idx, "intrain"].to_numpy()
        rep = merged.loc[idx, "representative"].to_numpy() == np.array(idx)
        ca, cb = correlate(a, acc, n_boot=1000), correlate(b, acc, n_boot=1000)
        rows.append(
            {
                "dataset": ds,
                "n": len(idx),
                "n_representatives": int(rep.sum()),
                "representatives_max_rel_diff": float(np.max(np.abs(a[rep] - b[rep]) / np.abs(b[rep])))
                if rep.any()
                else float("nan"),
                "kendall_plain": ca.kendall,
                "kendall_plain_ci": f"[{ca.kendall_lo:.3f}, {ca.kendall_hi:.3f}]",
                "kendall_full_run": cb.kendall,
                "kendall_full_run_ci": f"[{cb.kendall_lo:.3f}, {cb.kendall_hi:.3f}]",
                "spearman_plain": ca.spearman,
                "spearman_full_run": cb.spearman,
                "kendall_diff_ci": _paired_kendall_diff_ci(a, b, acc, args.seed),
                "kendall_between": float(kendalltau(a, b).statistic),
                "plain_seconds": wall,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "correlation_check.csv", index=False)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


def _paired_kendall_diff_ci(a: np.ndarray, b: np.ndarray, acc: np.ndarray, seed: int, n_boot: int = 1000) -> str:
    """95 % bootstrap interval of tau(a, acc) - tau(b, acc) on shared resamples.

    The two scorings share their architectures, so their taus' errors are correlated; the paired
    interval says whether they differ, where two overlapping marginal intervals cannot.
    """
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        i = rng.integers(0, len(a), len(a))
        diffs.append(kendalltau(a[i], acc[i]).statistic - kendalltau(b[i], acc[i]).statistic)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return f"[{lo:+.3f}, {hi:+.3f}]"


def _plot(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = df[df.dataset != "all"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(per))
    axes[0].bar(x - 0.2, per.plain_s_per_arch * 1000, 0.4, label="plain")
    axes[0].bar(x + 0.2, per.optimised_s_per_arch * 1000, 0.4, label="optimised")
    axes[0].set_xticks(x, per.dataset)
    axes[0].set_ylabel("wall ms per network scored")
    axes[0].set_title("plain: every architecture; optimised: representatives", fontsize=9)
    axes[0].legend()
    tot = df[df.dataset == "all"].iloc[0]
    axes[1].bar(
        ["plain", "optimised"],
        [tot.plain_full_projected_s / 60, tot.optimised_full_projected_s / 60],
        color=["C0", "C1"],
    )
    for i, minutes in enumerate([tot.plain_full_projected_s / 60, tot.optimised_full_projected_s / 60]):
        axes[1].annotate(f"{minutes:.1f} min", (i, minutes), ha="center", va="bottom")
    axes[1].axhline(45, color="k", ls="--", lw=1, label="45 min goal")
    axes[1].set_ylabel("projected full NB201, 3 datasets (min)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
