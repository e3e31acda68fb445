"""Which of the paper's ranking claims ("InTrain ranks better than proxy P on dataset D") a
protocol table decides.

The claim is read off the published numbers: InTrain's published τ against the proxy's
(`intrain.analysis.published_tau`), so "InTrain > P" where InTrain's is higher and "P > InTrain"
where it is lower (AZ-NAS on the CIFARs); a tie in the published numbers makes no claim. Where
the proxy's number comes from another paper than InTrain's (``source``; † in the Markdown), the
InTrain paper makes the claim only as "the strongest among all single-index proxies". Proxies
without a published τ (MeCo, SWAP) make no pairwise claim; they enter the ``strongest`` row.

The evidence is the table's paired bootstrap CI of τ(InTrain) − τ(P) over the architectures both
scored (`intrain.analysis.comparison`), with InTrain under the uniform protocol (this project's
reproduction of it) and P under the protocol its published number was computed with (the
``reference`` variant):

- ``holds``: the CI excludes 0 on the claimed side;
- ``reversed``: the CI excludes 0 on the other side;
- ``undecided``: the CI contains 0 (this n cannot tell the two apart).

Two caveats are columns, not prose: ``reproduced`` is False where P's published τ lies outside
P's own τ CI here (a "holds" then partly rests on the port scoring below the published number),
and ``verdict_holm`` is the verdict after Holm's correction over every pairwise claim of the table
(p-values from the CI read as a normal interval: an approximation for a percentile bootstrap).

One row per (space, dataset) tests "InTrain is the strongest single-index proxy": every proxy
of the table except InTrain itself and the `ENSEMBLES`, under every variant the table pairs with
InTrain; ``reversed`` if any of them is ahead with a CI excluding 0, ``holds`` if InTrain is ahead
of all with CIs excluding 0, else ``undecided``; ``blocking`` names the proxies that decide it.

Torch-free; reads the comparison table only.

Examples:
    >>> verdict(claim=+1, lo=0.01, hi=0.09)
    'holds'
    >>> verdict(claim=+1, lo=-0.03, hi=0.09)
    'undecided'
    >>> verdict(claim=-1, lo=0.02, hi=0.05)
    'reversed'
"""

from __future__ import annotations

import math

import pandas as pd

from intrain.analysis.published_tau import published, source

__all__ = ["ENSEMBLES", "VARIANT", "claims_markdown", "display_rows", "holm", "ranking_claims", "verdict"]

#: The proxy variant whose scores test a claim about its published number.
VARIANT = "reference"
#: The proxy the claims are about.
SUBJECT = "intrain"
#: Proxies that combine several indices (AZ-NAS: four ranks; TE-NAS: two), outside "single-index".
ENSEMBLES = frozenset({"az_nas", "tenas"})
#: The label of the per-(space, dataset) row.
STRONGEST = "strongest single-index"
_Z95 = 1.959963984540054


def verdict(claim: int, lo: float, hi: float) -> str:
    """``holds`` / ``reversed`` / ``undecided`` for a claimed sign (+1: InTrain higher) and a CI of
    InTrain − proxy; ``no CI`` where the CI is missing (InTrain not scored on the proxy's networks)."""
    if math.isnan(lo) or math.isnan(hi):
        return "no CI"
    if lo > 0 or hi < 0:
        return "holds" if (lo > 0) == (claim > 0) else "reversed"
    return "undecided"


def _p_value(est: float, lo: float, hi: float) -> float:
    """Two-sided p of est = 0, reading [lo, hi] as a normal 95 % interval (NaN without a CI)."""
    if any(math.isnan(v) for v in (est, lo, hi)):
        return math.nan
    se = (hi - lo) / (2 * _Z95)
    if se <= 0:
        return 0.0 if est != 0 else 1.0
    return math.erfc(abs(est) / se / math.sqrt(2))


