"""Throughput of InTrain scoring on NB201: the plain path against the optimised one.

Both paths compute the same score definition (pruned cells, conv + linear layers, all params):

- plain: one network at a time, reference ``nn.AvgPool2d``, NCHW, every architecture scored
  (no isomorphism dedup), one process using all threads;
- optimised: fixed-filter avg pool, one scoring per isomorphism class, and ``--workers``
  processes with one thread each. ``--channels-last`` adds the NHWC memory format, which is
  faster but whose float32 backward drifts from float64 by up to ~2% in max|g| on this CPU
  (so the correctness check fails with it; that is why it is off by default).

In one run on one machine it measures per dataset the seconds per architecture of each path on
the same seeded sample, the achieved GFLOP/s against a measured conv and GEMM peak of the
machine, and projects the time for the full space (15,625 architectures; 4,930 classes).
Correctness: on the sampled class representatives both paths' scores agree within a stated
relative tolerance and rank identically (Kendall tau = 1).

    python benchmarks/throughput.py --n 60 --out results/benchmarks/throughput

writes ``throughput.csv`` and ``throughput.png`` there and prints the table.
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

from intrain.groundtruth import normalize_nb201
from intrain.scoring import Scorer, ScoreSettings
from intrain.spaces.nb201 import NUM_ARCHS, build_network, canonical_classes

PLAIN = ScoreSettings(fast_pool=False, channels_last=False)
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
TOLERANCE = 1e-4  # relative score difference allowed between the paths (float32 rounding)


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


def _score_list(args: tuple[str, ScoreSettings, list[tuple[int, str]], int]) -> list[tuple[int, float, float]]:
    dataset, settings, items, threads = args
    torch.set_num_threads(threads)
    scorer = Scorer("nb201", dataset, settings, "cpu")
    scorer.score(*items[0])  # warm-up (allocator, kernels)
    out = []
    for index, arch in items:
        r = scorer.score(index, arch)
        out.append((index, r.proxies["intrain"]["score"], r.seconds))
    return out


def run_path(dataset: str, settings: ScoreSettings, items: list[tuple[int, str]], workers: int,
             threads: int) -> tuple[dict[int, float], float]:
    """Scores and wall seconds of scoring ``items`` with ``workers`` processes."""
    chunks = [items[i::workers] for i in range(workers)]
    start = time.perf_counter()
    if workers == 1:
        results = [_score_list((dataset, settings, chunks[0], threads))]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_score_list, [(dataset, settings, c, threads) for c in chunks if c]))
    wall = time.perf_counter() - start
    return {i: s for res in results for i, s, _ in res}, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=60, help="architectures sampled per dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of the plain path")
    ap.add_argument("--benchmark-csv", default=None, help="NB201 benchmark table (default: mirror)")
    ap.add_argument("--channels-last", action="store_true", help="optimised path in NHWC (see docstring)")
    ap.add_argument("--out", default="results/benchmarks/throughput")
    args = ap.parse_args()
    optimised = ScoreSettings(fast_pool=True, channels_last=args.channels_last)
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
    peak = machine_peak(args.workers)
    rows = []
    for ds in DATASETS:
        uni_items = list(zip(uniform.arch_index.astype(int), uniform.arch))
        rep_items = list(zip(rep_sample.arch_index.astype(int), rep_sample.arch))
        plain_uni, wall_plain = run_path(ds, PLAIN, uni_items, 1, args.threads)
        plain_rep, _ = run_path(ds, PLAIN, rep_items, 1, args.threads)
        opt_rep, wall_opt = run_path(ds, optimised, rep_items, args.workers, 1)
        a = np.array([plain_rep[i] for i, _ in rep_items])
        b = np.array([opt_rep[i] for i, _ in rep_items])
        finite = np.isfinite(a) & np.isfinite(b)
        rel = np.abs(a - b)[finite] / np.maximum(np.abs(a[finite]), 1e-12)
        flops_uni = np.mean([forward_flops(arch, ds, 64) for _, arch in uni_items]) * 3
        flops_rep = np.mean([forward_flops(arch, ds, 64) for _, arch in rep_items]) * 3
        s_plain = wall_plain / len(uni_items)
        s_opt = wall_opt / len(rep_items)
        rows.append({
            "dataset": ds, "n": args.n,
            "plain_s_per_arch": s_plain, "optimised_s_per_arch": s_opt,
            "plain_archs_per_s": 1 / s_plain, "optimised_archs_per_s": 1 / s_opt,
            "plain_gflops": flops_uni / s_plain / 1e9, "optimised_gflops": flops_rep / s_opt / 1e9,
            "plain_full_projected_s": s_plain * NUM_ARCHS,
            "optimised_full_projected_s": s_opt * len(classes),
            "max_rel_diff": float(rel.max()) if len(rel) else float("nan"),
            "kendall_paths": float(kendalltau(a[finite], b[finite]).statistic),
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
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "throughput.csv", index=False)
    ok = bool((df["max_rel_diff"].dropna() <= TOLERANCE).all() and (df["kendall_paths"].dropna() == 1.0).all())
    _plot(df, out / "throughput.png")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"projected full NB201 (3 datasets): plain {total['plain_full_projected_s'] / 60:.1f} min, "
          f"optimised {total['optimised_full_projected_s'] / 60:.1f} min; paths agree within "
          f"{TOLERANCE:g} relative and rank identically: {ok}")
    if not ok:
        raise SystemExit("the optimised path disagrees with the plain path")


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
