"""Tables for reading: values rounded by what the column holds, full precision kept for sorting."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from intrain.core.sinks import html_text

_CORR = re.compile(r"kendall|spearman|tau|rho|corr")
_SECONDS = re.compile(r"seconds|latency|_ms\b|_ms_|_s$|^time|runtime")
_ACCURACY = re.compile(r"acc|top1|ground_truth")
_NO_SEPARATOR = {"seed", "year", "shard"}
_LONG = 40  # characters: longer text cells wrap anywhere (arch strings, paths)
_LAST = {"log", "path", "artifact", "best_arch", "arch", "structure", "device"}  # context, not compared
_IDENTITY = ("space", "dataset", "proxy", "variant", "budget", "batch_size")  # what a row is: stays first
_COUNTS = ("n", "n_copies")  # how many architectures a row is about: beside what it is
_KEY = re.compile(
    r"acc|flops|params|seconds|latency|best_score|^iterations$|n_evaluated"
)  # what a reader compares: right after
#: τ beside the paper's and the difference, before intervals and the rest
_TAU = re.compile(r"^(kendall|kendall_mean|paper_kendall|diff_kendall|minus_shipped)$")
_TALL = 12  # rows: a longer table scrolls in its own box, its header row sticky


def signed(x: float) -> str:
    """``+0.003``, ``-0.125``; a difference that rounds to zero is ``0.000``, never ``-0.000``."""
    text = f"{x:+.3f}"
    return "0.000" if text in ("+0.000", "-0.000") else text


def _is_missing(x: object) -> bool:
    return x is None or (isinstance(x, (float, np.floating)) and not np.isfinite(x)) or x is pd.NA


def _significant(x: float, digits: int = 3) -> str:
    """``digits`` significant figures, thousands separated, never in exponent notation above 1e-3."""
    if x == 0:
        return "0"
    if abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    decimals = max(0, digits - 1 - int(np.floor(np.log10(abs(x)))))
    return f"{x:,.{decimals}f}"


def format_value(column: str, x: object) -> str:
    """A value rounded for reading: 3 decimals for correlations (signed for differences), thousands
    separators for counts, 3 significant figures for times, 2 decimals for accuracies."""
    if _is_missing(x):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    col = str(column).lower()
    if isinstance(x, (int, np.integer)) or (
        isinstance(x, (float, np.floating)) and float(x).is_integer() and not _CORR.search(col) and abs(x) < 1e15
    ):
        return str(int(x)) if col in _NO_SEPARATOR else f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if _CORR.search(col):
            return signed(x) if col.startswith(("diff", "delta")) else f"{x:.3f}"
        if _SECONDS.search(col):
            return _significant(x)
        if _ACCURACY.search(col):
            return f"{x:,.2f}"
        if abs(x) >= 1e4:
            return f"{x:,.0f}"
        if abs(x) >= 100:
            return f"{x:,.1f}"
        if 0 < abs(x) < 1e-3:
            return _significant(x)
        return f"{x:.3f}"
    return str(x)


def header_label(column: str) -> str:
    """``kendall_lo`` -> ``τ lo``: short headers, so that tables fit; the CSV name stays in the title."""
    label = str(column).replace("diff_kendall", "Δτ").replace("diff_spearman", "Δρ")
    label = label.replace("kendall", "τ").replace("spearman", "ρ")
    return label.replace("_", " ")


def key_columns_first(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` reordered so that the numbers a reader compares are on screen at 800 px: what the row
    is (space, dataset, proxy, variant, budget) and its n, then accuracy, FLOPs, params and seconds,
    then τ beside the paper's τ and the difference, then the rest (intervals, ρ, counts), and
    long-text columns (paths, structure strings, logs) last.

    Examples:
        >>> key_columns_first(pd.DataFrame({"log": ["b1/log.h5"], "k": [10], "flops": [4e8], "space": ["zennas"]})).columns.tolist()
        ['space', 'flops', 'k', 'log']
    """
    long = [
        c
        for c in df.columns
        if str(c) in _LAST
        or (df[c].dtype == object and df[c].map(lambda v: isinstance(v, str) and len(v) > _LONG).any())
    ]
    ids = [c for c in df.columns if str(c) in _IDENTITY and c not in long]
    ids += [c for c in df.columns if str(c) in _COUNTS]
    key = [c for c in df.columns if _KEY.search(str(c).lower()) and c not in long and c not in ids]
    key += [c for c in df.columns if _TAU.match(str(c)) and c not in key]
    rest = [c for c in df.columns if c not in long and c not in ids and c not in key]
    return df[ids + key + rest + long]


def html_table(df: pd.DataFrame, *, filterable: bool | None = None, caption: str | None = None) -> str:
    """A sortable table in a horizontal scroll wrapper; numbers rounded for reading, their full
    precision in ``data-v`` (the sort key). ``filterable`` (default: more than 8 rows) adds a filter box.
    Long-text columns go last (`key_columns_first`); a table of more than 12 rows scrolls in its
    own box under a sticky header row."""
    df = key_columns_first(df)
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
    head = "".join(f'<th scope="col" title="{html_text(str(c))}">{html_text(header_label(c))}</th>' for c in df.columns)
    from intrain.analysis.report.verdicts import JUDGE  # here: verdicts imports this module

    n = pd.to_numeric(df["n"], errors="coerce") if "n" in df.columns else pd.Series(np.nan, index=df.index)
    few = [JUDGE.too_small(k) for k in n]
    rows = []
    for row, is_few in zip(df.itertuples(index=False), few):
        cells = []
        for c, v in zip(df.columns, row):
            text = html_text(format_value(c, v))
            if numeric[c]:
                key = "" if _is_missing(v) else repr(float(v))
                cells.append(f'<td class="num" data-v="{key}">{text}</td>')
            elif len(text) > _LONG:
                cells.append(f'<td class="long">{text}</td>')
            else:
                cells.append(f"<td>{text}</td>")
        mark = f' class="few" title="n &lt; {JUDGE.min_n}: too few architectures to judge"' if is_few else ""
        rows.append(f"<tr{mark}>" + "".join(cells) + "</tr>")
    if filterable is None:
        filterable = len(df) > 8
    cls = "sortable filterable" if filterable else "sortable"
    cap = f"<caption class='note'>{html_text(caption)}</caption>" if caption else ""
    box = "scroll tall" if len(df) > _TALL else "scroll"
    note = (
        f'<p class="note few-note">Grey italic rows: n &lt; {JUDGE.min_n}, too few architectures to judge.</p>'
        if any(few)
        else ""
    )
    return (
        f'<div class="{box}"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{note}"
    )
