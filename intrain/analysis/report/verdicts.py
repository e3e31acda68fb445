"""The headline: InTrain's τ beside the published values, one verdict per benchmark.

A verdict needs an interval that can tell: a benchmark scored on too few architectures (n below
`JUDGE`'s ``min_n``, or a 95 % CI of τ wider than its ``max_ci_width``) is reported as
"too few architectures to judge", greyed in the heatmap, without ✓/✗, and is not counted in
"reproduces on k of m".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypedDict

import matplotlib
import numpy as np
import pandas as pd

from intrain.analysis.correlate import is_component
from intrain.analysis.published_tau import source
from intrain.analysis.report.tables import signed
from intrain.core.sinks import html_text

OWN_PROXY = "intrain"


@dataclass(frozen=True)
class JudgeRule:
    """When a correlation row can be judged against a published τ at all.

    Examples:
        >>> JUDGE.too_few(n=4, lo=-1.0, hi=1.0)
        True
        >>> JUDGE.too_few(n=100, lo=0.60, hi=0.78)
        False
        >>> JUDGE.too_few(n=97, lo=0.230, hi=0.531, paper=0.616)  # wide, but the published value is outside
        False
        >>> JUDGE.too_few(n=97, lo=0.230, hi=0.531, paper=0.400)
        True
    """

    #: a 95 % bootstrap CI of τ wider than this cannot separate a reproduction from a miss
    max_ci_width: float = 0.3
    #: fewer architectures than this: too few to judge, whatever the interval says
    min_n: int = 20

    def too_few(self, n: float, lo: float, hi: float, paper: float = float("nan")) -> bool:
        """A wide interval that excludes the published value still decides a miss: only a wide
        interval containing it (or with none to compare with) cannot tell."""
        if self.too_small(n):
            return True
        wide = bool(np.isfinite(lo) and np.isfinite(hi) and abs(hi - lo) > self.max_ci_width)
        if wide and np.isfinite(paper) and not min(lo, hi) <= paper <= max(lo, hi):
            return False
        return wide

    def too_small(self, n: float) -> bool:
        """Fewer architectures than `min_n` (an unknown n is not too small)."""
        return bool(np.isfinite(n) and n < self.min_n)

    def describe(self) -> str:
        return (
            f"n < {self.min_n}, or a 95 % CI of τ wider than {self.max_ci_width} that contains the published "
            "value; a wide interval that excludes it still decides ✗"
        )


#: The one place the report's judging thresholds live (the heatmap legend and the headline state them).
JUDGE = JudgeRule()
WIDE_CI = JUDGE.max_ci_width  #: kept for callers of the earlier name


def _num(row: object, key: str) -> float:
    raw: Any = row.get(key) if hasattr(row, "get") else None  # None: float() raises TypeError, nan below
    try:
        v = float(raw)
    except (TypeError, ValueError):
        return float("nan")
    return v


def too_few(row: object) -> bool:
    """Whether ``row``'s sample is too small (`JUDGE`) for its τ to be judged."""
    return JUDGE.too_few(_num(row, "n"), _num(row, "kendall_lo"), _num(row, "kendall_hi"), _num(row, "paper_kendall"))


def reproduction(row: pd.Series) -> str:
    """One correlation row against its published τ: ``reproduces`` (the published value lies in the
    bootstrap CI), ``differs`` (outside it), ``too-few`` (`JUDGE`: the sample cannot tell),
    ``no-ci`` (no interval to judge), ``no-paper``, ``undefined``."""
    tau, paper = _num(row, "kendall"), _num(row, "paper_kendall")
    lo, hi = _num(row, "kendall_lo"), _num(row, "kendall_hi")
    if not np.isfinite(tau):
        return "undefined"
    if not np.isfinite(paper):
        return "no-paper"
    if too_few(row):
        return "too-few"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no-ci"
    return "reproduces" if min(lo, hi) <= paper <= max(lo, hi) else "differs"


def _benchmarks(corr: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(corr["space"], corr["dataset"])))


