"""The zoo run's cost per artifact, from Snakemake's per-job benchmark files (wall and CPU seconds).

Why: docs/beyond-cell-spaces.md reports what each set cost on the machine it ran on; the scoring
jobs' ``benchmarks/timing/score/zoo/imagenet/*.tsv`` hold it. One row per artifact (the main
scores, each set), summed over its shards:

    python benchmarks/zoo_cost.py results/zoo results/zoo-tokens
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd


def cost_table(folder: Path) -> pd.DataFrame:
    """``artifact, jobs, wall_s, cpu_s`` of one results folder's zoo scoring jobs."""
    rows = []
    for tsv in sorted((folder / "benchmarks" / "timing" / "score" / "zoo" / "imagenet").glob("*.tsv")):
        m = re.fullmatch(r"(?:set-(.+)-)?shard-\d+", tsv.stem)
        if not m:
            continue
        t = pd.read_csv(tsv, sep="\t")
        rows.append({"artifact": m.group(1) or "scores", "wall_s": t["s"].sum(), "cpu_s": t["cpu_time"].sum()})
    if not rows:
        raise SystemExit(f"{folder} has no zoo scoring benchmark files")
    df = (
        pd.DataFrame(rows)
        .groupby("artifact")
        .agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"))
    )
    return df.reset_index()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", help="results folders of zoo runs")
    args = p.parse_args(argv)
    for res in args.results:
        t = cost_table(Path(res))
        print(f"## {res}\n")
        print("| artifact | jobs | wall s | CPU s |\n|---|---|---|---|")
        for r in t.itertuples():
            print(f"| {r.artifact} | {r.jobs} | {r.wall_s:,.0f} | {r.cpu_s:,.0f} |")
        print()


if __name__ == "__main__":
    main()
