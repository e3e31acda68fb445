"""The HTML report: every study table beside the paper's values, seaborn figures, provenance.

The page is self-checking: a small script counts figures that failed to load and tables with no
rows and writes the result into ``#render-check`` (and ``body[data-render-check]``), which the
headless-browser test and ``intrain render-check`` read back.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
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

from .correlate import is_component, proxy_columns, with_population_scores  # noqa: E402
from .groundtruth import GroundTruths, accuracy_column  # noqa: E402
from .io import read_attrs, read_scores, versions  # noqa: E402

_CSS = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:90%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}img{max-width:100%;display:block;margin:1em 0}
.prov{font-family:monospace;font-size:80%;white-space:pre-wrap;background:#f7f7f7;padding:1em;overflow-x:auto}
.note{color:#555;font-size:90%}#render-check{color:#888;font-size:80%}"""

_CHECK_JS = """<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).length;
  var tables = Array.from(document.querySelectorAll('table'));
  var empty = tables.filter(function (t) { return t.querySelectorAll('tbody tr').length === 0; }).length;
  var status = (broken === 0 && empty === 0) ? 'ok' : 'failed';
  var text = 'render-check: ' + status + ' images=' + imgs.length + ' broken=' + broken +
             ' tables=' + tables.length + ' empty=' + empty;
  document.body.setAttribute('data-render-check', text);
  document.getElementById('render-check').textContent = text;
});
</script>"""

#: Study CSVs the report knows, in page order: key -> (title, explanation).
STUDIES: dict[str, tuple[str, str]] = {
    "ablation": ("Ablation (components and couplings)",
                 "Recomputed from the per-layer and per-parameter statistics stored in the main run's "
                 "artifacts; no network was rerun. Paper: NB201 ablation table."),
    "batch_size": ("Batch-size sensitivity",
                   "Mean ± std over seeds; latency is the median forward + backward time of one "
                   "architecture on this run's device (the paper's is an RTX 4090). Paper: supplementary Table 2."),
    "seeds": ("Seed variance",
              "Spread of Kendall τ over seeds (network initialisation and synthetic batch) on the study sample."),
    "stability": ("Dataset stability", "Kendall τ of each proxy across datasets and its spread."),
    "search_picks": ("Search: NB201 pick-the-top",
                     "Per proxy: test accuracy of its top-scored architecture among N sampled from the scored "
                     "ones, mean ± std over seeds; ground_truth is the best in the sample. Paper: supplementary "
                     "Table 1 (N = 5,000)."),
    "search_nb201": ("Search: Algorithm 1 on NB201",
                     "InTrain-NAS's evolutionary search on NB201, where the pick's accuracy is known."),
    "search_mbv2": ("Search: InTrain-NAS on the MobileNetV2 space",
                    "Best spec per FLOPs budget (FLOPs and params at 224x224, scores at the search "
                    "resolution). The networks are untrained: train them with your own ImageNet pipeline "
                    "(intrain.spaces.mobilenetv2.build_model)."),
    "topk": ("Top-k quality",
             "Mean test accuracy of each proxy's top-10 and top-1 % architectures, the accuracy of its "
             "top-1 pick, and the rank it gives the truly best architecture of the sample."),
}


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if isinstance(x, (float, np.floating)):
        return f"{x:.3f}"
    return html.escape(str(x))


def html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- figures


def save_figure(fig: plt.Figure, out: Path) -> Path:
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def scatter_figure(score_paths: Sequence[str], gts: GroundTruths, proxy: str, out: Path) -> Path:
    ncols = min(4, len(score_paths))  # wrap many benchmarks (seven NDS spaces) into rows
    nrows = -(-len(score_paths) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 3.8 * nrows), squeeze=False)
    for ax in axes.flat[len(score_paths):]:
        ax.set_visible(False)
    for ax, path in zip(axes.flat, score_paths):
        attrs = read_attrs(path)
        acc = accuracy_column(attrs["dataset"])
        gt = gts.table(attrs["space"])
        df = with_population_scores(read_scores(path)).merge(gt[["arch_index", acc]], on="arch_index")
        df = df[np.isfinite(df[proxy])]
        if len(df) > 2000:
            ax.hexbin(df[proxy], df[acc], gridsize=50, bins="log", cmap="viridis", mincnt=1)
        else:
            sns.scatterplot(x=df[proxy], y=df[acc], s=10, alpha=0.6, ax=ax, edgecolor=None)
        ax.set_title(f"{attrs['space']} / {attrs['dataset']} (n={len(df)})")
        ax.set_xlabel(f"{proxy} score")
        ax.set_ylabel("test accuracy (%)")
    return save_figure(fig, out)


