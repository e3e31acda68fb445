"""How much of regularised SWAP's published ρ = 0.90 (NB201, CIFAR-100 validation accuracy) can a
size prior explain? An experiment, not a fit we ship.

SWAP's paper multiplies the SWAP count by exp(-(P - mu)^2 / sigma), P the parameter count in
thousands, with mu and sigma chosen per space; neither the paper's abstract nor the authors'
code (pym1024/SWAP: ``cal_regular_factor`` takes them as arguments, ``correlation.py`` never
sets them) gives NB201's values. So this script measures, on our scored sample:

* ρ of the plain SWAP count, of P alone, and of InTrain;
* the *oracle* regularised SWAP: the best ρ over a (mu, sigma) grid chosen on the very
  architectures it is scored on (an upper bound: it peeks at the accuracies);
* the *cross-validated* regularised SWAP: (mu, sigma) chosen on a random half, ρ measured on the
  other half, over many splits (what a user who tunes mu, sigma on a labelled sub-sample gets).
  The halves split *isomorphism groups* (the artifact's ``representative_arch``), so copies of
  one network never sit on both sides; the bracket is the 2.5-97.5 % spread over the splits.

    PYTHONPATH=. python benchmarks/swap_regularised.py \\
        --scores R/nb201/cifar100/set-meco_swap.h5 --intrain R/nb201/cifar100/scores.h5 \\
        --groundtruth R/groundtruth/nb201_valid.csv --dataset cifar100 --metric valid \\
        --out benchmarks/swap_regularised.csv

Not a test: it reads a scored run's artifacts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from intrain.analysis.groundtruth import accuracy_column
from intrain.core.artifacts import read_scores


def params_thousands(archs: list[str], dataset: str) -> dict[str, float]:
    """P as the authors count it: all parameters (none is 'auxiliary' in NB201) / 1e3."""
    from intrain.spaces import get_space

    space = get_space("nb201")
    out = {}
    for arch in sorted(set(archs)):
        net = space.network(arch, dataset)
        out[arch] = sum(p.numel() for p in net.parameters()) / 1e3
    return out


def regularised(swap: np.ndarray, p: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return swap * np.exp(-((p - mu) ** 2) / sigma)


def rho(x: np.ndarray, y: np.ndarray) -> float:
    return float(spearmanr(x, y).statistic)


def split_row(label: str, values: np.ndarray) -> dict:
    """A row for a quantity measured once per split: its mean and the 2.5-97.5 % of the splits."""
    lo, hi = np.quantile(values, [0.025, 0.975])
    return {
        "score": label,
        "rho": float(values.mean()),
        "rho_lo": float(lo),
        "rho_hi": float(hi),
        "mu_k": np.nan,
        "sigma": np.nan,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scores", required=True, help="artifact with the swap column (uniform or reference)")
    ap.add_argument("--intrain", help="artifact with the intrain column, for comparison")
    ap.add_argument("--groundtruth", required=True, help="normalised NB201 ground truth (with valid_ columns)")
    ap.add_argument("--dataset", default="cifar100")
    ap.add_argument("--metric", choices=["test", "valid"], default="valid")
    ap.add_argument("--splits", type=int, default=200)
    ap.add_argument("--grid", type=int, default=30, help="grid points per axis")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    s = read_scores(args.scores)[["arch_index", "arch", "representative_arch", "swap"]]
    if args.intrain:
        s = s.merge(read_scores(args.intrain)[["arch_index", "intrain"]], on="arch_index")
    acc_col = accuracy_column(args.dataset, args.metric)
    gt = pd.read_csv(args.groundtruth)[["arch_index", acc_col]]
    df = s.merge(gt, on="arch_index").replace([np.inf, -np.inf], np.nan).dropna()
    sizes = params_thousands(df["arch"].tolist(), args.dataset)
    df["P"] = df["arch"].map(sizes)
    swap, p, acc = (df[c].to_numpy(float) for c in ("swap", "P", acc_col))

    mus = np.quantile(p, np.linspace(0.02, 1.0, args.grid))
    spread = float(np.ptp(p)) or 1.0
    sigmas = spread**2 * np.logspace(-3, 2, args.grid)
    grid = [(mu, sg) for mu in mus for sg in sigmas]
    scores = np.stack([regularised(swap, p, mu, sg) for mu, sg in grid])

    best = max(range(len(grid)), key=lambda k: rho(scores[k], acc))
    rows = [
        {"score": "swap (plain count)", "rho": rho(swap, acc), "mu_k": np.nan, "sigma": np.nan},
        {"score": "#params (P)", "rho": rho(p, acc), "mu_k": np.nan, "sigma": np.nan},
        {
            "score": "regularised swap, oracle (mu, sigma) on all rows",
            "rho": rho(scores[best], acc),
            "mu_k": grid[best][0],
            "sigma": grid[best][1],
        },
    ]
    if "intrain" in df:
        rows.insert(
            0, {"score": "intrain", "rho": rho(df["intrain"].to_numpy(float), acc), "mu_k": np.nan, "sigma": np.nan}
        )

    rng = np.random.default_rng(args.seed)
    groups = df["representative_arch"].to_numpy()
    names = np.unique(groups)
    cv, plain, ours = [], [], []
    intrain = df["intrain"].to_numpy(float) if "intrain" in df else None
    for _ in range(args.splits):
        chosen = rng.permutation(names)[: len(names) // 2]
        in_fit = np.isin(groups, chosen)
        fit, test = np.flatnonzero(in_fit), np.flatnonzero(~in_fit)
        k = max(range(len(grid)), key=lambda j: rho(scores[j][fit], acc[fit]))
        cv.append(rho(scores[k][test], acc[test]))
        plain.append(rho(swap[test], acc[test]))
        if intrain is not None:
            ours.append(rho(intrain[test], acc[test]))
    cv_a, plain_a = np.array(cv), np.array(plain)
    rows.append(
        split_row(
            f"regularised swap, (mu, sigma) fit on a random half, rho on the other ({args.splits} splits of {len(names)} isomorphism groups)",
            cv_a,
        )
    )
    rows.append(split_row("  same halves: cross-validated regularised − plain swap", cv_a - plain_a))
    if ours:
        rows.append(split_row("  same halves: intrain − cross-validated regularised swap", np.array(ours) - cv_a))
    out = pd.DataFrame(rows)
    out.insert(0, "n", len(acc))
    out.insert(0, "metric", args.metric)
    out.insert(0, "dataset", args.dataset)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    print(out.to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
