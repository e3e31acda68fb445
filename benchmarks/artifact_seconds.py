"""Seconds per network as stored in score artifacts: the median of each proxy's own timing
(``<proxy>.seconds``, its hooks or pass) and of the whole record (``seconds``: every pass the
job ran for that network), per artifact. Reads artifacts only; no torch.

    python benchmarks/artifact_seconds.py R/nb201/cifar10/set-meco_swap.h5 R/nb201/cifar10/scores.h5

Timings are those of the machine and load the run had; state both beside any number you quote.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from intrain.core.artifacts import read_attrs, read_scores


def seconds_table(paths: list[str]) -> pd.DataFrame:
    rows = []
    for path in paths:
        scores, attrs = read_scores(path), read_attrs(path)
        raw = attrs.get("settings")
        settings = json.loads(raw) if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        # isomorphic copies hold their representative's record: time each network once
        own = scores.drop_duplicates("representative_arch") if "representative_arch" in scores else scores
        base = {
            "artifact": str(Path(path)),
            "space": attrs.get("space"),
            "dataset": attrs.get("dataset"),
            "protocol": settings.get("protocol", "uniform"),
            "networks": len(own),
            "record_s_median": float(own["seconds"].median()) if "seconds" in own else math.nan,
        }
        proxies = [c[: -len(".seconds")] for c in own.columns if c.endswith(".seconds")]
        for proxy in proxies or [""]:
            col = f"{proxy}.seconds"
            rows.append(
                {**base, "proxy": proxy, "proxy_s_median": float(own[col].median()) if col in own else math.nan}
            )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("artifacts", nargs="+")
    ap.add_argument("--out", help="CSV")
    args = ap.parse_args()
    table = seconds_table(args.artifacts)
    print(table.to_string(index=False, float_format="%.3f"))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
