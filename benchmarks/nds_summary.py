"""Per-space Kendall tau table and per-model CPU cost of an NDS run (markdown, for the README).

    python benchmarks/nds_summary.py results/nds [results/nds-gradalign ...]

Reads each results folder's ``correlations.csv`` and the merged artifacts' per-architecture
``seconds`` (wall time of scoring one model in its job, network build included). A proxy scored
in several folders is reported from the first one that has it, with its ``n``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from intrain.io import read_scores

SPACES = ["nds_amoeba", "nds_darts", "nds_enas", "nds_nasnet", "nds_pnas", "nds_resnext_a", "nds_resnext_b"]
ORDER = ["intrain", "gradalign_ii", "gradalign_i", "zico", "zen", "naswot", "synflow", "snip", "grad_norm",
         "jacov", "flops", "params"]


def load(folders: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    taus, costs = [], []
    for folder in folders:
        corr = pd.read_csv(folder / "correlations.csv")
        corr = corr[corr.space.isin(SPACES) & ~corr.proxy.str.contains(r"\.")]
        corr["source"] = folder.name
        taus.append(corr)
        for art in sorted(folder.glob("nds_*/imagenet/*.h5")):
            df = read_scores(art)
            costs.append({"space": art.parts[-3], "artifact": f"{folder.name}/{art.stem}",
                          "n": len(df), "mean_s": df["seconds"].mean(), "max_s": df["seconds"].max()})
    tau = pd.concat(taus).drop_duplicates(["space", "proxy"], keep="first")
    return tau, pd.DataFrame(costs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    tau, cost = load(args.folders)
    proxies = [p for p in ORDER if p in set(tau.proxy)] + sorted(set(tau.proxy) - set(ORDER))
    table = tau.pivot(index="proxy", columns="space", values="kendall").reindex(index=proxies, columns=SPACES)
    n = tau.pivot(index="proxy", columns="space", values="n").reindex(index=proxies, columns=SPACES)
    print("| proxy | " + " | ".join(s.removeprefix("nds_") for s in SPACES) + " |")
    print("|---" * (len(SPACES) + 1) + "|")
    for p in proxies:
        cells = [f"{table.loc[p, s]:.3f} ({int(n.loc[p, s])})" if pd.notna(table.loc[p, s]) else "—" for s in SPACES]
        print(f"| {p} | " + " | ".join(cells) + " |")
    print()
    print("Mean seconds per model (one core, network build included), by artifact and space:")
    means = cost.pivot_table(index="artifact", columns="space", values="mean_s").reindex(columns=SPACES)
    print(means.rename(columns=lambda s: s.removeprefix("nds_")).round(2).to_string())


if __name__ == "__main__":
    main()
