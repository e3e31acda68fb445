"""FLOPs under the two protocols over all 15,625 NB201 cells: Kendall τ against test accuracy.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/flops_protocol.py \
        --table $INTRAIN_MIRROR/nb201/nats_tss_200ep_test_acc.csv --check 300 --out benchmarks/flops_protocol.md

The reference protocol counts the conv + linear multiply-accumulates of AutoDL's network (every
non-``none`` edge, dead ones included, as the benchmark's cost API does); the uniform protocol
those of the pruned network. Both are counted analytically
(:func:`intrain.spaces.nb201.encoding.conv_macs`); ``--check N`` first verifies the analytic count
against one eval forward per network at batch 1 (``count_macs`` on the built network) for N random
cells and times it, projecting what the forward count of all cells would cost. Published: AZ-NAS
paper FLOPs row .578/.551/.517 (C10/C100/IN16).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit

from intrain.analysis.stats import kendall
from intrain.spaces.nb201.encoding import conv_macs, live_edges, parse_arch

COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}
PUBLISHED = {"cifar10": 0.578, "cifar100": 0.551, "ImageNet16-120": 0.517}


def check(archs: list[str], n: int, seed: int) -> tuple[int, float]:
    """Analytic vs forward-counted MACs on n random cells (both protocols); seconds per forward count."""
    import torch

    from intrain.proxies.base import count_macs
    from intrain.spaces.nb201.network import build_network

    torch.set_num_threads(1)
    pick = np.random.default_rng(seed).choice(len(archs), n, replace=False)
    x = torch.zeros(1, 3, 32, 32)
    t0 = time.perf_counter()
    for i in pick:
        for reference in (True, False):
            got = count_macs(build_network(archs[i], "cifar10", reference=reference), x)
            want = conv_macs(archs[i], "cifar10", reference=reference)
            if got != want:
                raise SystemExit(f"{archs[i]} reference={reference}: forward {got} != analytic {want}")
    return n, (time.perf_counter() - t0) / (2 * n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True, help="nats_tss_200ep_test_acc.csv")
    ap.add_argument("--check", type=int, default=300, help="cells checked by a forward count (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="markdown file for the table")
    args = ap.parse_args()

    gt = pd.read_csv(args.table)
    archs = gt["ArchitectureString"].tolist()
    lines = [f"# FLOPs under the two protocols, all {len(archs):,} NB201 cells", ""]
    if args.check:
        n, per = check(archs, args.check, args.seed)
        lines += [
            f"Forward count (eval, batch 1, 1 thread) equals the analytic count on {n} random cells, both "
            f"protocols; {per * 1e3:.1f} ms per network, so {per * 2 * len(archs) / 60:.1f} CPU min "
            "for both protocols on every cell (not needed: the analytic count is exact).",
            "",
        ]
    t0 = time.perf_counter()
    counts = {
        d: {r: np.array([conv_macs(a, d, reference=r) for a in archs], dtype=np.float64) for r in (True, False)}
        for d in COLUMNS
    }
    seconds = time.perf_counter() - t0
    n_dead = int((counts["cifar10"][True] != counts["cifar10"][False]).sum())
    edges = [(i, j) for i in range(1, 4) for j in range(i)]
    n_dead_edges = sum(
        any(parse_arch(a).op(*e) != "none" and e not in live_edges(parse_arch(a)) for e in edges) for a in archs
    )
    lines += [
        f"Analytic counts of all cells, 3 datasets x 2 protocols, in {seconds:.1f} s. Cells with a dead "
        f"conv edge: {n_dead:,} (with any dead non-none edge: {n_dead_edges:,}).",
        "",
        "| dataset | τ reference (unpruned) | τ uniform (pruned) | AZ-NAS paper |",
        "|---|---|---|---|",
    ]
    for dataset, col in COLUMNS.items():
        acc = gt[col].to_numpy(dtype=np.float64)
        ref, pruned = counts[dataset][True], counts[dataset][False]
        lines.append(f"| {dataset} | {kendall(ref, acc):.3f} | {kendall(pruned, acc):.3f} | {PUBLISHED[dataset]:.3f} |")
    emit(lines, args.out)


if __name__ == "__main__":
    main()
