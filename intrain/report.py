"""A self-contained HTML report: correlation table (with paper values) and score-vs-accuracy plots."""

from __future__ import annotations

import datetime as _dt
import html
import json
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .correlate import proxy_columns  # noqa: E402
from .groundtruth import accuracy_column, load_groundtruth_csv  # noqa: E402
from .io import read_attrs, read_scores, versions  # noqa: E402

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}img{max-width:100%}
.prov{font-family:monospace;font-size:85%;white-space:pre-wrap;background:#f7f7f7;padding:1em}"""


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.3f}"
    return html.escape(str(x))


def html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def scatter_figure(score_paths: Sequence[str], gt: pd.DataFrame, proxy: str, out: Path) -> Path:
    fig, axes = plt.subplots(1, len(score_paths), figsize=(4.5 * len(score_paths), 4), squeeze=False)
    for ax, path in zip(axes[0], score_paths):
        attrs = read_attrs(path)
        ds = attrs["dataset"]
        df = read_scores(path).merge(gt[["arch_index", accuracy_column(ds)]], on="arch_index")
        df = df[np.isfinite(df[proxy])]
        kind = "hex" if len(df) > 2000 else "scatter"
        if kind == "hex":
            ax.hexbin(df[proxy], df[accuracy_column(ds)], gridsize=50, bins="log", cmap="viridis")
        else:
            sns.scatterplot(x=df[proxy], y=df[accuracy_column(ds)], s=10, alpha=0.6, ax=ax, edgecolor=None)
        ax.set_title(f"{attrs['space']} / {ds} (n={len(df)})")
        ax.set_xlabel(f"{proxy} score")
        ax.set_ylabel("test accuracy (%)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def build_report(correlations_csv: str, score_paths: Sequence[str], groundtruth_csv: str, out_html: str) -> None:
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    corr = pd.read_csv(correlations_csv)
    gt = load_groundtruth_csv(groundtruth_csv)
    main = corr[~corr["proxy"].str.contains(r"\.", regex=True)]
    cols = ["space", "dataset", "proxy", "n", "n_excluded", "kendall", "kendall_lo", "kendall_hi",
            "spearman", "spearman_lo", "spearman_hi", "paper_kendall", "diff_kendall"]
    parts = [f"<h1>intrain report</h1><p>Generated {_dt.date.today().isoformat()} from "
             f"{len(score_paths)} artifacts. Correlations: Kendall τ-b and Spearman ρ against "
             f"test accuracy; brackets are 95% bootstrap intervals over architectures.</p>",
             "<h2>Rank correlations</h2>", html_table(main[[c for c in cols if c in main.columns]])]
    comps = corr[corr["proxy"].str.contains(r"\.", regex=True)]
    if not comps.empty:
        parts += ["<h2>Components</h2>", html_table(comps[["space", "dataset", "proxy", "n", "kendall", "spearman"]])]
    parts.append("<h2>Score vs accuracy</h2>")
    first = read_scores(score_paths[0])
    for proxy in [c for c in proxy_columns(first) if "." not in c]:
        fig = scatter_figure(score_paths, gt, proxy, out.parent / f"scatter_{proxy}.png")
        parts.append(f'<img src="{fig.name}" alt="{proxy} score vs accuracy">')
    prov = {"versions": versions(), "artifacts": {Path(p).name: read_attrs(p) for p in score_paths}}
    parts += ["<h2>Provenance</h2>", f'<div class="prov">{html.escape(json.dumps(prov, indent=1, default=str))}</div>']
    out.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>intrain report</title>"
                   f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
