"""The report's figures, drawn to be read on screen, each saved with a record of its text.

Every figure is at most `MAX_WIDTH_IN` wide at `DPI` with text of at least 9 pt, so it
shows at its natural size in a 1280 px window and nearly so at 800 px: no text below 10 px. The
record (`save_figure`, a PNG text chunk ``intrain:texts``: every drawn text's font size and
bounding box in image pixels) is what ``intrain render-check`` reads to check legibility
(`intrain.analysis.render`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns

from intrain.analysis.correlate import is_component
from intrain.analysis.groundtruth import GroundTruths, accuracy_column
from intrain.analysis.report.verdicts import JUDGE
from intrain.analysis.stats import correlate
from intrain.core.artifacts import read_attrs, read_population_rules, read_scores
from intrain.core.errors import InputError
from intrain.core.ranking import add_population_scores
from intrain.core.sinks import plot_text

DPI = 100  #: pixels per inch of every saved figure
MAX_WIDTH_IN = 7.6  #: 760 px: natural size at 1280 px, ~1:1 in an 800 px window's content column
TEXT_KEY = "intrain:texts"  #: the PNG text chunk holding the record of a figure's text
PAPER_MARKER: dict[str, Any] = {"marker": "D", "color": "black", "edgecolor": "white", "s": 36, "zorder": 4}
"""Published values: black diamonds (no benchmark colour of the palette is black)."""

_STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}

F = TypeVar("F", bound=Callable[..., Path])


def styled(draw: F) -> F:
    """Draw under the report's style (font sizes, dpi)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Path:
        with plt.rc_context(_STYLE):  # type: ignore[arg-type]  # matplotlib types keys as literals
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _ticklabels(axis: matplotlib.axis.Axis) -> list[matplotlib.text.Text]:
    """The tick labels drawn: matplotlib keeps labels of ticks outside the view, never drawn."""
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) * 1e-9
    out = []
    for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
        if lo - span <= tick.get_loc() <= hi + span:
            out += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    return out


def _drawn_texts(fig: plt.Figure) -> list[matplotlib.text.Text]:
    """The texts a reader sees: titles, labels, tick labels in view, annotations, legends."""
    texts: list[matplotlib.text.Text | None] = list(fig.texts)
    for leg in fig.legends:
        texts += [leg.get_title(), *leg.get_texts()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [
            ax.title,
            getattr(ax, "_left_title", None),
            getattr(ax, "_right_title", None),
            ax.xaxis.label,
            ax.yaxis.label,
        ]
        texts += [ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()]
        texts += [*_ticklabels(ax.xaxis), *_ticklabels(ax.yaxis), *ax.texts]
        own = ax.get_legend()
        if own is not None and own.get_visible():
            texts += [own.get_title(), *own.get_texts()]
    return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]


def text_record(fig: plt.Figure) -> dict[str, Any]:
    """Every drawn text of ``fig``: its string, font size (pt) and bounding box in image pixels
    (x0, y0, x1, y1 from the top left), with the image size and dpi."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.canvas.get_width_height()
    texts = []
    for t in _drawn_texts(fig):
        box = t.get_window_extent(renderer)
        texts.append(
            {
                "text": t.get_text()[:80],
                "size_pt": float(t.get_fontsize()),
                "bbox": [round(box.x0, 1), round(height - box.y1, 1), round(box.x1, 1), round(height - box.y0, 1)],
            }
        )
    return {"dpi": float(fig.dpi), "width": width, "height": height, "texts": texts}


def save_figure(fig: plt.Figure, out: Path) -> Path:
    """Every text of the figure shown literally and bounded (`intrain.core.sinks.plot_text`:
    names from files never switch on mathtext), laid out, and saved at `DPI` with its
    `text_record` in the PNG (read back by `read_text_record`)."""
    for text in fig.findobj(matplotlib.text.Text):
        text.set_text(plot_text(text.get_text()))
    if not fig.get_layout_engine():
        fig.tight_layout()
    fig.set_dpi(DPI)
    record = text_record(fig)
    fig.savefig(out, dpi=DPI, metadata={TEXT_KEY: json.dumps(record, ensure_ascii=True)})
    plt.close(fig)
    return out


def read_text_record(png: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The `text_record` stored in a PNG by `save_figure`, or None (another image)."""
    from intrain.analysis.render import png_text_chunks

    raw = png_text_chunks(png).get(TEXT_KEY)
    return json.loads(raw) if raw else None


