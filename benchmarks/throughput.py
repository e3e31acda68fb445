"""Throughput of InTrain scoring on NB201: the plain path against the optimised one.

Both paths compute the same score with the default settings (pruned cells, fixed-filter avg
pool, NCHW, float32):

- plain: every architecture scored (no isomorphism dedup), one dataset and one network at a
  time, one process using all threads;
- optimised: one scoring per isomorphism class (4,930 of 15,625), CIFAR-10 and CIFAR-100 from
  one shared body forward (:class:`intrain.scoring.SharedForwardScorer`), and ``--workers``
  processes with one thread each -- what ``snakemake --configfile config/full.yaml`` runs.

In one run on one machine it measures per dataset the seconds per architecture of each path on
the same seeded sample, the achieved GFLOP/s (plain-equivalent conv + linear FLOPs of forward
and backward, so the shared forward shows as a gain) against a measured conv and GEMM peak,
and projects the time for the full space. Correctness: on the sampled class representatives
both paths' scores agree within ``TOLERANCE`` (only the thread count differs) and rank
identically (Kendall tau = 1).

It also times two levers it does not use, channels-last memory format and the reference
``nn.AvgPool2d``, and reports how far their scores move from the plain path's: they change the
float32 rounding, and the optimisation-resilience term turns rounding into score changes of up
to ~1 % (README, "Throughput"), so they are not the same score.

With ``--full-run DIR`` (the results folder of ``snakemake --configfile config/full.yaml``) it
also checks what dedup changes: the plain path scores a uniform sample of the space one network
per architecture (each isomorphic copy with its own initialisation), and the sample's Kendall
tau with test accuracy is compared with that of the full run's merged scores for the same
architectures (members carry their representative's score).

    python benchmarks/throughput.py --n 60 --out results/benchmarks/throughput
    python benchmarks/throughput.py --no-paths --no-levers --full-run results/full --n-corr 300

write ``throughput.csv``, ``levers.csv``, ``throughput.png`` and ``correlation_check.csv`` there
and print the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau

from intrain.groundtruth import accuracy_column, normalize_nb201
from intrain.io import read_scores
from intrain.stats import correlate
from intrain.scoring import Scorer, ScoreSettings, SharedForwardScorer
from intrain.spaces.nb201 import NUM_ARCHS, build_network, canonical_classes

DEFAULT = ScoreSettings()
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
GROUPS = (("cifar10", "cifar100"), ("ImageNet16-120",))  # the optimised path's jobs
TOLERANCE = 1e-6  # relative score difference allowed between the paths (1 vs 2 threads: ~5e-8)
LEVERS = {"channels_last": ScoreSettings(channels_last=True), "reference_avgpool": ScoreSettings(fast_pool=False)}


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
    gemm = 2 * 1024 ** 3 * reps / (time.perf_counter() - t) / 1e9
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


def _score_list(args: tuple[tuple[str, ...], ScoreSettings, list[tuple[int, str]], int]
                ) -> list[tuple[int, tuple[float, ...]]]:
    """Scores of ``items`` on each dataset of the group (shared forward when there are several)."""
    datasets, settings, items, threads = args
    torch.set_num_threads(threads)
    if len(datasets) > 1:
        scorer = SharedForwardScorer("nb201", list(datasets), settings, "cpu")
        score = scorer.score
    else:
        single = Scorer("nb201", datasets[0], settings, "cpu")
        score = lambda index, arch: [single.score(index, arch)]  # noqa: E731
    score(*items[0])  # warm-up (allocator, kernels)
    return [(index, tuple(r.proxies["intrain"]["score"] for r in score(index, arch))) for index, arch in items]


def run_path(datasets: tuple[str, ...], settings: ScoreSettings, items: list[tuple[int, str]], workers: int,
             threads: int) -> tuple[dict[str, dict[int, float]], float]:
    """Scores per dataset and wall seconds of scoring ``items`` with ``workers`` processes."""
    chunks = [c for c in (items[i::workers] for i in range(workers)) if c]
    start = time.perf_counter()
    if len(chunks) == 1:
        results = [_score_list((datasets, settings, chunks[0], threads))]
    else:
        with ProcessPoolExecutor(len(chunks)) as pool:
            results = list(pool.map(_score_list, [(datasets, settings, c, threads) for c in chunks]))
    wall = time.perf_counter() - start
    return {d: {i: s[k] for res in results for i, s in res} for k, d in enumerate(datasets)}, wall


def _agreement(ref: dict[int, float], other: dict[int, float]) -> tuple[float, float]:
    """(max relative difference, Kendall tau) of two score maps over their common finite keys."""
    keys = sorted(ref)
    a, b = np.array([ref[i] for i in keys]), np.array([other[i] for i in keys])
    finite = np.isfinite(a) & np.isfinite(b)
    rel = np.abs(a - b)[finite] / np.maximum(np.abs(a[finite]), 1e-12)
    return (float(rel.max()) if len(rel) else float("nan"),
            float(kendalltau(a[finite], b[finite]).statistic))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="architectures sampled per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of the plain path")
    ap.add_argument("--benchmark-csv", default=None, help="NB201 benchmark table (default: mirror)")
    ap.add_argument("--no-levers", action="store_true", help="skip timing the unused levers")
    ap.add_argument("--no-paths", action="store_true", help="skip the plain-vs-optimised timing")
    ap.add_argument("--full-run", default=None, help="results folder of a config/full.yaml run to check")
    ap.add_argument("--n-corr", type=int, default=300, help="uniform sample for the --full-run check")
    ap.add_argument("--out", default="results/benchmarks/throughput")
    args = ap.parse_args()
    mirror = os.environ.get("INTRAIN_MIRROR", "../shared/benchmarks")
    gt = normalize_nb201(args.benchmark_csv or Path(mirror) / "nb201" / "nats_tss_200ep_test_acc.csv")
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
    if args.no_paths:
        return
    peak = machine_peak(args.workers)
    plain_rep: dict[str, dict[int, float]] = {}
    rows = []
    for group in GROUPS:
        opt, wall_opt = run_path(group, DEFAULT, rep_items, args.workers, 1)
        for ds in group:
            _, wall_plain = run_path((ds,), DEFAULT, uni_items, 1, args.threads)
            plain_rep[ds] = run_path((ds,), DEFAULT, rep_items, 1, args.threads)[0][ds]
            max_rel, tau = _agreement(plain_rep[ds], opt[ds])
            flops_uni = np.mean([forward_flops(arch, ds, 64) for _, arch in uni_items]) * 3
            flops_rep = np.mean([forward_flops(arch, ds, 64) for _, arch in rep_items]) * 3
            s_plain = wall_plain / len(uni_items)
            s_opt = wall_opt / len(rep_items) / len(group)  # the shared job's time split evenly
            rows.append({
                "dataset": ds, "n": args.n, "job": "+".join(group),
                "plain_s_per_arch": s_plain, "optimised_s_per_arch": s_opt,
                "plain_archs_per_s": 1 / s_plain, "optimised_archs_per_s": 1 / s_opt,
                "plain_gflops": flops_uni / s_plain / 1e9, "optimised_gflops": flops_rep / s_opt / 1e9,
                "plain_full_projected_s": s_plain * NUM_ARCHS,
                "optimised_full_projected_s": s_opt * len(classes),
                "max_rel_diff": max_rel, "kendall_paths": tau,
            })
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
    ok = bool((df["max_rel_diff"].dropna() <= TOLERANCE).all() and (df["kendall_paths"].dropna() == 1.0).all())
    _plot(df, out / "throughput.png")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(df.drop(columns=["machine"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if not args.no_levers:
        levers = []
        ds = "cifar10"
        base, wall_base = run_path((ds,), DEFAULT, rep_items, 1, 1)
        for name, settings in LEVERS.items():
            scores, wall = run_path((ds,), settings, rep_items, 1, 1)
            max_rel, tau = _agreement(base[ds], scores[ds])
            levers.append({"lever": name, "dataset": ds, "n": args.n, "s_per_arch_1_thread": wall / args.n,
                           "default_s_per_arch_1_thread": wall_base / args.n, "speedup": wall_base / wall,
                           "max_rel_diff_vs_default": max_rel, "kendall_vs_default": tau})
        lv = pd.DataFrame(levers)
        lv.to_csv(out / "levers.csv", index=False)
        print(lv.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"projected full NB201 (3 datasets): plain {total['plain_full_projected_s'] / 60:.1f} min, "
          f"optimised {total['optimised_full_projected_s'] / 60:.1f} min; paths agree within "
          f"{TOLERANCE:g} relative and rank identically: {ok}")
    if not ok:
        raise SystemExit("the optimised path disagrees with the plain path")


def check_full_run(full: Path, gt: pd.DataFrame, args: argparse.Namespace, out: Path) -> None:
    """Tau with accuracy on a uniform sample: plain per-architecture scores vs the full run's."""
    rng = np.random.default_rng(args.seed + 1)
    sample = gt.iloc[np.sort(rng.choice(NUM_ARCHS, args.n_corr, replace=False))]
    items = list(zip(sample.arch_index.astype(int), sample.arch))
    rows = []
    for ds in DATASETS:
        merged = read_scores(full / "nb201" / ds / "scores.h5").set_index("arch_index")
        plain, wall = run_path((ds,), DEFAULT, items, args.workers, 1)  # 1 thread each, as the run
        idx = [i for i, _ in items]
        acc = sample.set_index("arch_index").loc[idx, accuracy_column(ds)].to_numpy()
        a = np.array([plain[ds][i] for i in idx])
        b = merged.loc[idx, "intrain"].to_numpy()
        rep = (merged.loc[idx, "representative"].to_numpy() == np.array(idx))
        ca, cb = correlate(a, acc, n_boot=1000), correlate(b, acc, n_boot=1000)
        rows.append({"dataset": ds, "n": len(idx), "n_representatives": int(rep.sum()),
                     "representatives_bitwise_equal": bool(np.array_equal(a[rep], b[rep])),
                     "kendall_plain": ca.kendall, "kendall_plain_ci": f"[{ca.kendall_lo:.3f}, {ca.kendall_hi:.3f}]",
                     "kendall_full_run": cb.kendall, "kendall_full_run_ci": f"[{cb.kendall_lo:.3f}, {cb.kendall_hi:.3f}]",
                     "spearman_plain": ca.spearman, "spearman_full_run": cb.spearman,
                     "kendall_between": float(kendalltau(a, b).statistic), "plain_seconds": wall})
        print(json.dumps(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "correlation_check.csv", index=False)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


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
    axes[0].set_ylabel("ms per scored architecture (wall)")
    axes[0].legend()
    tot = df[df.dataset == "all"].iloc[0]
    axes[1].bar(["plain", "optimised"], [tot.plain_full_projected_s / 60, tot.optimised_full_projected_s / 60],
                color=["C0", "C1"])
    axes[1].axhline(45, color="k", ls="--", lw=1, label="45 min goal")
    axes[1].set_ylabel("projected full NB201, 3 datasets (min)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
