"""Which of the paper's ranking claims ("InTrain ranks better than proxy P on dataset D") a
protocol table decides.

A comparison is read off the published numbers: InTrain's published τ against the proxy's
(`intrain.analysis.published_tau`), so "InTrain > P" where InTrain's is higher and "P > InTrain"
where it is lower (AZ-NAS on the CIFARs); a tie in the published numbers makes no comparison.
``kind`` says whose claim it is: ``paper`` where both numbers are in the InTrain paper's own table
(its explicit comparisons), ``implied`` where the proxy's number comes from another paper
(``source``; † in the Markdown): the InTrain paper does not compare itself with P there, the
published numbers do. Proxies without a published τ (MeCo, SWAP) make no pairwise comparison;
they enter the ``strongest`` row where the table has rows for them.

The evidence is the table's paired bootstrap CI of τ(InTrain) − τ(P) over the architectures both
scored (`intrain.analysis.comparison`), with InTrain under the uniform protocol (this project's
reproduction of it) and P under the protocol its published number was computed with (the
``reference`` variant):

- ``holds``: the CI excludes 0 on the claimed side;
- ``reversed``: the CI excludes 0 on the other side;
- ``undecided``: the CI contains 0 (this n cannot tell the two apart);
- ``too few``: fewer than `MIN_N` architectures (the report's own threshold); ``no CI``: none.

Caveats are columns, not prose: ``reproduced`` is False where P's published τ lies outside P's
own τ CI here (a "holds" then partly rests on the port scoring away from the published number),
``intrain_reproduced`` the same for InTrain's own τ (from the table's InTrain row, where it has
one); ``tau_intrain`` is InTrain's τ on the same networks. ``verdict_holm`` is the verdict after
Holm's correction over the pairwise comparisons of the same space (one family per space, so a
space's verdicts do not change with the other spaces a table holds). Its p-values are read off
the CI, not the bootstrap draws (the table keeps only the interval): the half of the interval on
the side of 0 taken as a normal 95 % half-width, so that a single comparison is significant
exactly when its CI excludes 0; an estimate on or beyond the end nearer 0, which a percentile
interval allows, gives p 0 or 1 as the interval does). That is an approximation for a percentile
bootstrap.

One row per (space, dataset) tests "InTrain is the strongest single-index proxy" against the
table's rows: every proxy except InTrain itself and the `ENSEMBLES`, under every variant the
table pairs with InTrain (the table pairs InTrain with a proxy's *variant* only, so a proxy's
uniform-protocol comparison enters only where uniform is its variant); ``reversed`` if any of
them is ahead with a CI excluding 0, ``holds`` if InTrain is ahead of all with CIs excluding 0,
else ``undecided``; ``blocking`` names the proxies that decide it. After Holm's correction over
that row's rivals, "reversed" needs a rival ahead whose adjusted p is below 0.05; "holds" needs
no correction (InTrain must beat every rival, an intersection-union test).

Torch-free; reads the comparison table only. Malformed tables (missing columns, non-numeric
values, an infinite value, an interval whose lower end is above its upper end or one of zero
width away from 0, a row without its key, repeated keys) are refused with an `InputError` naming
the problem.

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

import numpy as np
import pandas as pd

from intrain.analysis.published_tau import published, source
from intrain.core.errors import InputError

__all__ = [
    "ENSEMBLES",
    "MIN_N",
    "VARIANT",
    "claims_markdown",
    "display_rows",
    "holm",
    "intrain_uniform_tau",
    "ranking_claims",
    "validate",
    "verdict",
]

#: The proxy variant whose scores test a claim about its published number.
VARIANT = "reference"
#: The proxy the claims are about.
SUBJECT = "intrain"
#: Proxies that combine several indices (AZ-NAS: four ranks; TE-NAS: the ranks of its NTK condition
#: number and its linear-region count), outside "single-index".
ENSEMBLES = frozenset({"az_nas", "tenas"})
#: Fewer paired architectures than this decide nothing (the report's ``JUDGE.min_n``).
MIN_N = 20
#: The label of the per-(space, dataset) row.
STRONGEST = "strongest single-index"
_Z95 = 1.959963984540054
_KEYS = ["space", "dataset", "proxy", "variant"]
_NUMERIC = ["tau", "tau_lo", "tau_hi", "n_vs_intrain", "intrain_minus", "intrain_minus_lo", "intrain_minus_hi"]
_OPTIONAL_NUMERIC = ["n", "tau_uniform", "tau_uniform_lo", "tau_uniform_hi"]
_DECIDED = ("holds", "reversed")


def verdict(claim: int, lo: float, hi: float, n: float = math.nan) -> str:
    """``holds`` / ``reversed`` / ``undecided`` for a claimed sign (+1: InTrain higher) and a CI of
    InTrain − proxy; ``no CI`` where the CI is missing (InTrain not scored on the proxy's networks),
    ``too few`` on fewer than `MIN_N` architectures (an unknown n is not too few).

    Examples:
        >>> verdict(+1, 0.2, 0.4, n=5)
        'too few'
    """
    if math.isnan(lo) or math.isnan(hi):
        return "no CI"
    if not math.isnan(n) and n < MIN_N:
        return "too few"
    if lo > 0 or hi < 0:
        return "holds" if (lo > 0) == (claim > 0) else "reversed"
    return "undecided"


def _p_value(est: float, lo: float, hi: float) -> float:
    """Two-sided p of est = 0 read off a 95 % CI: the half of the interval on the side of 0 as a
    normal half-width (so p < 0.05 exactly when the CI excludes 0); NaN without a usable CI."""
    if any(math.isnan(v) for v in (est, lo, hi)):
        return math.nan
    excludes = lo > 0 or hi < 0
    half = est - lo if est > 0 else hi - est
    if est == 0 or half <= 0:
        # the estimate at 0, or on or beyond the interval's end nearer 0 (a percentile interval
        # need not contain it): no width to read, so p only says what the interval says
        return 0.0 if excludes else 1.0
    return math.erfc(abs(est) / (half / _Z95) / math.sqrt(2))


def holm(p: pd.Series) -> pd.Series:
    """Holm's step-down adjusted p-values (NaN stays NaN).

    Examples:
        >>> holm(pd.Series([0.01, 0.04, 0.03])).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    valid = p.dropna().sort_values(kind="stable")
    m = len(valid)
    adjusted = pd.Series(math.nan, index=p.index)
    running = 0.0
    for i, (key, value) in enumerate(valid.items()):
        running = max(running, min(1.0, (m - i) * value))
        adjusted[key] = running
    return adjusted


def validate(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its numeric columns as floats, or an `InputError` naming what is wrong: a
    missing column, a non-numeric value, a CI whose lower end is above its upper end, a missing
    key, a repeated (space, dataset, proxy, variant).

    Examples:
        >>> validate(pd.DataFrame({"space": ["nb201"]}))
        Traceback (most recent call last):
        ...
        intrain.core.errors.InputError: the protocol table lacks column(s) dataset, proxy, variant, tau, tau_lo, \
tau_hi, n_vs_intrain, intrain_minus, intrain_minus_lo, intrain_minus_hi (is it an `intrain protocol-table --out` CSV?)
    """
    if table.empty and not len(table.columns):
        return pd.DataFrame(columns=[*_KEYS, *_NUMERIC])
    missing = [c for c in [*_KEYS, *_NUMERIC] if c not in table.columns]
    if missing:
        raise InputError(
            f"the protocol table lacks column(s) {', '.join(missing)} (is it an `intrain protocol-table --out` CSV?)"
        )
    out = table.copy()
    for col in [*_NUMERIC, *(c for c in _OPTIONAL_NUMERIC if c in out.columns)]:
        as_num = pd.to_numeric(out[col], errors="coerce")
        bad = as_num.isna() & out[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"the protocol table's column {col!r} holds a non-numeric value {out[col].iloc[i]!r} "
                f"(row {i + 1}: {_key(out.iloc[i])})"
            )
        out[col] = as_num.astype(float)
    for col in _KEYS:
        if out[col].isna().any():
            i = int(np.flatnonzero(out[col].isna().to_numpy())[0])
            raise InputError(f"the protocol table's row {i + 1} has no {col}")
        out[col] = out[col].astype(str)
    for name, lo, hi in (("τ", "tau_lo", "tau_hi"), ("InTrain − proxy", "intrain_minus_lo", "intrain_minus_hi")):
        inverted = out[lo] > out[hi]
        if inverted.any():
            r = out[inverted].iloc[0]
            raise InputError(
                f"the protocol table's {name} interval of {_key(r)} runs backwards ({lo} {r[lo]:.3f} > {hi} "
                f"{r[hi]:.3f}): {int(inverted.sum())} row(s) like it"
            )
    lo, hi = out["intrain_minus_lo"], out["intrain_minus_hi"]
    if np.isinf(out[_NUMERIC].to_numpy()).any():
        r = out[np.isinf(out[_NUMERIC].to_numpy()).any(axis=1)].iloc[0]
        raise InputError(f"the protocol table's row {_key(r)} holds an infinite value")
    flat = (lo == hi) & (lo != 0)
    if flat.any():
        r = out[flat].iloc[0]
        raise InputError(
            f"the protocol table's InTrain − proxy interval of {_key(r)} has zero width at {r['intrain_minus_lo']:+.3f}: "
            "not a bootstrap interval (was it computed with --n-boot 0 or 1?)"
        )
    dup = out[out.duplicated(_KEYS, keep=False)]
    if not dup.empty:
        raise InputError(
            f"the protocol table has {len(dup)} rows for repeated (space, dataset, proxy, variant) keys, "
            f"e.g. {_key(dup.iloc[0])}: one row per key is expected"
        )
    return out


def _key(r: pd.Series) -> str:
    return f"{r['space']}/{r['dataset']}/{r['proxy']}@{r['variant']}"


def intrain_uniform_tau(table: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float, float, float]]:
    """InTrain's own τ under the uniform protocol per (space, dataset), as (τ, lo, hi, n): the
    ``tau`` of its ``uniform`` row where the table has one (a run without InTrain variants, such as
    a heavy-proxy rerun), else the ``tau_uniform`` beside a variant (the relu row); the first such
    row with a τ. The one reader of it for the claims and for merging tables.

    Examples:
        >>> t = pd.DataFrame([dict(space="nb201", dataset="cifar10", proxy="intrain", variant="uniform",
        ...     tau=0.68, tau_lo=0.65, tau_hi=0.70, n=1000)])
        >>> intrain_uniform_tau(t)
        {('nb201', 'cifar10'): (0.68, 0.65, 0.7, 1000.0)}
    """
    own: dict[tuple[str, str], tuple[float, float, float, float]] = {}
    for r in table[table["proxy"] == SUBJECT].to_dict("records"):
        cols = ("tau", "tau_lo", "tau_hi", "n") if r["variant"] == "uniform" else _UNIFORM_OF_VARIANT
        tau, lo, hi, n = (float(r.get(c, math.nan)) for c in cols)
        if not math.isnan(tau):
            own.setdefault((r["space"], r["dataset"]), (tau, lo, hi, n))
    return own


#: Where a variant row keeps the uniform protocol's τ, its CI and its n.
_UNIFORM_OF_VARIANT = ("tau_uniform", "tau_uniform_lo", "tau_uniform_hi", "n_uniform")


def _within(value: float | None, lo: float, hi: float) -> bool | None:
    """Whether ``value`` lies in [lo, hi]; None where either side is unknown."""
    if value is None or math.isnan(lo) or math.isnan(hi):
        return None
    return bool(lo <= value <= hi)


def ranking_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The pairwise comparisons (one row per (space, dataset, proxy) scored under `VARIANT` with a
    published τ beside InTrain's) and one `STRONGEST` row per (space, dataset); see the module
    docstring for the columns.

    Examples:
        >>> t = pd.DataFrame([dict(space="nb201", dataset="cifar10", proxy="zico", variant="reference",
        ...     tau=0.60, tau_lo=0.57, tau_hi=0.63, n_vs_intrain=1000, intrain_minus=0.08,
        ...     intrain_minus_lo=0.07, intrain_minus_hi=0.09)])
        >>> ranking_claims(t)[["proxy", "claim", "kind", "verdict"]].to_dict("records")[0]
        {'proxy': 'zico', 'claim': 'InTrain > zico', 'kind': 'paper', 'verdict': 'holds'}
    """
    table = validate(table)
    own = intrain_uniform_tau(table)
    rows = []
    for r in table.to_dict("records"):
        if r["proxy"] == SUBJECT or r["variant"] != VARIANT:
            continue
        theirs = published(r["space"], "kendall", r["proxy"], r["dataset"])
        ours = published(r["space"], "kendall", SUBJECT, r["dataset"])
        if theirs is None or ours is None or theirs == ours:
            continue
        claim = 1 if ours > theirs else -1
        est, lo, hi = r["intrain_minus"], r["intrain_minus_lo"], r["intrain_minus_hi"]
        if math.isnan(est):
            lo = hi = math.nan  # an interval without its estimate is no evidence
        src = source(r["space"], "kendall", r["proxy"]) or ""
        n_proxy = r.get("n", math.nan)
        same = not math.isnan(n_proxy) and n_proxy == r["n_vs_intrain"]
        mine = own.get((r["space"], r["dataset"]))
        rows.append(
            {
                "space": r["space"],
                "dataset": r["dataset"],
                "proxy": r["proxy"],
                "claim": f"InTrain > {r['proxy']}" if claim > 0 else f"{r['proxy']} > InTrain",
                "kind": "paper" if src.startswith("InTrain") else "implied",
                "published_intrain": ours,
                "published_proxy": theirs,
                "tau_proxy": r["tau"],
                "tau_proxy_lo": r["tau_lo"],
                "tau_proxy_hi": r["tau_hi"],
                "reproduced": _within(theirs, r["tau_lo"], r["tau_hi"]),
                "tau_intrain": r["tau"] + est if same else math.nan,
                "intrain_reproduced": None if mine is None else _within(ours, mine[1], mine[2]),
                "n": r["n_vs_intrain"],
                "intrain_minus": est,
                "intrain_minus_lo": lo,
                "intrain_minus_hi": hi,
                "verdict": verdict(claim, lo, hi, r["n_vs_intrain"]),
                "p_approx": _p_value(est, lo, hi),
                "source": src,
                "blocking": "",
            }
        )
    pairwise = pd.DataFrame(rows, columns=_COLUMNS)
    if not pairwise.empty:
        tested = pairwise["verdict"].isin([*_DECIDED, "undecided"])
        adjusted = pd.Series(math.nan, index=pairwise.index)
        for _, part in pairwise[tested].groupby("space", sort=False):
            adjusted[part.index] = holm(part["p_approx"])
        pairwise["p_holm"] = adjusted
        pairwise["verdict_holm"] = [
            (v if a < 0.05 else "undecided") if v in _DECIDED else v for v, a in zip(pairwise["verdict"], adjusted)
        ]
    return pd.concat([pairwise, _strongest(table)], ignore_index=True)[_COLUMNS]


_COLUMNS = [
    "space",
    "dataset",
    "proxy",
    "claim",
    "kind",
    "published_intrain",
    "published_proxy",
    "tau_proxy",
    "tau_proxy_lo",
    "tau_proxy_hi",
    "reproduced",
    "tau_intrain",
    "intrain_reproduced",
    "n",
    "intrain_minus",
    "intrain_minus_lo",
    "intrain_minus_hi",
    "verdict",
    "p_approx",
    "p_holm",
    "verdict_holm",
    "source",
    "blocking",
]


def _strongest(table: pd.DataFrame) -> pd.DataFrame:
    """One `STRONGEST` row per (space, dataset) with at least one single-index proxy paired with InTrain.

    A rival without a CI (InTrain not scored on its networks) or on fewer than `MIN_N` networks
    cannot be beaten or lose: it keeps the row from "holds" and is named in ``blocking``."""
    rows = []
    for (space, dataset), part in table.groupby(["space", "dataset"], sort=False):
        rivals = part[~part["proxy"].isin({SUBJECT, *ENSEMBLES})]
        if not (rivals["n_vs_intrain"].notna() | rivals["intrain_minus_lo"].notna()).any():
            continue  # InTrain paired with none of them (not scored here): nothing to test
        labels = pd.Series(
            [f"{p}@{v}" if v != "uniform" else p for p, v in zip(rivals["proxy"], rivals["variant"])],
            index=rivals.index,
        )
        est, lo, hi = rivals["intrain_minus"], rivals["intrain_minus_lo"], rivals["intrain_minus_hi"]
        usable = est.notna() & lo.notna() & hi.notna() & ~(rivals["n_vs_intrain"] < MIN_N)
        ahead, behind = usable & (hi < 0), usable & (lo > 0)
        p = pd.Series([_p_value(e, a, b) for e, a, b in zip(est, lo, hi)], index=rivals.index, dtype=float)
        adjusted = holm(p[usable])
        ahead_after = [i for i in rivals.index[ahead] if adjusted.get(i, math.nan) < 0.05]
        v = "reversed" if ahead.any() else ("holds" if behind.all() else "undecided")
        v_holm = "reversed" if ahead_after else ("holds" if behind.all() else "undecided")
        blocking = list(labels[ahead]) if ahead.any() else list(labels[~behind])
        if usable.any():
            worst = rivals.loc[est[usable].idxmin()]
            closest = {k: worst[k] for k in ("n_vs_intrain", "intrain_minus", "intrain_minus_lo", "intrain_minus_hi")}
        else:
            closest = dict.fromkeys(("n_vs_intrain", "intrain_minus", "intrain_minus_lo", "intrain_minus_hi"), math.nan)
        rows.append(
            {
                "space": space,
                "dataset": dataset,
                "proxy": STRONGEST,
                "claim": f"InTrain is the {STRONGEST} proxy (against the table's {len(rivals)} rows)",
                "kind": "paper",
                "n": closest["n_vs_intrain"],
                "intrain_minus": closest["intrain_minus"],
                "intrain_minus_lo": closest["intrain_minus_lo"],
                "intrain_minus_hi": closest["intrain_minus_hi"],
                "verdict": v,
                "verdict_holm": v_holm,
                "source": "InTrain",
                "blocking": ", ".join(blocking),
            }
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def _n(value: float) -> str:
    return "–" if pd.isna(value) else str(int(value))


def _ci_text(r: pd.Series) -> str:
    if pd.isna(r["intrain_minus_lo"]):
        return "no CI: InTrain not scored on these networks"
    return f"{r['intrain_minus']:+.3f} [{r['intrain_minus_lo']:+.3f}, {r['intrain_minus_hi']:+.3f}], n = {_n(r['n'])}"


def _cell(r: pd.Series) -> str:
    if r["proxy"] == STRONGEST:
        who = {"reversed": "ahead of InTrain", "undecided": "not separated from InTrain"}.get(r["verdict"], "")
        tail = f"; {who}: {r['blocking']}" if who else f"; strongest rival: {r['intrain_minus']:+.3f}"
        if pd.isna(r["intrain_minus"]):
            tail += " (no rival with a CI)"
        holm_note = f"; Holm: {r['verdict_holm']}" if r["verdict_holm"] != r["verdict"] else ""
        return f"**{r['verdict']}**{tail}{holm_note}"
    text = f"{r['claim']}: **{r['verdict']}** ({_ci_text(r)})"
    if r["verdict_holm"] != r["verdict"]:
        text += f"; Holm: {r['verdict_holm']}"
    if r["reproduced"] is False:
        text += f"; {r['proxy']} τ {r['tau_proxy']:.3f} here, published {r['published_proxy']:.3f} (outside its CI)"
    return text


def _counts(part: pd.DataFrame, column: str) -> str:
    counts = part[column].value_counts()
    return ", ".join(f"{n} {v}" for v, n in counts.items()) or "none"


def claims_markdown(claims: pd.DataFrame, table: pd.DataFrame | None = None) -> str:
    """The claims as one Markdown table per space: a row per proxy, a column per dataset, each cell
    the verdict with τ(InTrain) − τ(proxy) [95 % CI] and n, its Holm verdict where that differs and
    the proxy's own τ where its published one lies outside its CI; the `STRONGEST` row last; under
    it the verdict counts per kind and, where InTrain's own τ here misses its published value, that.
    ``table`` (the protocol table the claims came from) adds InTrain's own τ to that line."""
    out = []
    own = intrain_uniform_tau(validate(table)) if table is not None else {}
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
            implied = proxy != STRONGEST and (rows["kind"] == "implied").all()
            out.append(f"| {proxy}{' †' if implied else ''} | " + " | ".join(cells) + " |")
        pair = part[part["proxy"] != STRONGEST]
        if pair.empty:
            summary = (
                "No pairwise comparison: no proxy of this table has a published τ beside InTrain's for these "
                f"datasets ({', '.join(datasets)}; the published table's names are case-sensitive)."
            )
        else:
            summary = "; ".join(
                f"{label} ({len(sub)}): {_counts(sub, 'verdict')}, after Holm's correction {_counts(sub, 'verdict_holm')}"
                for label, sub in (
                    ("the paper's own comparisons", pair[pair["kind"] == "paper"]),
                    ("implied by other papers' numbers †", pair[pair["kind"] == "implied"]),
                )
                if not sub.empty
            )
            summary = f"Pairwise verdicts, {summary}."
        missed = _missed_lines(space, pair, own)
        if pair.empty:
            out += ["", summary + missed, ""]
            continue
        out += [
            "",
            summary
            + f" Holm's correction runs over this space's {int(pair['verdict'].isin([*_DECIDED, 'undecided']).sum())} "
            "tested comparisons, with p read off each CI (approximate); fewer than "
            f"{MIN_N} networks decide nothing (`too few`). InTrain under the uniform protocol, each proxy under its "
            "reference protocol; † the proxy's published τ is from another paper than InTrain's, which makes no "
            "pairwise comparison with it; – no reference-protocol row with a published τ for that proxy and dataset "
            "in this table." + missed,
            "",
        ]
    return "\n".join(out)


def _missed_lines(space: str, pair: pd.DataFrame, own: dict[tuple[str, str], tuple[float, float, float, float]]) -> str:
    """A sentence naming the datasets where InTrain's own τ here misses its published value."""
    missed = []
    for (sp, dataset), (tau, lo, hi, _) in own.items():
        ours = published(sp, "kendall", SUBJECT, dataset)
        if sp == space and _within(ours, lo, hi) is False:
            missed.append(f"{dataset} τ {tau:.3f} [{lo:.3f}, {hi:.3f}] against {ours:.3f} published")
    if not missed:
        rows = pair[pair["intrain_reproduced"] == False]  # noqa: E712 (a column of True/False/None)
        missed = sorted(set(rows["dataset"]))
    if not missed:
        return ""
    return (
        " **InTrain's own τ here misses its published value** ("
        + "; ".join(missed)
        + "): these verdicts compare the proxies with this reproduction of InTrain, not with the paper's."
    )


def display_rows(claims: pd.DataFrame) -> list[dict[str, str]]:
    """The claims as display text, one row per claim (the report's HTML table)."""
    out = []
    for _, r in claims.iterrows():
        strongest = r["proxy"] == STRONGEST
        if strongest:
            who = {"reversed": "ahead of InTrain: ", "undecided": "not separated from InTrain: "}
            note = who.get(r["verdict"], "") + r["blocking"]
        elif r["reproduced"] is False:
            note = f"published τ {r['published_proxy']:.3f} outside this τ's CI"
        else:
            note = ""
        if not strongest and r["intrain_reproduced"] is False:
            note = (note + "; " if note else "") + "InTrain's own published τ outside its CI here"
        out.append(
            {
                "space": r["space"],
                "dataset": r["dataset"],
                "claim": r["claim"] + (" †" if r["kind"] == "implied" else ""),
                "n": _n(r["n"]),
                "τ(InTrain) − τ(proxy), paired [95% CI]": (
                    "no CI"
                    if pd.isna(r["intrain_minus_lo"])
                    else f"{r['intrain_minus']:+.3f} [{r['intrain_minus_lo']:+.3f}, {r['intrain_minus_hi']:+.3f}]"
                    + (" (the strongest rival)" if strongest else "")
                ),
                "verdict": r["verdict"],
                "after Holm": r["verdict_holm"],
                "note": note,
            }
        )
    return out
