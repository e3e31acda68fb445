"""Seconds per architecture of each proxy scored alone, and of all of them fused.

    python benchmarks/proxy_cost.py --n 10 --dataset cifar10 --threads 2 --out results/benchmarks/proxy_cost.csv

Each proxy is scored on its own (so its cost includes the shared InTrain probe pass, which
every job runs), on the same seeded NB201 sample; the last row scores all proxies in one
fused job, which shows what sharing passes saves. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from intrain.core.records import ScoreSettings
from intrain.proxies import list_proxies
from intrain.scoring.scorer import Scorer
from intrain.spaces.nb201.encoding import all_cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10, help="architectures (seeded uniform sample)")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--proxies", nargs="*", default=list_proxies())
    ap.add_argument("--out", default="results/benchmarks/proxy_cost.csv")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cells = [c.to_str() for c in all_cells()]
    archs = [cells[i] for i in np.random.default_rng(args.seed).choice(len(cells), args.n, replace=False)]
    rows = []
    for label, proxies in [(p, (p,)) for p in args.proxies] + [("all (fused)", tuple(args.proxies))]:
        scorer = Scorer("nb201", args.dataset, ScoreSettings(proxies=proxies), device=args.device)
        scorer.score(0, archs[0])  # warm-up: allocator, kernels, caches
        start = time.perf_counter()
        for i, arch in enumerate(archs):
            scorer.score(i, arch)
        per_arch = (time.perf_counter() - start) / len(archs)
        rows.append(
            {
                "proxy": label,
                "passes": "+".join(scorer.passes) or "probe",
                "seconds_per_arch": per_arch,
                "dataset": args.dataset,
                "device": args.device,
                "threads": args.threads,
                "n": args.n,
            }
        )
        print(f"{label:14s} {per_arch:7.3f} s/arch  passes: {rows[-1]['passes']}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
