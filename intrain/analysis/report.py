"""The HTML report: a headline (τ heatmap beside the paper's values, one verdict per benchmark),
then every study table, seaborn figures and provenance, each a section of a table of contents.

Self-contained and offline: tables sort (click a header) and filter (a box above long tables)
with a few lines of embedded JavaScript; numbers are rounded for reading, full precision stays
in the CSVs beside the page. The layout fits 1280 px and 800 px wide windows; ``intrain
render-check`` (:mod:`intrain.analysis.render`) checks that in headless Chromium.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from intrain.analysis.correlate import is_component, proxy_columns
from intrain.analysis.groundtruth import GroundTruths, accuracy_column
from intrain.core.artifacts import read_attrs, read_population_rules, read_scores, versions
from intrain.core.errors import InputError
from intrain.core.ranking import add_population_scores
from intrain.core.sinks import html_text, plot_text, read_csv, slug, write_csv

_CSS = """*,*::before,*::after{box-sizing:border-box}
html{font-size:16px;-webkit-text-size-adjust:100%}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;line-height:1.5;color:#1f2328;
 max-width:80rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:2rem;line-height:1.2;margin:0 0 .4rem}
h2{font-size:1.45rem;line-height:1.25;margin:2.6rem 0 .6rem;padding-top:.8rem;border-top:1px solid #e1e4e8}
p,li{max-width:50rem}
a{color:#0b57a4}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
.note{color:#555;font-size:.9rem}
.lede{font-size:1.05rem;color:#444;margin-top:0}
.summary{font-size:1.15rem;font-weight:600}
.verdicts{padding-left:1.2rem}.verdicts li{margin:.35rem 0}
.badge{display:inline-block;font-size:.75rem;font-weight:700;padding:0 .45rem;border-radius:.6rem;margin-right:.3rem;
 vertical-align:.1em}
.badge.ok{background:#d7f0dc;color:#14532d}.badge.differs{background:#fbdada;color:#7f1d1d}
.badge.open{background:#eceff3;color:#374151}
.scroll{overflow-x:auto;max-width:100%;margin:.6rem 0 1.4rem}
table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:.3rem .55rem;text-align:left;vertical-align:top}
thead th{background:#f3f4f6;font-weight:600;vertical-align:bottom}
tbody tr:nth-child(even){background:#fafbfc}
td{white-space:nowrap}td.num{text-align:right}
td.long{white-space:normal;overflow-wrap:anywhere;min-width:14rem}
caption{text-align:left;padding:.2rem 0}
th[aria-sort]{cursor:pointer;user-select:none}
th[aria-sort]::after{content:" \\2195";color:#9aa0a6;font-weight:400}
th[aria-sort=ascending]::after{content:" \\25B2";color:#1f2328}
th[aria-sort=descending]::after{content:" \\25BC";color:#1f2328}
.filter{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap;margin:.4rem 0 -.2rem;font-size:.85rem;color:#555}
.filter input{font:inherit;padding:.25rem .5rem;border:1px solid #c4c9d0;border-radius:4px;width:min(18rem,100%)}
.heatmap td{text-align:center;min-width:5.4rem;padding:.3rem .25rem;white-space:nowrap}
.heatmap td.na{background:#f3f4f6;color:#888}
.heatmap .tau{display:block;font-size:1.05rem;font-weight:650}
.heatmap .pub{display:block;font-size:.72rem;line-height:1.25}
.heatmap thead th{min-width:5.4rem}
.heatmap tbody th{text-align:left;white-space:nowrap;vertical-align:middle}
.heatmap tr.own th{font-weight:700}
.legend{font-size:.85rem;color:#444;display:flex;flex-wrap:wrap;gap:.4rem 1.4rem;align-items:center}
.ramp{display:inline-block;width:9rem;height:.8rem;border:1px solid #ccc;vertical-align:middle;margin:0 .3rem}
nav#contents ol{columns:2 17rem;padding-left:1.4rem;margin:.3rem 0}
img{max-width:100%;height:auto;display:block;margin:1rem 0}
.prov{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.78rem;white-space:pre-wrap;
 overflow-wrap:anywhere;background:#f6f8fa;padding:1rem;max-height:32rem;overflow:auto}
@media (max-width:900px){html{font-size:15px}body{padding:1rem .8rem 3rem}h1{font-size:1.7rem}h2{font-size:1.3rem}}"""

#: Sort (click a header; numbers by their full-precision ``data-v``) and filter (a box above each
#: table marked ``filterable``) -- the page's only script, no network.
_TABLE_JS = """<script>
(function () {
  function numeric(rows, col) {
    return rows.every(function (r) { var c = r.cells[col]; return !c || c.hasAttribute('data-v'); });
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0], rows = Array.from(body.rows), num = numeric(rows, col);
    var first = num ? 'descending' : 'ascending', other = num ? 'ascending' : 'descending';
    var dir = th.getAttribute('aria-sort') === first ? other : first, sign = dir === 'ascending' ? 1 : -1;
    rows.sort(function (a, b) {
      var x = a.cells[col], y = b.cells[col];
      if (!x || !y) return 0;
      if (num) {
        var p = parseFloat(x.getAttribute('data-v')), q = parseFloat(y.getAttribute('data-v'));
        if (isNaN(p)) return isNaN(q) ? 0 : 1;
        if (isNaN(q)) return -1;
        return sign * (p - q);
      }
      return sign * x.textContent.localeCompare(y.textContent, undefined, {numeric: true});
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.from(th.parentNode.cells).forEach(function (h) { h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', dir);
  }
  function filter(table, input, count) {
    var terms = input.value.toLowerCase().split(/\\s+/).filter(Boolean), shown = 0, rows = table.tBodies[0].rows;
    Array.from(rows).forEach(function (r) {
      var text = r.textContent.toLowerCase();
      r.hidden = !terms.every(function (t) { return text.indexOf(t) >= 0; });
      if (!r.hidden) shown++;
    });
    count.textContent = terms.length ? shown + ' of ' + rows.length + ' rows' : rows.length + ' rows';
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) return;
    var heads = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.from(heads).forEach(function (th, col) {
      th.setAttribute('aria-sort', 'none');
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortBy(table, col, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, col, th); }
      });
    });
    if (table.classList.contains('filterable')) {
      var box = document.createElement('div'), input = document.createElement('input'),
          count = document.createElement('span');
      box.className = 'filter';
      input.type = 'search';
      input.placeholder = 'filter rows (all words must match)';
      input.setAttribute('aria-label', 'filter the rows of the table below');
      box.appendChild(input);
      box.appendChild(count);
      var anchor = table.parentNode.classList.contains('scroll') ? table.parentNode : table;
      anchor.parentNode.insertBefore(box, anchor);
      input.addEventListener('input', function () { filter(table, input, count); });
      filter(table, input, count);
    }
  });
})();
</script>"""

#: Study CSVs the report knows, in page order: key -> (title, explanation).
STUDIES: dict[str, tuple[str, str]] = {
    "ablation": (
        "Ablation (components and couplings)",
        "Recomputed from the per-layer and per-parameter statistics stored in the main run's "
        "artifacts; no network was rerun. minus_shipped: τ(variant) − τ(shipped score "
        "γ(1+o)/log(L+1)) with a paired bootstrap CI over the same architectures. "
        "Paper: NB201 ablation table.",
    ),
    "batch_size": (
        "Batch-size sensitivity",
        "Mean ± std over seeds; latency is the median forward + backward time of one "
        "architecture on this run's device (the paper's is an RTX 4090). Paper: supplementary Table 2.",
    ),
    "seeds": (
        "Seed variance",
        "Spread of Kendall τ over seeds (network initialisation and synthetic batch) on the study sample.",
    ),
    "stability": ("Dataset stability", "Kendall τ of each proxy across datasets and its spread."),
    "search_picks": (
        "Search: NB201 pick-the-top",
        "Per proxy: test accuracy of its top-scored architecture among N sampled from the scored "
        "ones, mean ± std over seeds; ground_truth is the best in the sample. Paper: supplementary "
        "Table 1 (N = 5,000).",
    ),
    "search_nb201": (
        "Search: Algorithm 1 on NB201",
        "InTrain-NAS's evolutionary search on NB201, where the pick's accuracy is known.",
    ),
    "search_zennas": (
        "Search: InTrain-NAS on the Zen-NAS ImageNet space",
        "Best Zen-NAS structure string per FLOPs budget (Zen-NAS get_FLOPs and params at 224x224, "
        "scores at the search resolution). The networks are untrained: feed best_arch to the "
        "Zen-NAS/ZiCo training scripts (--use_se) or intrain.spaces.zennas.network.build_model.",
    ),
    "zennas_published": (
        "Published Zen-NAS-space networks under each proxy",
        "Zen-NAS, ZiCo and AZ-NAS model-zoo structures scored at the paper's protocol "
        "(B = 64, 64x64 Gaussian input); rank 1 = the proxy's favourite "
        "(benchmarks/zennas_published.py).",
    ),
    "agreement": (
        "Agreement with imported score files",
        "Per proxy in both an imported peer file (a) and intrain's own artifact (b): Spearman ρ between "
        "the two implementations over the architectures both scored, and each one's Kendall τ against "
        "accuracy (column metric) on that same set (intrain agreement; docs/interop.md).",
    ),
    "protocols": (
        "Protocols: uniform vs reference vs published",
        "Each proxy under the uniform protocol (one network, init and input for all) and under its "
        "variants: reference = as its published number was computed (AutoDL's network with every "
        "non-none edge run, the published init, definition and input; input 'natural' is the "
        "bundled-photograph stand-in for CIFAR), relu = InTrain on post-activation layers. "
        "Differences are paired bootstraps over the architectures both scored; a CI that excludes "
        "0 is a difference these architectures support (intrain protocol-table; docs/protocols.md).",
    ),
    "topk": (
        "Top-k quality",
        "Mean test accuracy of each proxy's top-10 and top-1 % architectures, the accuracy of its "
        "top-1 pick, and the rank it gives the truly best architecture of the sample.",
    ),
}


_CORR = re.compile(r"kendall|spearman|tau|rho|corr")
_SECONDS = re.compile(r"seconds|latency|_ms\b|_ms_|_s$|^time|runtime")
_ACCURACY = re.compile(r"acc|top1|ground_truth")
_NO_SEPARATOR = {"seed", "year", "shard"}
_LONG = 40  # characters: longer text cells wrap anywhere (arch strings, paths)


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


def html_table(df: pd.DataFrame, *, filterable: bool | None = None, caption: str | None = None) -> str:
    """A sortable table in a horizontal scroll wrapper; numbers rounded for reading, their full
    precision in ``data-v`` (the sort key). ``filterable`` (default: more than 8 rows) adds a filter box."""
    numeric = {c: pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns}
    head = "".join(f'<th scope="col" title="{html_text(str(c))}">{html_text(header_label(c))}</th>' for c in df.columns)
    rows = []
    for row in df.itertuples(index=False):
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
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if filterable is None:
        filterable = len(df) > 8
    cls = "sortable filterable" if filterable else "sortable"
    cap = f"<caption class='note'>{html_text(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table class="{cls}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


# ----------------------------------------------------------------------------- headline


OWN_PROXY = "intrain"
WIDE_CI = 0.3  #: a bootstrap interval of τ wider than this decides nothing (a small sample)


def _num(row: object, key: str) -> float:
    raw: Any = row.get(key) if hasattr(row, "get") else None  # None: float() raises TypeError, nan below
    try:
        v = float(raw)
    except (TypeError, ValueError):
        return float("nan")
    return v


def reproduction(row: pd.Series) -> str:
    """One correlation row against its published τ: ``reproduces`` (the published value lies in the
    bootstrap CI), ``differs`` (outside it), ``no-ci`` (no interval to judge), ``no-paper``, ``undefined``."""
    tau, paper = _num(row, "kendall"), _num(row, "paper_kendall")
    lo, hi = _num(row, "kendall_lo"), _num(row, "kendall_hi")
    if not np.isfinite(tau):
        return "undefined"
    if not np.isfinite(paper):
        return "no-paper"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no-ci"
    return "reproduces" if min(lo, hi) <= paper <= max(lo, hi) else "differs"


def _benchmarks(corr: pd.DataFrame) -> list[tuple[str, str]]:
    return list(dict.fromkeys(zip(corr["space"], corr["dataset"])))


def _ci(row: pd.Series) -> str:
    lo, hi, n = _num(row, "kendall_lo"), _num(row, "kendall_hi"), _num(row, "n")
    parts = []
    if np.isfinite(lo) and np.isfinite(hi):
        parts.append(f"95 % CI {lo:.3f} to {hi:.3f}")
    if np.isfinite(n):
        parts.append(f"n = {int(n):,}")
    return f" ({', '.join(parts)})" if parts else ""


class Verdict(TypedDict):
    """One benchmark's line of :func:`headline`."""

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
        wide = False
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
        wide = verdict in ("reproduces", "differs") and _num(r, "kendall_hi") - _num(r, "kendall_lo") > WIDE_CI
        if wide:
            text += (
                f" The interval is wide (n = {int(_num(r, 'n')):,}), so this says little either way."
                if np.isfinite(_num(r, "n"))
                else " The interval is wide, so this says little either way."
            )
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


_MARK = {"reproduces": "✓", "differs": "✗", "no-ci": ""}
_BADGE = {
    "reproduces": ("ok", "reproduces"),
    "differs": ("differs", "differs"),
    "no-ci": ("open", "no CI"),
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

    head = '<th scope="col">proxy</th>' + "".join(
        f'<th scope="col" title="{html_text(s)}/{html_text(d)}">{breakable(f"{s}/{d}")}</th>' for s, d in benches
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
            bg, fg = _colour(tau)
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
                    }[verdict]
                )
            paper_rho, rho = _num(r, "paper_spearman"), _num(r, "spearman")
            if not np.isfinite(paper) and np.isfinite(paper_rho) and np.isfinite(rho):
                # the paper states Spearman only (MeCo, SWAP): compare like with like, in ρ
                pub = f'<span class="pub">paper ρ {paper_rho:.2f}</span><span class="pub">ours ρ {rho:.3f}</span>'
                tip += f"; paper ρ {paper_rho:.3f} (Spearman; no published τ), ours ρ {rho:.3f}"
            cells.append(
                f'<td data-v="{tau!r}" style="background:{bg};color:{fg}" title="{html_text(tip)}">'
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
        f"<span>– not scored or undefined; hover a cell for its CI and n</span></p>"
    )
    return (
        f'<div class="scroll"><table class="heatmap sortable" id="heatmap">'
        f'<caption class="note">Kendall τ against {accuracy} accuracy; click a column to rank the proxies on it</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{legend}"
    )


def headline_html(corr: pd.DataFrame, proxy: str = OWN_PROXY) -> str:
    verdicts = headline(corr, proxy)
    judged = [v for v in verdicts if v["verdict"] in ("reproduces", "differs")]
    if judged:
        k = sum(v["verdict"] == "reproduces" for v in judged)
        summary = (
            f"InTrain reproduces the published Kendall τ on {k} of {len(judged)} "
            f"benchmark{'s' if len(judged) != 1 else ''} with a published value and a bootstrap interval."
        )
        n_wide = sum(v["wide"] for v in judged)
        if n_wide:
            summary = summary[:-1] + (
                f" (on {n_wide} of them the interval is wider than {WIDE_CI}: too few architectures to tell)."
            )
    elif any(v["verdict"] == "no-ci" for v in verdicts):
        summary = "InTrain's τ beside the published values (no bootstrap intervals in this run to judge by)."
    else:
        summary = "No published InTrain values to compare with in this run."
    items = "".join(
        f'<li><span class="badge {_BADGE[v["verdict"]][0]}">{_BADGE[v["verdict"]][1]}</span>'
        f"{html_text(v['sentence'])}</li>"
        for v in verdicts
    )
    return f'<p class="summary">{html_text(summary)}</p>{heatmap_table(corr, proxy)}<ul class="verdicts">{items}</ul>'


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- figures


def save_figure(fig: plt.Figure, out: Path) -> Path:
    """Every text of the figure shown literally and bounded (:func:`intrain.core.sinks.plot_text`:
    names from files never switch on mathtext), then laid out and saved."""
    for text in fig.findobj(matplotlib.text.Text):
        text.set_text(plot_text(text.get_text()))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def scatter_figure(score_paths: Sequence[str], gts: GroundTruths, proxy: str, out: Path) -> Path:
    ncols = min(4, len(score_paths))  # wrap many benchmarks (seven NDS spaces) into rows
    nrows = -(-len(score_paths) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 3.8 * nrows), squeeze=False)
    for ax in axes.flat[len(score_paths) :]:
        ax.set_visible(False)
    for ax, path in zip(axes.flat, score_paths):
        attrs = read_attrs(path)
        acc = accuracy_column(attrs["dataset"])
        gt = gts.table(attrs["space"])
        df = add_population_scores(read_scores(path), read_population_rules(path)).merge(
            gt[["arch_index", acc]], on="arch_index"
        )
        df = df[np.isfinite(df[proxy])]
        if len(df) > 2000:
            ax.hexbin(df[proxy], df[acc], gridsize=50, bins="log", cmap="viridis", mincnt=1)
        else:
            sns.scatterplot(x=df[proxy], y=df[acc], s=10, alpha=0.6, ax=ax, edgecolor=None)
        ax.set_title(plot_text(f"{attrs['space']} / {attrs['dataset']} (n={len(df)})"))
        ax.set_xlabel(plot_text(f"{proxy} score"))
        ax.set_ylabel("test accuracy (%)")
    return save_figure(fig, out)


def _literal(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy whose label columns are plot-safe text (categorical ticks and legends come from data)."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(plot_text)
    return out


def benchmark_label(corr: pd.DataFrame) -> pd.Series:
    """``dataset``, or ``space/dataset`` when several spaces share a dataset name (NB101 and NB201 CIFAR-10)."""
    if corr["space"].nunique() > 1:
        return corr["space"] + "/" + corr["dataset"]
    return corr["dataset"]


def tau_bars(corr: pd.DataFrame, out: Path) -> Path:
    df = _literal(corr, ["space", "dataset", "proxy"])
    df["dataset"] = benchmark_label(df)
    # two proxy sets may score the same proxy under the same settings: one bar per label
    df = df.drop_duplicates(["dataset", "proxy"])
    # wide enough for the bars, capped so that many benchmarks do not make a 60-inch strip
    fig, ax = plt.subplots(figsize=(min(18, max(6, 0.9 * df["proxy"].nunique() * df["dataset"].nunique())), 4.2))
    datasets = list(dict.fromkeys(df["dataset"]))
    proxies = list(dict.fromkeys(df["proxy"]))
    width = 0.8 / len(datasets)
    paper_drawn = False
    for j, ds in enumerate(datasets):
        sub = df[df["dataset"] == ds].set_index("proxy").reindex(proxies)
        x = np.arange(len(proxies)) + j * width
        err = np.vstack([sub["kendall"] - sub["kendall_lo"], sub["kendall_hi"] - sub["kendall"]])
        ax.bar(
            x, sub["kendall"], width, yerr=np.clip(np.nan_to_num(err), 0, None), capsize=3, label=ds
        )  # a percentile CI may miss the estimate by rounding
        if "paper_kendall" in sub and sub["paper_kendall"].notna().any():
            ax.scatter(
                x,
                sub["paper_kendall"],
                marker="_",
                s=500,
                linewidths=2.5,
                color="crimson",
                zorder=3,
                label=None if paper_drawn else "paper",
            )
            paper_drawn = True
    ax.set_xticks(np.arange(len(proxies)) + width * (len(datasets) - 1) / 2, proxies, rotation=20, ha="right")
    ax.set_ylabel("Kendall τ (95% CI)")
    ax.legend(fontsize=8)
    return save_figure(fig, out)


def ablation_bars(abl: pd.DataFrame, out: Path) -> Path:
    abl = _literal(abl, ["variant", "dataset"])
    fig, ax = plt.subplots(figsize=(10, 3.8))
    sns.barplot(data=abl, y="variant", x="kendall", hue="dataset", ax=ax, orient="h")
    paper = abl.dropna(subset=["paper_kendall"]).drop_duplicates("variant")
    order = list(dict.fromkeys(abl["variant"]))
    ax.scatter(
        paper["paper_kendall"],
        [order.index(v) for v in paper["variant"]],
        marker="|",
        s=400,
        linewidths=2.5,
        color="crimson",
        zorder=3,
        label="paper",
    )
    ax.set_xlabel("Kendall τ")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, out)


def search_log_path(value: Any, table: str | os.PathLike[str]) -> Path:
    """The search log a study table's ``log`` cell names, as a path inside the table's folder.

    ``intrain search-summary`` writes each log relative to the table's folder. A table may come from
    elsewhere, so an absolute path, ``..``, a path that leaves the folder through a link, and anything
    but a regular file (a FIFO would hang the report, ``/dev/zero`` never ends) are refused
    (:class:`~intrain.core.errors.InputError` naming the table) before the log is opened.
    """
    import stat

    folder = Path(table).parent
    shown = str(value)[:200]
    if not isinstance(value, str) or not value:
        raise InputError(f"{table}: column 'log' holds {shown!r}, not the path of a search log")
    rel = Path(value)
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(
            f"{table}: column 'log' names {shown!r}; a study table names its search logs relative to its own "
            "folder, without '..' (as intrain search-summary writes them), refusing to open it"
        )
    path = folder / rel
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
        mode = path.stat().st_mode
    except OSError as e:
        raise InputError(f"{table}: search log {shown!r} cannot be read ({e.strerror or e})") from None
    if not inside:
        raise InputError(f"{table}: search log {shown!r} leads out of {folder} through a link; refusing to open it")
    if not stat.S_ISREG(mode):
        raise InputError(f"{table}: search log {shown!r} is not a regular file; refusing to open it")
    return path


def search_curves(summary: pd.DataFrame, out: Path, table: str | os.PathLike[str] = "search table") -> Path:
    """Best score so far against iteration, one line per search (read from the search logs, which the
    ``log`` column names relative to the folder of ``table``: :func:`search_log_path`)."""
    from intrain.core.search_log import read_log

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for _, row in summary.iterrows():
        history = read_log(search_log_path(row["log"], table))[1]
        label = f"{row['space']} {row['budget'] / 1e6:.0f}M" if pd.notna(row.get("budget")) else str(row["space"])
        ax.plot(history["iteration"], history["score"].cummax(), label=plot_text(label))
    ax.set_xlabel("iteration")
    ax.set_ylabel("best score so far")
    ax.legend(fontsize=8)
    return save_figure(fig, out)


def batch_curve(bs: pd.DataFrame, out: Path) -> Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    bs = bs.sort_values("batch_size")
    ax1.errorbar(
        bs["batch_size"],
        bs["kendall_mean"],
        yerr=bs["kendall_std"].fillna(0),
        marker="o",
        capsize=3,
        label="measured (mean ± std over seeds)",
    )
    if bs["paper_kendall"].notna().any():
        ax1.plot(bs["batch_size"], bs["paper_kendall"], "k--", marker="x", label="paper")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("batch size")
    ax1.set_ylabel("Kendall τ")
    ax1.legend(fontsize=8)
    ax2.plot(
        bs["batch_size"], bs["latency_ms_median"], marker="o", label=plot_text(f"measured ({bs['device'].iloc[0]})")
    )
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("batch size")
    ax2.set_ylabel("forward + backward latency (ms)")
    ax2.legend(fontsize=8)
    return save_figure(fig, out)


def stability_plot(corr: pd.DataFrame, out: Path) -> Path:
    main = _literal(corr[~is_component(corr["proxy"])], ["space", "dataset", "proxy"])
    main["dataset"] = benchmark_label(main)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.pointplot(data=main, x="dataset", y="kendall", hue="proxy", ax=ax)
    ax.set_ylabel("Kendall τ")
    return save_figure(fig, out)


# ----------------------------------------------------------------------------- page


def _section(key: str, title: str, body: str) -> tuple[str, str, str]:
    return key, title, f'<section id="{key}"><h2>{html_text(title)}</h2>{body}</section>'


def _img(src: str, alt: str) -> str:
    return f'<img src="{html_text(src)}" alt="{html_text(alt)}" loading="eager">'


def build_report(
    correlations_csv: str,
    score_paths: Sequence[str],
    groundtruth: str | Sequence[str] | GroundTruths,
    out_html: str,
    studies: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """``groundtruth``: one table path, ``SPACE=CSV`` values, or :class:`GroundTruths`.

    The page opens with the headline (a τ heatmap, proxies × space/dataset, with the published
    values, and one sentence per benchmark on whether InTrain reproduces), then a table of
    contents and one section per table.
    """
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    # everything is written into a temporary folder beside the report and renamed into place at the
    # end (page last), so a run that fails half-way leaves the previous report whole, never a mix
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        _write_report(work / out.name, correlations_csv, score_paths, groundtruth, studies, config)
        for made in sorted(work.iterdir(), key=lambda f: f.name == out.name):
            os.replace(made, out.parent / made.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


#: Columns a table must hold for the report to draw it: ``(text, numeric, numeric where present)``.
_Columns = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
_CORRELATION_COLUMNS: _Columns = (
    ("space", "dataset", "proxy"),
    ("kendall", "kendall_lo", "kendall_hi"),
    ("n", "spearman", "spearman_lo", "spearman_hi", "paper_kendall", "diff_kendall"),
)
_FIGURE_COLUMNS: dict[str, _Columns] = {
    "ablation": (("variant", "dataset"), ("kendall", "paper_kendall"), ()),
    "batch_size": ((), ("batch_size", "kendall_mean", "kendall_std", "paper_kendall", "latency_ms_median"), ()),
    "search_zennas": (("space", "log"), (), ("budget",)),
}


def require_columns(table: pd.DataFrame, path: str | os.PathLike[str], columns: _Columns) -> None:
    """Refuse (:class:`~intrain.core.errors.InputError` naming ``path`` and the column) a table that lacks a
    column the report reads, or holds a text cell in a numeric one or a number in a text one."""
    text, numeric, optional = columns
    for col in (*text, *numeric):
        if col not in table.columns:
            raise InputError(f"{path}: column {col!r} is missing; the report reads it")
    if table.empty:
        return
    for col in text:
        odd = table[col][~table[col].map(lambda v: isinstance(v, str))]
        if len(odd):
            raise InputError(f"{path}: column {col!r} holds {str(odd.iloc[0])[:80]!r}, where text is expected")
    for col in (*numeric, *(c for c in optional if c in table.columns)):
        if not pd.api.types.is_numeric_dtype(table[col]) or pd.api.types.is_bool_dtype(table[col]):
            cell = next((v for v in table[col] if not isinstance(v, (int, float))), table[col].iloc[0])
            raise InputError(f"{path}: column {col!r} holds {str(cell)[:80]!r}, where a number is expected")


def _write_report(
    out: Path,
    correlations_csv: str,
    score_paths: Sequence[str],
    groundtruth: str | Sequence[str] | GroundTruths,
    studies: dict[str, str] | None,
    config: dict[str, Any] | None,
) -> None:
    corr = read_csv(correlations_csv)
    require_columns(corr, correlations_csv, _CORRELATION_COLUMNS)
    gts = GroundTruths.of(groundtruth)
    main = corr[~is_component(corr["proxy"])]
    comps = corr[is_component(corr["proxy"])]
    cols = [
        "space",
        "dataset",
        "proxy",
        "n",
        "n_excluded",
        "n_flagged",
        "kendall",
        "kendall_lo",
        "kendall_hi",
        "spearman",
        "spearman_lo",
        "spearman_hi",
        "paper_kendall",
        "diff_kendall",
    ]
    main_table = main[[c for c in cols if c in main.columns]]
    write_csv(main_table, out.parent / "correlations.csv")
    sections = [_section("headline", "Headline: does InTrain reproduce the published τ?", headline_html(corr))]
    sections.append(
        _section(
            "correlations",
            "Rank correlations",
            (
                "<p class='note'>Kendall τ-b and Spearman ρ against benchmark test accuracy; lo/hi are 95 % bootstrap "
                "intervals over architectures. Non-finite scores are excluded and counted (n excluded); n flagged counts "
                "architectures with a degenerate-network flag. Rounded here; full precision in "
                "<a href='correlations.csv'>correlations.csv</a>.</p>"
                + html_table(main_table, filterable=True)
                + _img(tau_bars(main, out.parent / "tau_bars.png").name, "Kendall tau per proxy and dataset")
            ),
        )
    )
    if not comps.empty:
        sections.append(
            _section(
                "components",
                "Components",
                html_table(
                    comps[[c for c in ["space", "dataset", "proxy", "n", "kendall", "spearman"] if c in comps.columns]]
                ),
            )
        )
    paths_of: dict[str, list[str]] = {}  # proxy -> the artifacts (one per dataset) that hold it
    for path in score_paths:
        for proxy in proxy_columns(add_population_scores(read_scores(path, expand=False), read_population_rules(path))):
            if "." not in proxy:
                paths_of.setdefault(proxy, []).append(path)
    scatters = "".join(
        _img(
            scatter_figure(paths, gts, proxy, out.parent / f"scatter_{slug(proxy)}.png").name,
            f"{proxy} score vs accuracy",
        )
        for proxy, paths in paths_of.items()
    )
    if scatters:
        sections.append(_section("scatter", "Score vs accuracy", scatters))
    figures = {"ablation": ablation_bars, "batch_size": batch_curve, "search_zennas": search_curves}
    for key, path in (studies or {}).items():
        if key not in STUDIES:
            raise InputError(f"unknown study {key!r}; known: {sorted(STUDIES)}")
        title, note = STUDIES[key]
        table = read_csv(path)
        write_csv(table, out.parent / f"{key}.csv")
        if key == "protocols" and not table.empty:  # each value with its CI in one cell
            from intrain.analysis.comparison import display_rows

            table = pd.DataFrame(display_rows(table))
        body = f"<p class='note'>{html_text(note)} Full precision in <a href='{key}.csv'>{key}.csv</a>.</p>"
        body += html_table(table) if not table.empty else "<p class='note'>(no rows in this run)</p>"
        if key in figures and not table.empty:
            require_columns(table, path, _FIGURE_COLUMNS[key])
            png = out.parent / f"{key}.png"
            drawn = search_curves(table, png, path) if key == "search_zennas" else figures[key](table, png)
            body += _img(drawn.name, key)
        if key == "stability":
            body += _img(stability_plot(corr, out.parent / "stability.png").name, "stability")
        sections.append(_section(f"study-{key}", title, body))
    from intrain.analysis.zoo_report import report_sections  # the model zoo's section, when the run has one

    sections.extend(report_sections(score_paths, gts))
    prov = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "config": config,
        "artifacts": {
            str(p): {
                "sha256": sha256_file(p),
                **{
                    k: v
                    for k, v in read_attrs(p).items()
                    if k in ("device", "config_hash", "seed", "batch_size", "resolution", "settings")
                },
            }
            for p in score_paths
        },
        "inputs_sha256": {
            str(p): sha256_file(p) for p in [correlations_csv, *gts.paths.values(), *(studies or {}).values()]
        },
    }
    sections.append(
        _section(
            "provenance", "Provenance", f'<div class="prov">{html_text(json.dumps(prov, indent=1, default=str))}</div>'
        )
    )
    toc = "".join(f'<li><a href="#{key}">{html_text(title)}</a></li>' for key, title, _ in sections)
    nav = f'<nav id="contents" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>'
    lede = (
        f"<p class='lede'>Generated {_dt.date.today().isoformat()} from {len(score_paths)} merged artifacts "
        f"({len(main)} proxy × benchmark correlations).</p>"
    )
    page = [f"<header><h1>intrain report</h1>{lede}</header>", sections[0][2], nav, *(s for _, _, s in sections[1:])]
    out.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>intrain report</title>"
        f"<style>{_CSS}</style></head><body>{''.join(page)}{_TABLE_JS}</body></html>"
    )
