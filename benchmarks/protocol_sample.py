"""Uniform vs reference protocol (and Gaussian vs natural input) on a seeded NB201 sample: Kendall τ
against CIFAR-10 test accuracy, with paired bootstrap CIs of the differences.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/protocol_sample.py --n 100 \
        --table $INTRAIN_MIRROR/nb201/nats_tss_200ep_test_acc.csv --out benchmarks/protocol_sample.md

A small-sample check (the CI widths say how small), not the full comparison table of issue 19.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intrain.scoring import Scorer, ScoreSettings  # noqa: E402
from intrain.stats import correlate, paired_tau_difference  # noqa: E402

PROXIES = ("grad_norm", "grad_norm_layers", "snip", "naswot", "synflow", "jacov", "flops")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    gt = pd.read_csv(args.table).sample(n=args.n, random_state=args.seed)
    acc = gt["CIFAR10TestAccuracy200Epochs"].to_numpy()
    runs = {"uniform/gaussian": dict(protocol="uniform"), "reference/gaussian": dict(protocol="reference"),
            "reference/natural": dict(protocol="reference", data="natural")}
    scores, walls = {}, {}
    for label, kw in runs.items():
        s = Scorer("nb201", "cifar10", ScoreSettings(batch_size=args.batch_size, proxies=PROXIES, **kw), device="cpu")
        t0 = time.perf_counter()
        recs = [s.score(i, a) for i, a in enumerate(gt["ArchitectureString"])]
        walls[label] = time.perf_counter() - t0
        scores[label] = {p: np.array([r.proxies[p]["score"] for r in recs]) for p in PROXIES}
    lines = [f"# Protocols on {args.n} seeded NB201 cells (CIFAR-10 test, B = {args.batch_size}, 1 CPU thread)", "",
             "wall: " + ", ".join(f"{k} {v:.0f} s" for k, v in walls.items()), "",
             "| proxy | " + " | ".join(f"τ {k} [95% CI]" for k in runs) + " | Δ ref−uni [CI] | Δ natural−gaussian [CI] |",
             "|---|" + "---|" * (len(runs) + 2)]
    for p in PROXIES:
        cells = []
        for k in runs:
            c = correlate(scores[k][p], acc, n_boot=500)
            cells.append(f"{c.kendall:.3f} [{c.kendall_lo:.3f}, {c.kendall_hi:.3f}]")
        d1 = paired_tau_difference(scores["reference/gaussian"][p], scores["uniform/gaussian"][p], acc, n_boot=500)
        d2 = paired_tau_difference(scores["reference/natural"][p], scores["reference/gaussian"][p], acc, n_boot=500)
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {d1.delta:+.3f} [{d1.lo:+.3f}, {d1.hi:+.3f}] | "
                     f"{d2.delta:+.3f} [{d2.lo:+.3f}, {d2.hi:+.3f}] |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