def n_text(row: object, inner: bool = False) -> str:
    """``n = 100 (80 scored, 20 isomorphic copies)`` where the row counts copies, else ``n = 100``;
    ``inner`` (inside parentheses already): ``n = 100: 80 scored, 20 isomorphic copies``."""
    n, copies = _num(row, "n"), _num(row, "n_copies")
    if not np.isfinite(n):
        return ""
    if np.isfinite(copies) and copies > 0:
        detail = f"{int(n - copies):,} scored, {int(copies):,} isomorphic copies"
        return f"n = {int(n):,}: {detail}" if inner else f"n = {int(n):,} ({detail})"
    return f"n = {int(n):,}"


def _ci(row: pd.Series) -> str:
    lo, hi = _num(row, "kendall_lo"), _num(row, "kendall_hi")
    parts = []
    if np.isfinite(lo) and np.isfinite(hi):
        parts.append(f"95 % CI {lo:.3f} to {hi:.3f}")
    if n_text(row):
        parts.append(n_text(row, inner=True))
    return f" ({'; '.join(parts)})" if parts else ""


class Verdict(TypedDict):
    """One benchmark's line of `headline`."""

    benchmark: str
    verdict: str
    sentence: str
    wide: bool
    others_reproduced: int
    others_published: int


def headline(corr: pd.DataFrame, proxy: str = OWN_PROXY) -> list[Verdict]:
    """One verdict per benchmark (space/dataset) on whether ``proxy`` reproduces its published τ:
    ``{'benchmark', 'verdict', 'sentence', 'others_reproduced', 'others_published'}``."""
    main = corr[~is_component(corr["proxy"])]
    out: list[Verdict] = []
    for space, dataset in _benchmarks(main):
        rows = main[(main["space"] == space) & (main["dataset"] == dataset)]
        label = f"{space}/{dataset}"
        others = [reproduction(r) for _, r in rows[rows["proxy"] != proxy].iterrows()]
        judged = [v for v in others if v in ("reproduces", "differs")]
        own = rows[rows["proxy"] == proxy]
        if own.empty:
            verdict, text = "absent", f"{proxy} was not scored on this benchmark."
        else:
            r = own.iloc[0]
            verdict = reproduction(r)
            tau, paper = _num(r, "kendall"), _num(r, "paper_kendall")
            d = tau - paper
            side = "above" if d > 0 else "below"
            if verdict == "undefined":
                text = "InTrain's τ is undefined here (constant scores or too few architectures)."
            elif verdict == "no-paper":
                text = f"InTrain's τ = {tau:.3f}{_ci(r)}; no published value to compare with."
            elif verdict == "reproduces":
                text = (
                    f"InTrain's τ = {tau:.3f}{_ci(r)} reproduces the published {paper:.3f}: the published "
                    f"value lies inside the bootstrap interval (Δ {signed(d)})."
                )
            elif verdict == "too-few":
                text = (
                    f"InTrain's τ = {tau:.3f}{_ci(r)} beside the published {paper:.3f}: too few architectures "
                    f"to judge ({JUDGE.describe()}); not counted."
                )
            elif verdict == "differs":
                text = (
                    f"InTrain's τ = {tau:.3f}{_ci(r)} does not reproduce the published {paper:.3f}: it is "
                    f"{abs(d):.3f} {side} it, outside the bootstrap interval."
                )
            else:
                text = (
                    f"InTrain's τ = {tau:.3f}{_ci(r)} is {abs(d):.3f} {side} the published {paper:.3f}; "
                    f"no bootstrap interval to judge it by (correlation.n_boot = 0)."
                )
        wide = verdict == "too-few"
        if judged:
            k = judged.count("reproduces")
            text += f" Other proxies: {k} of {len(judged)} with a published value reproduce it."
        out.append(
            {
                "benchmark": label,
                "verdict": verdict,
                "sentence": f"{label}: {text}",
                "wide": wide,
                "others_reproduced": judged.count("reproduces"),
                "others_published": len(judged),
            }
        )
    return out


_MARK = {"reproduces": "✓", "differs": "✗", "no-ci": "", "too-few": ""}
TOO_FEW_TEXT = "too few architectures to judge"
_BADGE = {
    "reproduces": ("ok", "reproduces"),
    "differs": ("differs", "differs"),
    "no-ci": ("open", "no CI"),
    "too-few": ("open", TOO_FEW_TEXT),
    "no-paper": ("open", "no paper value"),
    "undefined": ("open", "undefined"),
    "absent": ("open", "not scored"),
}