def benchmark_label(corr: pd.DataFrame) -> pd.Series:
    """``dataset``, or ``space/dataset`` when several spaces share a dataset name (NB101 and NB201 CIFAR-10)."""
    if corr["space"].nunique() > 1:
        return corr["space"] + "/" + corr["dataset"]
    return corr["dataset"]


def tau_bars(corr: pd.DataFrame, out: Path) -> Path:
    df = corr.copy()
    df["dataset"] = benchmark_label(df)
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
        ax.bar(x, sub["kendall"], width, yerr=np.clip(np.nan_to_num(err), 0, None), capsize=3, label=ds)  # a percentile CI may miss the estimate by rounding
        if "paper_kendall" in sub and sub["paper_kendall"].notna().any():
            ax.scatter(x, sub["paper_kendall"], marker="_", s=500, linewidths=2.5, color="crimson", zorder=3,
                       label=None if paper_drawn else "paper")
            paper_drawn = True
    ax.set_xticks(np.arange(len(proxies)) + width * (len(datasets) - 1) / 2, proxies, rotation=20, ha="right")
    ax.set_ylabel("Kendall τ (95% CI)")
    ax.legend(fontsize=8)
    return save_figure(fig, out)


def ablation_bars(abl: pd.DataFrame, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.8))
    sns.barplot(data=abl, y="variant", x="kendall", hue="dataset", ax=ax, orient="h")
    paper = abl.dropna(subset=["paper_kendall"]).drop_duplicates("variant")
    order = list(dict.fromkeys(abl["variant"]))
    ax.scatter(paper["paper_kendall"], [order.index(v) for v in paper["variant"]], marker="|", s=400,
               linewidths=2.5, color="crimson", zorder=3, label="paper")
    ax.set_xlabel("Kendall τ")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, out)


