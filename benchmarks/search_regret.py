"""Regret of InTrain-NAS on NB201 against T, for several round sizes b, paired across seeds.

    PYTHONPATH=$PWD python benchmarks/search_regret.py \\
        --scores results/nb201/cifar10/scores.h5 --groundtruth results/groundtruth/nb201.csv \\
        --dataset cifar10 --batches 1 4 16 64 --seeds 50 --T 10 25 50 100 200 500 1000 \\
        --out benchmarks/search_regret.csv --markdown benchmarks/search_regret.md

Every search looks its scores up in a score artifact of the whole space (``search.scores_from``,
:class:`intrain.search.lookup.LookupScore`), so nothing is scored and thousands of searches take
seconds. Regret at T = (best test accuracy in the space) - (test accuracy of the architecture the
search returns after T iterations: the history's best proxy score, earlier rows winning ties). One
search of T_max per (b, seed) gives every T <= T_max: rounds do not depend on T, so the first T
iterations of a longer search are the search of length T.

Seeds are paired: seed s runs with every b, and the table gives, per (b, T), the mean regret over
seeds and the mean paired difference to b = 1 with a seeded bootstrap 95% interval over seeds
(2,000 resamples), and how many seeds b did worse/better than b = 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from intrain.analysis.groundtruth import GroundTruths, accuracy_column  # noqa: E402
from intrain.core.errors import InputError  # noqa: E402
from intrain.search.evolution import evolve  # noqa: E402
from intrain.search.lookup import LookupScore  # noqa: E402
from intrain.search.problems import make_problem  # noqa: E402


def best_so_far(scores: np.ndarray) -> np.ndarray:
    """Index of the best score among rows ``0..t`` for every t (NaN never wins; earlier rows win ties)."""
    key = np.where(np.isfinite(scores), scores, -np.inf)
    out = np.zeros(len(key), dtype=np.int64)
    best = 0
    for t in range(1, len(key)):
        if key[t] > key[best]:
            best = t
        out[t] = best
    return out


def regret_runs(
    scores: str,
    groundtruth: str | list[str],
    dataset: str,
    proxy: str,
    batches: list[int],
    seeds: int,
    ts: list[int],
    k: int = 10,
) -> pd.DataFrame:
    """One row per (b, seed, T): the returned architecture, its accuracy and its regret."""
    gt = GroundTruths.of(groundtruth).table("nb201")
    acc = accuracy_column(dataset)
    if acc not in gt.columns:
        raise InputError(
            f"the ground truth has no {acc} column (datasets: {[c for c in gt.columns if c.startswith('acc_')]})"
        )
    accuracy = dict(zip(gt["arch"].astype(str), gt[acc].astype(float)))
    space_best = float(gt[acc].max())
    score = LookupScore(scores, proxy, "nb201")
    t_max = max(ts)
    rows = []
    for b in batches:
        for seed in range(seeds):
            h = evolve(make_problem("nb201", None), score, iterations=t_max, k=k, seed=seed, batch=b).history
            pick = best_so_far(h["score"].to_numpy(float))
            for t in ts:
                arch = str(h["arch"].iloc[pick[t - 1]])
                if arch not in accuracy:
                    raise InputError(f"architecture {arch!r} is not in the ground truth {groundtruth}")
                rows.append(
                    {
                        "b": b,
                        "seed": seed,
                        "T": t,
                        "arch": arch,
                        "proxy_score": float(h["score"].iloc[pick[t - 1]]),
                        "accuracy": accuracy[arch],
                        "regret": space_best - accuracy[arch],
                        "distinct_scored": int(h["arch"].iloc[:t].nunique()),
                    }
                )
    return pd.DataFrame(rows)


def paired_table(runs: pd.DataFrame, n_boot: int = 2000, boot_seed: int = 0) -> pd.DataFrame:
    """Per (b, T): mean and std of the regret over seeds, and the paired difference to b = 1."""
    base = runs[runs["b"] == runs["b"].min()].set_index(["seed", "T"])["regret"]
    rng = np.random.default_rng(boot_seed)
    out = []
    for (b, t), g in runs.groupby(["b", "T"], sort=True):
        g = g.set_index("seed")
        diff = (g["regret"] - base.xs(t, level="T").reindex(g.index)).to_numpy(float)
        idx = rng.integers(0, len(diff), size=(n_boot, len(diff)))
        boots = diff[idx].mean(axis=1)
        out.append(
            {
                "b": b,
                "T": t,
                "seeds": len(g),
                "mean_regret": g["regret"].mean(),
                "std_regret": g["regret"].std(ddof=1) if len(g) > 1 else float("nan"),
                "mean_accuracy": g["accuracy"].mean(),
                "diff_vs_b1": diff.mean(),
                "diff_lo": float(np.quantile(boots, 0.025)),
                "diff_hi": float(np.quantile(boots, 0.975)),
                "worse_seeds": int((diff > 0).sum()),
                "better_seeds": int((diff < 0).sum()),
                "mean_distinct_scored": g["distinct_scored"].mean(),
            }
        )
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, command: str, seconds: float) -> str:
    lines = [
        "| b | T | seeds | mean regret | std | paired diff to b=1 [95% CI] | worse/better seeds | distinct scored |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.b} | {r.T} | {r.seeds} | {r.mean_regret:.3f} | {r.std_regret:.3f} | "
            f"{r.diff_vs_b1:+.3f} [{r.diff_lo:+.3f}, {r.diff_hi:+.3f}] | {r.worse_seeds}/{r.better_seeds} | "
            f"{r.mean_distinct_scored:.1f} |"
        )
    return "\n".join(lines) + f"\n\nCommand: `{command}` ({seconds:.1f} s).\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scores", required=True, help="a score artifact of the whole NB201 space (merged)")
    ap.add_argument("--groundtruth", required=True, action="append", metavar="[SPACE=]CSV")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--proxy", default="intrain")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--T", type=int, nargs="+", default=[10, 25, 50, 100, 200, 500, 1000], dest="ts")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/search_regret.csv")
    ap.add_argument("--markdown", default=None, help="also write the table as markdown here")
    args = ap.parse_args(argv)
    if min(args.batches) != 1:
        ap.error("--batches must include 1 (the paired differences are taken against b = 1)")
    if min(args.ts) < 1 or args.seeds < 1:
        ap.error("--T values and --seeds must be >= 1")
    start = time.perf_counter()
    runs = regret_runs(
        args.scores, args.groundtruth, args.dataset, args.proxy, args.batches, args.seeds, args.ts, args.k
    )
    table = paired_table(runs)
    seconds = time.perf_counter() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    runs.to_csv(Path(args.out).with_suffix(".runs.csv"), index=False)
    print(table.to_string(index=False, float_format="%.3f"))
    if args.markdown:
        cmd = "python benchmarks/search_regret.py " + " ".join(argv if argv is not None else sys.argv[1:])
        Path(args.markdown).write_text(markdown(table, cmd, seconds))
    print(f"{len(runs) // len(args.ts)} searches in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