def _colour(tau: float) -> tuple[str, str]:
    """Background (diverging, τ = -1 red .. 0 white .. 1 blue) and a readable text colour."""
    rgba = matplotlib.colormaps["RdBu"]((float(np.clip(tau, -1, 1)) + 1) / 2)
    lum = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
    return matplotlib.colors.to_hex(rgba), ("#111" if lum > 0.5 else "#fff")


def heatmap_table(corr: pd.DataFrame, proxy: str = OWN_PROXY) -> str:
    """Proxies × space/dataset, each cell τ coloured, with the published τ and the difference where
    the paper gives one; a tooltip holds the interval and the verdict."""
    main = corr[~is_component(corr["proxy"])]
    benches = _benchmarks(main)
    proxies = list(dict.fromkeys(main["proxy"]))
    if proxy in proxies:
        proxies.remove(proxy)
        proxies.insert(0, proxy)
    by = {(r["proxy"], r["space"], r["dataset"]): r for _, r in main.iterrows()}

    def breakable(text: str) -> str:  # line breaks after _ - / only, never inside a word
        return re.sub(r"([_/-])", r"\1<wbr>", html_text(text))

    def column_too_few(s: str, d: str) -> bool:  # every scored proxy of the benchmark too few to judge
        rows = [r for (p, s2, d2), r in by.items() if (s2, d2) == (s, d) and np.isfinite(_num(r, "kendall"))]
        return bool(rows) and all(too_few(r) for r in rows)

    head = '<th scope="col">proxy</th>' + "".join(
        f'<th scope="col" title="{html_text(s)}/{html_text(d)}">{breakable(f"{s}/{d}")}'
        + (f'<span class="few">{TOO_FEW_TEXT}</span>' if column_too_few(s, d) else "")
        + "</th>"
        for s, d in benches
    )
    rows = []
    for p in proxies:
        cells = [f'<th scope="row">{html_text(p)}</th>']
        for s, d in benches:
            r = by.get((p, s, d))
            tau = _num(r, "kendall") if r is not None else float("nan")
            if r is None or not np.isfinite(tau):
                why = "not scored" if r is None else "undefined τ"
                cells.append(f'<td class="na" data-v="" title="{html_text(f"{p} on {s}/{d}: {why}")}">–</td>')
                continue
            bg, fg = ("#eceff3", "#555") if too_few(r) else _colour(tau)
            verdict = reproduction(r)
            paper = _num(r, "paper_kendall")
            tip = f"{p} on {s}/{d}: τ = {tau:.4f}{_ci(r)}"
            pub = ""
            if np.isfinite(paper):
                mark = _MARK.get(verdict, "")
                pub = (
                    f'<span class="pub">paper {paper:.3f}</span>'
                    f'<span class="pub">{signed(tau - paper)}{" " + mark if mark else ""}</span>'
                )
                tip += (
                    f"; paper {paper:.3f}, Δ {signed(tau - paper)}: "
                    + {
                        "reproduces": "reproduces (published value inside the CI)",
                        "differs": "differs (published value outside the CI)",
                        "no-ci": "no CI to judge",
                        "too-few": f"{TOO_FEW_TEXT} ({JUDGE.describe()})",
                    }[verdict]
                )
            paper_rho, rho = _num(r, "paper_spearman"), _num(r, "spearman")
            if not np.isfinite(paper) and np.isfinite(paper_rho) and np.isfinite(rho):
                # the paper states Spearman only (MeCo, SWAP): compare like with like, in ρ
                pub = f'<span class="pub">paper ρ {paper_rho:.2f}</span><span class="pub">ours ρ {rho:.3f}</span>'
                tip += f"; paper ρ {paper_rho:.3f} (Spearman; no published τ), ours ρ {rho:.3f}"
            if too_few(r) and not np.isfinite(paper):
                tip += f"; {TOO_FEW_TEXT} ({JUDGE.describe()})"
            cls = ' class="few"' if too_few(r) else ""
            cells.append(
                f'<td data-v="{tau!r}"{cls} style="background:{bg};color:{fg}" title="{html_text(tip)}">'
                f'<span class="tau">{tau:.3f}</span>{pub}</td>'
            )
        rows.append(f"<tr{' class=own' if p == proxy else ''}>" + "".join(cells) + "</tr>")
    ramp = ", ".join(_colour(t)[0] for t in np.linspace(-1, 1, 9))
    metrics = set(main["metric"].dropna()) if "metric" in main else {"test"}
    accuracy = (
        {"test": "test", "valid": "validation"}.get(next(iter(metrics)), "test")
        if len(metrics) == 1
        else "test/validation"
    )
    legend = (
        f'<p class="legend"><span>τ: −1<span class="ramp" style="background:linear-gradient(to right, {ramp})">'
        f"</span>+1</span><span>small print: the published τ and the difference (measured − paper); "
        f"where a paper gives Spearman's ρ only, both ρ</span>"
        f"<span>✓ published value inside the 95 % bootstrap CI; ✗ outside it</span>"
        f'<span><span class="swatch few"></span>grey: {TOO_FEW_TEXT} ({html_text(JUDGE.describe())}), '
        f"no ✓/✗, not counted</span>"
        f"<span>– not scored or undefined; hover a cell for its CI and n</span></p>"
        f"{sources_note(main)}"
    )
    return (
        f'<div class="scroll"><table class="heatmap sortable" id="heatmap">'
        f'<caption class="note">Kendall τ against {accuracy} accuracy; click a column to rank the proxies on it</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{legend}"
    )


