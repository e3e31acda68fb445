"""Replace some proxies' rows of the committed protocol table with a newer run's, and re-render it.

    .venv/bin/python benchmarks/protocol_table_update.py --base benchmarks/protocol_table.csv \
        --new RESULTS/protocols.csv --proxies tenas grasp vkdnw az_nas \
        --note "heavy rows: ..." --out benchmarks/protocol_table.csv --markdown benchmarks/protocol_table.md

Why: the full protocol run (`config/protocols.yaml`) takes most of a day on the 2-core VM; the
heavy proxies (TE-NAS, GraSP, VKDNW, AZ-NAS) were rerun on their own (`config/heavy_full.yaml`, on
the same seeded sample, beside InTrain's scores of that sample) while the light proxies' rows stay
those of the earlier run. Rows are replaced per (space, dataset, proxy) that the new run scores;
each row keeps its own n; the Markdown header names both runs. The ranking-claims section
(`intrain.analysis.claims`) is recomputed over the merged rows.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intrain.analysis.claims import claims_markdown, intrain_uniform_tau, ranking_claims
from intrain.analysis.comparison import render_markdown
from intrain.core.errors import InputError

KEYS = ["space", "dataset", "proxy"]


def merge(base: pd.DataFrame, new: pd.DataFrame, proxies: list[str], allow_new: bool = False) -> pd.DataFrame:
    """``base`` with the rows of every (space, dataset, proxy) of ``proxies`` that ``new`` scores
    replaced by ``new``'s, in ``base``'s (space, dataset) order and sorted by proxy within each.

    Refused (SystemExit naming the problem; nothing is written): tables whose columns differ (the
    same columns in another order are reordered), a row without its space, dataset, proxy or
    variant, a repeated (space, dataset, proxy, variant) key in ``new``, a named proxy ``new`` has
    no row for, a replacement that would drop a variant the base had for that key (a partial new
    run must not silently lose rows), a (space, dataset) or proxy the base does not have unless
    ``allow_new`` (a misspelt name would otherwise add a second section beside the row it meant to
    replace), and an InTrain row of ``new`` whose τ differs from the base's (its InTrain − proxy
    cells would then be paired with another InTrain than the rest of the table)."""
    if set(new.columns) != set(base.columns):
        extra = sorted(set(new.columns) - set(base.columns))
        missing = sorted(set(base.columns) - set(new.columns))
        raise SystemExit(f"the new table's columns differ from the base's (extra {extra}, missing {missing})")
    new = new[list(base.columns)]
    for name, table in (("base", base), ("new", new)):
        blank = table[KEYS + ["variant"]].isna().any(axis=1)
        if blank.any():
            raise SystemExit(
                f"the {name} table's row {int(blank.to_numpy().argmax()) + 1} has no space, dataset, proxy or variant"
            )
    rows = new[new["proxy"].isin(proxies)]
    dup = rows[rows.duplicated([*KEYS, "variant"], keep=False)]
    if not dup.empty:
        raise SystemExit(f"the new table repeats keys: {sorted(set(map(tuple, dup[[*KEYS, 'variant']].values)))}")
    absent = sorted(set(proxies) - set(rows["proxy"]))
    if absent:
        raise SystemExit(f"the new table has no rows for {', '.join(absent)}")
    if not allow_new:
        _refuse_unknown(base, rows)
    _check_intrain(base, new, rows)
    had = base.groupby(KEYS)["variant"].agg(set)
    for key, has in rows.groupby(KEYS)["variant"].agg(set).items():
        lost = had.get(key, set()) - has
        if lost:
            raise SystemExit(f"{'/'.join(key)}: the new table lacks variant(s) {sorted(lost)} that the base has")
    replaced = set(map(tuple, rows[KEYS].values))
    kept = base[[tuple(k) not in replaced for k in base[KEYS].values]]
    merged = pd.concat([kept, rows], ignore_index=True)
    order = list(dict.fromkeys(zip(base["space"], base["dataset"])))
    order += [k for k in dict.fromkeys(zip(rows["space"], rows["dataset"])) if k not in order]
    rank = {k: i for i, k in enumerate(order)}
    merged["_order"] = [rank[(s, d)] for s, d in zip(merged["space"], merged["dataset"])]
    merged = merged.sort_values(["_order", "proxy", "variant"], kind="stable").drop(columns="_order")
    return merged[base.columns].reset_index(drop=True)


def _refuse_unknown(base: pd.DataFrame, rows: pd.DataFrame) -> None:
    """A (space, dataset) or proxy of the new rows that the base lacks, with the base's nearest name."""
    known = set(zip(base["space"], base["dataset"]))
    for space, dataset in dict.fromkeys(zip(rows["space"], rows["dataset"])):
        if (space, dataset) not in known:
            near = difflib.get_close_matches(f"{space}/{dataset}", [f"{s}/{d}" for s, d in known], n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise SystemExit(
                f"the new table's {space}/{dataset} is not in the base{hint}: pass --allow-new to add a dataset"
            )
    names = set(base["proxy"])
    for proxy in dict.fromkeys(rows["proxy"]):
        if proxy not in names:
            near = difflib.get_close_matches(proxy, sorted(names), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise SystemExit(f"the new table's proxy {proxy!r} is not in the base{hint}: pass --allow-new to add it")


def _check_intrain(base: pd.DataFrame, new: pd.DataFrame, rows: pd.DataFrame) -> None:
    """The new run's InTrain must be the base's: where both tables have an InTrain row for a
    (space, dataset) the new rows touch, its uniform τ over the same n; and for every replaced row
    that covers the same networks as the base's row (the same n, paired with InTrain on all of
    them), InTrain's τ on those networks (τ + InTrain − proxy) must be the same, which checks the
    pairing even when the new run has no InTrain row (a heavy-proxy rerun never has one)."""
    own_new, own_base = intrain_uniform_tau(new), intrain_uniform_tau(base)
    for key in dict.fromkeys(zip(rows["space"], rows["dataset"])):
        theirs, ours = own_new.get(key), own_base.get(key)
        if theirs is None or ours is None or math.isnan(theirs[3]) or math.isnan(ours[3]):
            continue
        if not (theirs[3] == ours[3] and abs(theirs[0] - ours[0]) <= 1e-9):
            raise SystemExit(
                f"{'/'.join(key)}: the new table's InTrain (τ {theirs[0]:.4f}, n {theirs[3]:.0f}) is not the "
                f"base's (τ {ours[0]:.4f}, n {ours[3]:.0f}): its InTrain − proxy cells would pair "
                "another InTrain than the rest of the table"
            )
    before_rows = {tuple(r[k] for k in [*KEYS, "variant"]): r for r in base.to_dict("records")}
    unchecked = []
    for r in rows.to_dict("records"):
        o = before_rows.get(tuple(r[k] for k in [*KEYS, "variant"]))
        if o is None:
            continue
        if not (r["n"] == r["n_vs_intrain"] == o["n"] == o["n_vs_intrain"]):
            unchecked.append(f"{r['space']}/{r['dataset']}/{r['proxy']}@{r['variant']}")
            continue
        mine, before = r["tau"] + r["intrain_minus"], o["tau"] + o["intrain_minus"]
        if abs(mine - before) > 1e-9:
            raise SystemExit(
                f"{r['space']}/{r['dataset']}/{r['proxy']}@{r['variant']}: InTrain's τ on its {r['n']:.0f} networks is "
                f"{mine:.4f} in the new table and {before:.4f} in the base: the new run's InTrain (or its sample) "
                "is not the base's"
            )
    if unchecked:
        print(
            "note: another n than the base's row, so InTrain's pairing could not be checked for "
            + ", ".join(unchecked),
            file=sys.stderr,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the committed table (CSV)")
    ap.add_argument("--new", required=True, help="the newer run's `intrain protocol-table --out` CSV")
    ap.add_argument("--proxies", nargs="+", required=True, help="the proxies whose rows the new run replaces")
    ap.add_argument("--title", required=True, help="the Markdown heading")
    ap.add_argument("--note", required=True, help="the paragraph under it: what each run was")
    ap.add_argument("--out", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--claims", default=None, help="also the ranking claims as CSV")
    ap.add_argument(
        "--allow-new", action="store_true", help="accept a (space, dataset) or proxy the base does not have yet"
    )
    args = ap.parse_args()
    table = merge(pd.read_csv(args.base), pd.read_csv(args.new), args.proxies, allow_new=args.allow_new)
    try:
        claims = ranking_claims(table)  # everything is built before any file is written
    except InputError as e:
        raise SystemExit(f"the merged table: {e}") from None
    text = f"# {args.title}\n\n{args.note}\n\n" + render_markdown(table) + "\n" + claims_markdown(claims, table)
    table.to_csv(args.out, index=False)
    if args.claims:
        claims.to_csv(args.claims, index=False)
    Path(args.markdown).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