def search_curves(summary: pd.DataFrame, out: Path) -> Path:
    """Best score so far against iteration, one line per search (read from the search logs)."""
    from .evolution import read_log

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for _, row in summary.iterrows():
        history = read_log(row["log"])[1]
        label = f"{row['space']} {row['budget'] / 1e6:.0f}M" if pd.notna(row.get("budget")) else str(row["space"])
        ax.plot(history["iteration"], history["score"].cummax(), label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("best score so far")
    ax.legend(fontsize=8)
    return save_figure(fig, out)


def batch_curve(bs: pd.DataFrame, out: Path) -> Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    bs = bs.sort_values("batch_size")
    ax1.errorbar(bs["batch_size"], bs["kendall_mean"], yerr=bs["kendall_std"].fillna(0), marker="o", capsize=3,
                 label="measured (mean ± std over seeds)")
    if bs["paper_kendall"].notna().any():
        ax1.plot(bs["batch_size"], bs["paper_kendall"], "k--", marker="x", label="paper")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("batch size")
    ax1.set_ylabel("Kendall τ")
    ax1.legend(fontsize=8)
    ax2.plot(bs["batch_size"], bs["latency_ms_median"], marker="o", label=f"measured ({bs['device'].iloc[0]})")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("batch size")
    ax2.set_ylabel("forward + backward latency (ms)")
    ax2.legend(fontsize=8)
    return save_figure(fig, out)


def stability_plot(corr: pd.DataFrame, out: Path) -> Path:
    main = corr[~is_component(corr["proxy"])].copy()
    main["dataset"] = benchmark_label(main)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.pointplot(data=main, x="dataset", y="kendall", hue="proxy", ax=ax)
    ax.set_ylabel("Kendall τ")
    return save_figure(fig, out)


# ----------------------------------------------------------------------------- page


def build_report(correlations_csv: str, score_paths: Sequence[str], groundtruth: str | Sequence[str] | GroundTruths,
                 out_html: str, studies: dict[str, str] | None = None, config: dict | None = None) -> Path:
    """``groundtruth``: one table path, ``SPACE=CSV`` values, or :class:`GroundTruths`."""
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    corr = pd.read_csv(correlations_csv)
    gts = GroundTruths.of(groundtruth)
    main = corr[~is_component(corr["proxy"])]
    comps = corr[is_component(corr["proxy"])]
    cols = ["space", "dataset", "proxy", "n", "n_excluded", "n_flagged", "kendall", "kendall_lo", "kendall_hi",
            "spearman", "spearman_lo", "spearman_hi", "paper_kendall", "diff_kendall"]
    main_table = main[[c for c in cols if c in main.columns]]
    main_table.to_csv(out.parent / "correlations.csv", index=False)
    parts = [f"<h1>intrain report</h1><p class='note'>Generated {_dt.date.today().isoformat()} from "
             f"{len(score_paths)} merged artifacts. Kendall τ-b and Spearman ρ against benchmark test accuracy; "
             f"lo/hi are 95 % bootstrap intervals over architectures. Non-finite scores are excluded and "
             f"counted (n_excluded); n_flagged counts architectures with a degenerate-network flag.</p>",
             "<h2>Rank correlations</h2>", html_table(main_table)]
    parts.append(f'<img src="{tau_bars(main, out.parent / "tau_bars.png").name}" alt="Kendall tau per proxy and dataset">')
    if not comps.empty:
        parts += ["<h2>Components</h2>",
                  html_table(comps[["space", "dataset", "proxy", "n", "kendall", "spearman"]])]
    parts.append("<h2>Score vs accuracy</h2>")
    paths_of: dict[str, list[str]] = {}  # proxy -> the artifacts (one per dataset) that hold it
    for path in score_paths:
        for proxy in proxy_columns(with_population_scores(read_scores(path, expand=False))):
            if "." not in proxy:
                paths_of.setdefault(proxy, []).append(path)
    for proxy, paths in paths_of.items():
        fig = scatter_figure(paths, gts, proxy, out.parent / f"scatter_{proxy}.png")
        parts.append(f'<img src="{fig.name}" alt="{proxy} score vs accuracy">')
    figures = {"ablation": ablation_bars, "batch_size": batch_curve, "search_mbv2": search_curves}
    for key, path in (studies or {}).items():
        if key not in STUDIES:
            raise ValueError(f"unknown study {key!r}; known: {sorted(STUDIES)}")
        title, note = STUDIES[key]
        table = pd.read_csv(path)
        table.to_csv(out.parent / f"{key}.csv", index=False)
        parts += [f"<h2>{html.escape(title)}</h2>", f"<p class='note'>{html.escape(note)}</p>", html_table(table)]
        if key in figures and not table.empty:
            parts.append(f'<img src="{figures[key](table, out.parent / f"{key}.png").name}" alt="{key}">')
        if key == "stability":
            parts.append(f'<img src="{stability_plot(corr, out.parent / "stability.png").name}" alt="stability">')
    prov = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "config": config,
        "artifacts": {str(p): {"sha256": sha256_file(p), **{k: v for k, v in read_attrs(p).items()
                                                               if k in ("device", "config_hash", "seed", "batch_size", "resolution", "settings")}}
                      for p in score_paths},
        "inputs_sha256": {str(p): sha256_file(p) for p in [correlations_csv, *gts.paths.values(), *(studies or {}).values()]},
    }
    parts += ["<h2>Provenance</h2>", f'<div class="prov">{html.escape(json.dumps(prov, indent=1, default=str))}</div>',
              '<p id="render-check">render-check: pending</p>']
    out.write_text("<!doctype html><html><head><meta charset='utf-8'><title>intrain report</title>"
                   f"<style>{_CSS}</style>{_CHECK_JS}</head><body>{''.join(parts)}</body></html>")
    return out