def sources_note(corr: pd.DataFrame) -> str:
    """Where each published value shown comes from (``intrain/data/published.yaml``), grouped by paper,
    so a reader can tell the InTrain paper's numbers from those quoted from the baselines' papers."""
    by_source: dict[str, list[str]] = {}
    for _, r in corr.iterrows():
        for metric, key in (("kendall", "paper_kendall"), ("spearman", "paper_spearman")):
            if not np.isfinite(_num(r, key)):
                continue
            where = source(str(r["space"]), metric, str(r["proxy"]))
            if where:
                label = f"{r['proxy']} ({r['space']}{', ρ' if metric == 'spearman' else ''})"
                by_source.setdefault(where, [])
                if label not in by_source[where]:
                    by_source[where].append(label)
    if not by_source:
        return ""
    items = "; ".join(f"{html_text(src)}: {html_text(', '.join(names))}" for src, names in by_source.items())
    return f'<p class="note" id="paper-sources">Published values, by source: {items}.</p>'


def headline_html(corr: pd.DataFrame, proxy: str = OWN_PROXY) -> str:
    verdicts = headline(corr, proxy)
    judged = [v for v in verdicts if v["verdict"] in ("reproduces", "differs")]
    few = [v["benchmark"] for v in verdicts if v["verdict"] == "too-few"]
    apart = f" Not counted, {TOO_FEW_TEXT} ({JUDGE.describe()}): {', '.join(few)}." if few else ""
    if judged:
        k = sum(v["verdict"] == "reproduces" for v in judged)
        summary = (
            f"InTrain reproduces the published Kendall τ on {k} of {len(judged)} "
            f"benchmark{'s' if len(judged) != 1 else ''} with a published value and an interval that can tell."
        )
    elif few:
        summary = "No benchmark of this run has enough architectures to judge InTrain against the published τ."
    elif any(v["verdict"] == "no-ci" for v in verdicts):
        summary = "InTrain's τ beside the published values (no bootstrap intervals in this run to judge by)."
    else:
        summary = "No published InTrain values to compare with in this run."
    items = "".join(
        f'<li><span class="badge {_BADGE[v["verdict"]][0]}">{_BADGE[v["verdict"]][1]}</span>'
        f"{html_text(v['sentence'])}</li>"
        for v in verdicts
    )
    return (
        f'<p class="summary">{html_text(summary)}</p>'
        + (f'<p class="note">{html_text(apart.strip())}</p>' if apart else "")
        + f'{heatmap_table(corr, proxy)}<ul class="verdicts">{items}</ul>'
    )
