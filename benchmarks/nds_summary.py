"""Per-space Kendall tau table and per-model CPU cost of an NDS run (markdown, for the README).

    python benchmarks/nds_summary.py results/nds [results/nds-gradalign ...]

Reads each results folder's ``correlations.csv`` and the merged artifacts' per-architecture
``seconds`` (wall time of scoring one model in its job, network build included), and prints one
tau table per folder (each cell: tau with n; a folder's proxies are scored on the same models).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from intrain.core.artifacts import read_scores

SPACES = ["nds_amoeba", "nds_darts", "nds_enas", "nds_nasnet", "nds_pnas", "nds_resnext_a", "nds_resnext_b"]
ORDER = [
    "intrain",
    "gradalign_ii",
    "gradalign_i",
    "zico",
    "zen",
    "naswot",
    "synflow",
    "snip",
    "grad_norm",
    "jacov",
    "flops",
    "params",
]


def tau_table(folder: Path) -> str:
    corr = pd.read_csv(folder / "correlations.csv")
    corr = corr[corr.space.isin(SPACES) & ~corr.proxy.str.contains(r"\.")]
    proxies = [p for p in ORDER if p in set(corr.proxy)] + sorted(set(corr.proxy) - set(ORDER))
    tau = corr.pivot(index="proxy", columns="space", values="kendall").reindex(index=proxies, columns=SPACES)
    n = corr.pivot(index="proxy", columns="space", values="n").reindex(index=proxies, columns=SPACES)
    lines = ["| proxy | " + " | ".join(s.removeprefix("nds_") for s in SPACES) + " |", "|---" * (len(SPACES) + 1) + "|"]
    for p in proxies:
        cells = [f"{tau.loc[p, s]:.3f} ({int(n.loc[p, s])})" if pd.notna(tau.loc[p, s]) else "—" for s in SPACES]
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def costs(folder: Path) -> pd.DataFrame:
    rows = []
    for art in sorted(folder.glob("nds_*/imagenet/*.h5")):
        df = read_scores(art)
        rows.append(
            {
                "space": art.parts[-3].removeprefix("nds_"),
                "artifact": f"{folder.name}/{art.stem}",
                "mean_s": df["seconds"].mean(),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    for folder in args.folders:
        print(f"Kendall tau (n) in {folder}:\n{tau_table(folder)}\n")
    cost = pd.concat([costs(f) for f in args.folders])
    print("Mean seconds per model (one core, network build included), by artifact and space:")
    order = [s.removeprefix("nds_") for s in SPACES]
    print(
        cost.pivot_table(index="artifact", columns="space", values="mean_s").reindex(columns=order).round(2).to_string()
    )


if __name__ == "__main__":
    main()