def holm(p: pd.Series) -> pd.Series:
    """Holm's step-down adjusted p-values (NaN stays NaN).

    Examples:
        >>> holm(pd.Series([0.01, 0.04, 0.03])).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    valid = p.dropna().sort_values()
    m = len(valid)
    adjusted = pd.Series(math.nan, index=p.index)
    running = 0.0
    for i, (key, value) in enumerate(valid.items()):
        running = max(running, min(1.0, (m - i) * value))
        adjusted[key] = running
    return adjusted


def ranking_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The pairwise claims (one row per (space, dataset, proxy) scored under `VARIANT` with a
    published τ beside InTrain's) and one `STRONGEST` row per (space, dataset); see the module
    docstring for the columns.

    Examples:
        >>> t = pd.DataFrame([dict(space="nb201", dataset="cifar10", proxy="zico", variant="reference",
        ...     tau=0.60, tau_lo=0.57, tau_hi=0.63, n_vs_intrain=1000, intrain_minus=0.08,
        ...     intrain_minus_lo=0.07, intrain_minus_hi=0.09)])
        >>> ranking_claims(t)[["proxy", "claim", "verdict"]].to_dict("records")[0]
        {'proxy': 'zico', 'claim': 'InTrain > zico', 'verdict': 'holds'}
    """
    keys = ["space", "dataset", "proxy", "variant"]
    dup = table[table.duplicated(keys, keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        raise ValueError(
            f"the protocol table has {len(dup)} rows for repeated (space, dataset, proxy, variant) keys, "
            f"e.g. {first.space}/{first.dataset}/{first.proxy}@{first.variant}: one row per key is expected"
        )
    rows = []
    for r in table.itertuples(index=False):
        if r.proxy == SUBJECT or r.variant != VARIANT:
            continue
        theirs = published(r.space, "kendall", r.proxy, r.dataset)
        ours = published(r.space, "kendall", SUBJECT, r.dataset)
        if theirs is None or ours is None or theirs == ours:
            continue
        claim = 1 if ours > theirs else -1
        lo, hi = float(r.intrain_minus_lo), float(r.intrain_minus_hi)
        rows.append(
            {
                "space": r.space,
                "dataset": r.dataset,
                "proxy": r.proxy,
                "claim": f"InTrain > {r.proxy}" if claim > 0 else f"{r.proxy} > InTrain",
                "published_intrain": ours,
                "published_proxy": theirs,
                "tau_proxy": r.tau,
                "tau_proxy_lo": r.tau_lo,
                "tau_proxy_hi": r.tau_hi,
                "reproduced": bool(r.tau_lo <= theirs <= r.tau_hi),
                "n": r.n_vs_intrain,
                "intrain_minus": r.intrain_minus,
                "intrain_minus_lo": lo,
                "intrain_minus_hi": hi,
                "verdict": verdict(claim, lo, hi),
                "p_approx": _p_value(float(r.intrain_minus), lo, hi),
                "source": source(r.space, "kendall", r.proxy) or "",
                "blocking": "",
            }
        )
    pairwise = pd.DataFrame(rows, columns=_COLUMNS)
    if not pairwise.empty:
        adjusted = holm(pairwise["p_approx"])
        pairwise["verdict_holm"] = [
            v if v in ("holds", "reversed") and a < 0.05 else (v if v in ("undecided", "no CI") else "undecided")
            for v, a in zip(pairwise["verdict"], adjusted)
        ]
    return pd.concat([pairwise, _strongest(table)], ignore_index=True)[_COLUMNS]


_COLUMNS = [
    "space",
    "dataset",
    "proxy",
    "claim",
    "published_intrain",
    "published_proxy",
    "tau_proxy",
    "tau_proxy_lo",
    "tau_proxy_hi",
    "reproduced",
    "n",
    "intrain_minus",
    "intrain_minus_lo",
    "intrain_minus_hi",
    "verdict",
    "p_approx",
    "verdict_holm",
    "source",
    "blocking",
]


def _strongest(table: pd.DataFrame) -> pd.DataFrame:
    """One `STRONGEST` row per (space, dataset) with at least one single-index proxy paired with InTrain."""
    rows = []
    for (space, dataset), part in table.groupby(["space", "dataset"], sort=False):
        rivals = part[~part["proxy"].isin({SUBJECT, *ENSEMBLES}) & part["intrain_minus_lo"].notna()]
        if rivals.empty:
            continue
        labels = [f"{p}@{v}" if v != "uniform" else p for p, v in zip(rivals["proxy"], rivals["variant"])]
        ahead = [lab for lab, hi in zip(labels, rivals["intrain_minus_hi"]) if hi < 0]
        open_ = [
            lab for lab, lo, hi in zip(labels, rivals["intrain_minus_lo"], rivals["intrain_minus_hi"]) if lo <= 0 <= hi
        ]
        worst = rivals.loc[rivals["intrain_minus"].idxmin()]
        v = "reversed" if ahead else ("undecided" if open_ else "holds")
        rows.append(
            {
                "space": space,
                "dataset": dataset,
                "proxy": STRONGEST,
                "claim": f"InTrain is the {STRONGEST} proxy (against the table's {len(rivals)} rows)",
                "n": worst["n_vs_intrain"],
                "intrain_minus": worst["intrain_minus"],
                "intrain_minus_lo": worst["intrain_minus_lo"],
                "intrain_minus_hi": worst["intrain_minus_hi"],
                "verdict": v,
                "verdict_holm": v,
                "source": "InTrain",
                "blocking": ", ".join(ahead if ahead else open_),
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def _n(value: float) -> str:
    return "–" if pd.isna(value) else str(int(value))


def _cell(r: pd.Series) -> str:
    if r["proxy"] == STRONGEST:
        who = {"reversed": "ahead of InTrain", "undecided": "not separated from InTrain"}.get(r["verdict"], "")
        tail = f"; {who}: {r['blocking']}" if who else f"; closest: {r['intrain_minus']:+.3f}"
        return f"**{r['verdict']}**{tail}"
    text = (
        f"{r['claim']}: **{r['verdict']}** ({r['intrain_minus']:+.3f} "
        f"[{r['intrain_minus_lo']:+.3f}, {r['intrain_minus_hi']:+.3f}], n = {_n(r['n'])})"
    )
    if r["verdict_holm"] != r["verdict"]:
        text += f"; Holm: {r['verdict_holm']}"
    if not r["reproduced"]:
        text += f"; {r['proxy']} τ {r['tau_proxy']:.3f} here, published {r['published_proxy']:.3f} (outside its CI)"
    return text


def claims_markdown(claims: pd.DataFrame) -> str:
    """The claims as one Markdown table per space: a row per proxy, a column per dataset, each cell
    the verdict with τ(InTrain) − τ(proxy) [95 % CI] and n, its Holm verdict where that differs and
    the proxy's own τ where its published one lies outside its CI; the `STRONGEST` row last."""
    out = []
    for space, part in claims.groupby("space", sort=False):
        datasets = list(dict.fromkeys(part["dataset"]))
        out += [
            f"### Ranking claims, {space}",
            "",
            "| proxy | " + " | ".join(datasets) + " |",
            "|---|" + "---|" * len(datasets),
        ]
        names = sorted(p for p in set(part["proxy"]) if p != STRONGEST) + [STRONGEST] * (
            STRONGEST in set(part["proxy"])
        )
        for proxy in names:
            rows = part[part["proxy"] == proxy]
            cells = []
            for d in datasets:
                hit = rows[rows["dataset"] == d]
                cells.append("–" if hit.empty else _cell(hit.iloc[0]))
            other = proxy != STRONGEST and not rows["source"].str.startswith("InTrain").all()
            out.append(f"| {proxy}{' †' if other else ''} | " + " | ".join(cells) + " |")
        pair = part[part["proxy"] != STRONGEST]
        counts = pair["verdict"].value_counts()
        holm_counts = pair["verdict_holm"].value_counts()
        out += [
            "",
            "Pairwise verdicts: "
            + ", ".join(f"{n} {v}" for v, n in counts.items())
            + "; after Holm's correction over the table's pairwise claims: "
            + ", ".join(f"{n} {v}" for v, n in holm_counts.items())
            + ". InTrain under the uniform protocol, each proxy under its reference protocol; † the proxy's "
            "published τ is from another paper than InTrain's; – no reference-protocol row with a published τ "
            "for that proxy and dataset in this table.",
            "",
        ]
    return "\n".join(out)


def display_rows(claims: pd.DataFrame) -> list[dict[str, str]]:
    """The claims as display text, one row per claim (the report's HTML table)."""
    out = []
    for _, r in claims.iterrows():
        strongest = r["proxy"] == STRONGEST
        out.append(
            {
                "space": r["space"],
                "dataset": r["dataset"],
                "claim": r["claim"] + ("" if str(r["source"]).startswith("InTrain") else " †"),
                "n": _n(r["n"]),
                "τ(InTrain) − τ(proxy), paired [95% CI]": (
                    f"{r['intrain_minus']:+.3f} [{r['intrain_minus_lo']:+.3f}, {r['intrain_minus_hi']:+.3f}]"
                    + (" (closest rival)" if strongest else "")
                ),
                "verdict": r["verdict"],
                "after Holm": r["verdict_holm"],
                "note": r["blocking"]
                if strongest
                else ("" if r["reproduced"] else f"published τ {r['published_proxy']:.3f} outside this τ's CI"),
            }
        )
    return out
