"""Measure which layers / parameters / pruning give InTrain its best ranking on NB201.

One probe pass per architecture hooks conv, BN and linear outputs and every parameter; each
variant is then a subset of the same statistics, so variants differ only in the choice.

    python benchmarks/layer_choice.py --n 300 --dataset cifar10 --out results/layer_choice.csv
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau, spearmanr

from intrain.analysis.groundtruth import load_groundtruth_csv
from intrain.core.records import ScoreSettings
from intrain.core.trainability import intrain_from_stats
from intrain.scoring.scorer import Scorer

LAYER_KINDS = {
    "conv": {"Conv2d", "Linear"},
    "bn": {"BatchNorm2d", "Linear"},
    "conv+bn": {"Conv2d", "BatchNorm2d", "Linear"},
}
PARAM_KINDS = {"all": None, "weights": {"Conv2d", "Linear"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--groundtruth", default="results/groundtruth/nb201.csv")
    ap.add_argument("--out", default="results/benchmarks/layer_choice.csv")
    args = ap.parse_args()
    torch.set_num_threads(2)
    gt = load_groundtruth_csv(args.groundtruth)
    sample = gt.sample(n=args.n, random_state=args.seed)
    rows = []
    start = time.time()
    for prune in (True, False):
        scorer = Scorer("nb201", args.dataset, ScoreSettings(layers="conv+bn", params="all", prune=prune), "cpu")
        for idx, arch in zip(sample["arch_index"], sample["arch"]):
            r = scorer.score(int(idx), arch).probe
            for lname, lk in LAYER_KINDS.items():
                lm = np.array([k in lk for k in r.layer_kinds])
                for pname, pk in PARAM_KINDS.items():
                    pm = np.array(
                        [
                            True if pk is None else (k in pk and n.endswith("weight"))
                            for k, n in zip(r.param_kinds, r.param_names)
                        ]
                    )
                    s = r.layer_stats[lm]
                    g = r.param_stats[pm]
                    v = intrain_from_stats(s[:, 0], s[:, 1], s[:, 2], g[:, 0], g[:, 1])
                    rows.append({"prune": prune, "layers": lname, "params": pname, "arch_index": idx, **v})
    df = pd.DataFrame(rows).merge(gt[["arch_index", f"acc_{args.dataset}"]], on="arch_index")
    out = []
    for key, g in df.groupby(["prune", "layers", "params"]):
        acc = g[f"acc_{args.dataset}"]
        out.append(
            {
                "prune": key[0],
                "layers": key[1],
                "params": key[2],
                "kendall": kendalltau(g["score"], acc)[0],
                "spearman": spearmanr(g["score"], acc)[0],
                "kendall_gamma": kendalltau(g["gamma"], acc)[0],
                "kendall_o": kendalltau(g["o"], acc)[0],
            }
        )
    res = pd.DataFrame(out).sort_values("kendall", ascending=False)
    import os

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    res.to_csv(args.out, index=False)
    print(res.to_string(index=False))
    print(f"n={args.n} dataset={args.dataset} seed={args.seed} wall={time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