def _literal(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """A copy whose label columns are plot-safe text (categorical ticks and legends come from data)."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(plot_text)
    return out


def benchmark_label(corr: pd.DataFrame) -> pd.Series:
    """``space/dataset``: NB101 and NB201 CIFAR-10 are different benchmarks and never share a colour."""
    return corr["space"].astype(str) + "/" + corr["dataset"].astype(str)


def _height(rows: int, per_row: float = 0.16, extra: float = 1.4) -> float:
    return float(min(16.0, max(3.0, extra + per_row * rows)))


@styled
def tau_bars(corr: pd.DataFrame, out: Path) -> Path:
    """Kendall τ (95 % CI) per proxy, one bar per benchmark, the published τ as a black diamond."""
    df = _literal(corr, ["space", "dataset", "proxy"])
    df["benchmark"] = benchmark_label(df)
    df = df.drop_duplicates(["benchmark", "proxy"])  # two proxy sets may score the same proxy
    benches = list(dict.fromkeys(df["benchmark"]))
    proxies = list(dict.fromkeys(df["proxy"]))
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, _height(len(proxies) * len(benches), 0.13, 1.8)))
    height = 0.8 / len(benches)
    colours = sns.color_palette("colorblind", len(benches))
    paper_drawn = False
    for j, bench in enumerate(benches):
        sub = df[df["benchmark"] == bench].set_index("proxy").reindex(proxies)
        y = np.arange(len(proxies)) + (j - (len(benches) - 1) / 2) * height
        n = pd.to_numeric(sub.get("n", pd.Series(dtype=float)), errors="coerce").max()
        few = JUDGE.too_small(n)  # drawn faint, without whiskers of ±1
        err = np.vstack([sub["kendall"] - sub["kendall_lo"], sub["kendall_hi"] - sub["kendall"]])
        ax.barh(
            y,
            sub["kendall"],
            height,
            xerr=None if few else np.clip(np.nan_to_num(err), 0, None),
            capsize=2,
            color=colours[j],
            alpha=0.35 if few else 1.0,
            hatch="//" if few else None,
            label=f"{bench} (n = {int(n)}, too few)" if few else bench,
            error_kw={"elinewidth": 0.8},
        )
        if "paper_kendall" in sub and sub["paper_kendall"].notna().any():
            ax.scatter(sub["paper_kendall"], y, label=None if paper_drawn else "paper τ", **PAPER_MARKER)
            paper_drawn = True
    ax.set_yticks(np.arange(len(proxies)), proxies)
    ax.invert_yaxis()
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel("Kendall τ with test accuracy (whiskers: 95 % bootstrap CI)")
    few = any("too few" in str(t) for t in ax.get_legend_handles_labels()[1])
    fig.legend(loc="outside lower center", ncol=2 if few else 3)
    fig.set_layout_engine("constrained")
    return save_figure(fig, out)


@styled
def ablation_bars(abl: pd.DataFrame, out: Path) -> Path:
    """τ of each ablation variant per benchmark (space/dataset: never averaged across spaces)."""
    abl = _literal(abl, ["variant", "dataset", "space"])
    if "space" in abl.columns:
        abl["benchmark"] = benchmark_label(abl)
    else:
        abl["benchmark"] = abl["dataset"]
    abl = abl.drop_duplicates(["benchmark", "variant"])
    if "n" in abl.columns:  # name the benchmarks too small to judge in the legend
        n = pd.to_numeric(abl["n"], errors="coerce")
        abl["benchmark"] = [
            f"{b} (n = {int(k)}, too few)" if JUDGE.too_small(k) else b for b, k in zip(abl["benchmark"], n)
        ]
    order = list(dict.fromkeys(abl["variant"]))
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, _height(len(abl), 0.12, 1.8)))
    sns.barplot(
        data=abl,
        y="variant",
        x="kendall",
        hue="benchmark",
        order=order,
        ax=ax,
        orient="h",
        palette="colorblind",
        errorbar=None,
    )
    paper = abl.dropna(subset=["paper_kendall"]).drop_duplicates("variant")
    if not paper.empty:
        # one published value per variant (not per dataset): a black rule across the variant's whole
        # group of bars, so it is not read as belonging to whichever bar sits in the middle
        for k, (value, variant) in enumerate(zip(paper["paper_kendall"], paper["variant"])):
            y = order.index(variant)
            ax.plot(
                [value, value],
                [y - 0.45, y + 0.45],
                color="black",
                linewidth=2,
                label="paper τ (NB201, one value per variant)" if k == 0 else None,
            )
    ax.axvline(0, color="#555", linewidth=0.8)
    ax.set_xlabel("Kendall τ with test accuracy")
    ax.set_ylabel("")
    handles, labels = ax.get_legend_handles_labels()
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    fig.legend(handles, labels, loc="outside lower center", ncol=2 if any("too few" in t for t in labels) else 3)
    fig.set_layout_engine("constrained")
    return save_figure(fig, out)


def _ranks(x: pd.Series) -> np.ndarray:
    """Percentile ranks (0-100, ties averaged): what Kendall τ compares, whatever the scale."""
    return np.asarray(100 * (x.rank(method="average") - 0.5) / len(x))


@styled
def scatter_figure(
    score_paths: Sequence[str],
    gts: GroundTruths,
    proxy: str,
    out: Path,
    copies: dict[tuple[str, str], int] | None = None,
) -> Path:
    """Rank of the score against rank of test accuracy, one panel per benchmark, τ in each panel.

    Ranks, not raw values: a proxy spanning 1e42-1e47 (synflow) or with outliers (jacov) would
    otherwise collapse onto a line, and τ is a statement about ranks."""
    ncols = min(2, len(score_paths))
    nrows = -(-len(score_paths) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(MAX_WIDTH_IN if ncols > 1 else 4.2, 3.1 * nrows), squeeze=False)
    for ax in axes.flat[len(score_paths) :]:
        ax.set_visible(False)
    for ax, path in zip(axes.flat, score_paths):
        attrs = read_attrs(path)
        acc = accuracy_column(attrs["dataset"])
        gt = gts.table(attrs["space"])
        df = add_population_scores(read_scores(path), read_population_rules(path)).merge(
            gt[["arch_index", acc]], on="arch_index"
        )
        df = df[np.isfinite(df[proxy]) & np.isfinite(df[acc])]
        n_copies = (copies or {}).get((attrs["space"], attrs["dataset"]), 0)
        if len(df) > 2000:
            ax.hexbin(_ranks(df[proxy]), _ranks(df[acc]), gridsize=40, bins="log", cmap="viridis", mincnt=1)
        elif len(df):
            ax.scatter(_ranks(df[proxy]), _ranks(df[acc]), s=10, alpha=0.6, linewidths=0)
        n = f"n = {len(df):,}" + (f" ({len(df) - n_copies:,} scored + {n_copies:,} copies)" if n_copies else "")
        ax.set_title(plot_text(f"{attrs['space']}/{attrs['dataset']}\n{n}"))
        tau = correlate(df[proxy].to_numpy(), df[acc].to_numpy(), n_boot=0).kendall if len(df) > 2 else float("nan")
        few = " (too few to judge)" if JUDGE.too_small(len(df)) else ""
        ax.text(
            0.03,
            0.97,
            f"τ = {tau:.3f}{few}" if np.isfinite(tau) else "τ undefined",
            transform=ax.transAxes,
            va="top",
            ha="left",
            fontsize=10,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel(plot_text(f"{proxy} score rank (%)"))
        ax.set_ylabel("test accuracy rank (%)")
    return save_figure(fig, out)


@styled
def stability_plot(corr: pd.DataFrame, out: Path) -> Path:
    """τ per proxy across benchmarks; a line joins only the datasets of one space."""
    main = _literal(corr[~is_component(corr["proxy"])], ["space", "dataset", "proxy"])
    main = main.drop_duplicates(["space", "dataset", "proxy"])
    benches = list(dict.fromkeys(zip(main["space"], main["dataset"])))
    x_of = {b: i for i, b in enumerate(benches)}
    proxies = list(dict.fromkeys(main["proxy"]))
    colours = sns.color_palette("tab20", len(proxies))
    markers = "os^vDP*Xhp<>d8"
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.2 + 0.22 * -(-len(proxies) // 5)))
    for k, p in enumerate(proxies):
        rows = main[main["proxy"] == p]
        style = {"color": colours[k], "marker": markers[k % len(markers)], "markersize": 5}
        ax.plot([], [], label=p, **style)
        for space in dict.fromkeys(rows["space"]):
            part = rows[rows["space"] == space]
            ax.plot([x_of[(s, d)] for s, d in zip(part["space"], part["dataset"])], part["kendall"], **style)
    ax.set_xticks(range(len(benches)), [f"{s}\n{d}" for s, d in benches])  # two short lines: no overprint
    for i in range(1, len(benches)):  # a rule between spaces: lines never cross it
        if benches[i][0] != benches[i - 1][0]:
            ax.axvline(i - 0.5, color="#bbb", linewidth=0.8)
    ax.set_ylabel("Kendall τ")
    fig.legend(loc="outside lower center", ncol=min(5, len(proxies)))
    fig.set_layout_engine("constrained")
    return save_figure(fig, out)


def search_log_path(value: Any, table: str | os.PathLike[str]) -> Path:
    """The search log a study table's ``log`` cell names, as a path inside the table's folder.

    ``intrain search-summary`` writes each log relative to the table's folder. A table may come from
    elsewhere, so an absolute path, ``..``, a path that leaves the folder through a link, and anything
    but a regular file (a FIFO would hang the report, ``/dev/zero`` never ends) are refused
    ([`InputError`][intrain.core.errors.InputError] naming the table) before the log is opened.
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


@styled
def search_curves(summary: pd.DataFrame, out: Path, table: str | os.PathLike[str] = "search table") -> Path:
    """Best score so far against iteration, one line per search (read from the search logs, which the
    ``log`` column names relative to the folder of ``table``: `search_log_path`)."""
    from intrain.core.search_log import read_log

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for _, row in summary.iterrows():
        history = read_log(search_log_path(row["log"], table))[1]
        label = f"{row['space']} {row['budget'] / 1e6:.0f}M FLOPs" if pd.notna(row.get("budget")) else str(row["space"])
        ax.plot(history["iteration"], history["score"].cummax(), marker="o", markersize=3, label=plot_text(label))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("best score so far")
    ax.legend()
    return save_figure(fig, out)


@styled
def batch_curve(bs: pd.DataFrame, out: Path) -> Path:
    """τ and latency against batch size, the paper's values beside the measured ones."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(MAX_WIDTH_IN, 3.3))
    bs = bs.sort_values("batch_size")
    ax1.errorbar(
        bs["batch_size"],
        bs["kendall_mean"],
        yerr=bs["kendall_std"].fillna(0),
        marker="o",
        capsize=3,
        label="measured (± std, seeds)",
    )
    if bs["paper_kendall"].notna().any():
        ax1.scatter(bs["batch_size"], bs["paper_kendall"], label="paper (full space)", **PAPER_MARKER)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("batch size")
    ax1.set_ylabel("Kendall τ")
    ax1.legend()
    ax2.plot(
        bs["batch_size"], bs["latency_ms_median"], marker="o", label=plot_text(f"measured ({bs['device'].iloc[0]})")
    )
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("batch size")
    ax2.set_ylabel("fwd + bwd latency (ms)")
    ax2.legend()
    sizes = sorted({int(b) for b in bs["batch_size"]})
    for ax in (ax1, ax2):  # the batch sizes themselves, not powers of two in exponent notation
        ax.set_xticks(sizes, [str(b) for b in sizes])
        ax.minorticks_off()
    return save_figure(fig, out)


@styled
def regret_curves(table: pd.DataFrame, out: Path) -> Path:
    """Regret against T, one line per round size b with its bootstrap band over seeds; random search
    with b = 1's evaluations (dashed, its band) and the proxy ceiling (dotted) as references."""
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 4.4))
    table = table.sort_values(["b", "T"])
    batches = list(dict.fromkeys(table["b"]))
    colours = sns.color_palette("colorblind", len(batches))
    for colour, b in zip(colours, batches):
        sub = table[table["b"] == b]
        ax.plot(sub["T"], sub["mean_regret"], marker="o", markersize=3, color=colour, label=f"b = {int(b)}")
        if {"regret_lo", "regret_hi"} <= set(sub.columns):
            ax.fill_between(sub["T"], sub["regret_lo"], sub["regret_hi"], color=colour, alpha=0.15, linewidth=0)
    first = table[table["b"] == min(batches)]
    if "random_regret" in first:
        ax.plot(
            first["T"],
            first["random_regret"],
            color="#555",
            linestyle="--",
            label="random search (b = 1's evaluations)",
        )
        if {"random_lo", "random_hi"} <= set(first.columns):
            ax.fill_between(first["T"], first["random_lo"], first["random_hi"], color="#888", alpha=0.12, linewidth=0)
    if "ceiling_regret" in table and table["ceiling_regret"].notna().any():
        ax.axhline(
            float(table["ceiling_regret"].iloc[0]),
            color="black",
            linestyle=":",
            label="proxy ceiling (best score in space)",
        )
    ax.set_xscale("log")
    ts = sorted({int(t) for t in table["T"]})
    ax.set_xticks(ts, [f"{t:,}" for t in ts])
    ax.minorticks_off()
    ax.set_ylim(bottom=0)
    ax.set_xlabel("T (iterations)")
    ax.set_ylabel("regret (accuracy points)")
    fig.legend(loc="outside lower center", ncol=3)
    fig.set_layout_engine("constrained")
    return save_figure(fig, out)
