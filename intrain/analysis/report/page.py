"""The page: the headline, a table of contents, one section per table with its figure and
caption, provenance; written into a temporary folder and renamed into place."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from intrain.analysis.correlate import is_component, proxy_columns
from intrain.analysis.groundtruth import GroundTruths
from intrain.analysis.report.assets import CSS, TABLE_JS
from intrain.analysis.report.figures import (
    ablation_bars,
    batch_curve,
    regret_curves,
    scatter_figure,
    search_curves,
    stability_plot,
    tau_bars,
)
from intrain.analysis.report.sections import (
    COMPONENTS_NOTE,
    COST_NOTE,
    STUDIES,
    ablation_verdict,
    cost_summary,
    cost_table,
    isomorphic_copies,
    smoke_note,
    with_copies,
)
from intrain.analysis.report.tables import html_table
from intrain.analysis.report.verdicts import JUDGE, headline_html
from intrain.core.artifacts import read_attrs, read_population_rules, read_scores, versions
from intrain.core.errors import InputError
from intrain.core.ranking import add_population_scores
from intrain.core.sinks import html_text, read_csv, slug, write_csv


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _section(key: str, title: str, body: str) -> tuple[str, str, str]:
    return key, title, f'<section id="{key}"><h2>{html_text(title)}</h2>{body}</section>'


def _img(src: str, alt: str) -> str:
    return f'<img src="{html_text(src)}" alt="{html_text(alt)}" loading="eager">'


def figure(src: str | Path, alt: str, caption: str, heading: str | None = None, anchor: str | None = None) -> str:
    """An image with its caption (every figure has one: ``intrain render-check`` requires it) and
    an optional heading above it (with the id ``anchor``)."""
    name = Path(src).name
    ident = f' id="{html_text(anchor)}"' if anchor else ""
    top = f"<h3{ident}>{html_text(heading)}</h3>" if heading else ""
    return f"{top}<figure>{_img(name, alt)}<figcaption>{html_text(caption)}</figcaption></figure>"


#: The references page of the sources (BibTeX: the method, the benchmarks, the peers, every proxy).
REFERENCES = Path(__file__).resolve().parents[3] / "docs" / "references.md"


def footer(out: Path) -> str:
    """The page's footer: the references, copied beside the page (``references.md``) so the link
    holds wherever the report folder is moved or sent; without the sources, their name only."""
    text = (
        "References: the InTrain paper, NAS-Bench-101 and -201, NDS, NASLib, Zen-NAS, the datasets and the "
        "paper of every proxy, as BibTeX, in "
    )
    if REFERENCES.is_file():
        shutil.copyfile(REFERENCES, out.parent / "references.md")
        where = '<a href="references.md">references.md</a> beside this page'
    else:
        where = "docs/references.md of the intrain sources"
    return (
        f'<footer class="note" id="references"><p>{html_text(text)}{where} '
        "(also the documentation site's References page).</p></footer>"
    )


def _smoke(text: str | None) -> str:
    return (
        f'<p class="smoke"><strong>Smoke setting.</strong> {html_text(text[len("Smoke setting: ") :])}</p>'
        if text
        else ""
    )


def build_report(
    correlations_csv: str,
    score_paths: Sequence[str],
    groundtruth: str | Sequence[str] | GroundTruths,
    out_html: str,
    studies: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """``groundtruth``: one table path, ``SPACE=CSV`` values, or `GroundTruths`.

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
#: the regret table's reference columns, drawn where present
_REGRET_REFERENCES = ("random_regret", "random_lo", "random_hi", "ceiling_regret")
#: the regret table's columns the page shows (all of them in search_regret.csv)
_REGRET_SHOWN = (
    "b",
    "T",
    "seeds",
    "mean_regret",
    "regret_lo",
    "regret_hi",
    "diff_vs_b1",
    "diff_lo",
    "diff_hi",
    "worse_seeds",
    "better_seeds",
    "mean_distinct_scored",
    "random_regret",
    "diff_vs_random",
    "vs_random_lo",
    "vs_random_hi",
    "ceiling_regret",
)
_FIGURE_COLUMNS: dict[str, _Columns] = {
    "ablation": (("variant", "dataset"), ("kendall", "paper_kendall"), ()),
    "batch_size": ((), ("batch_size", "kendall_mean", "kendall_std", "paper_kendall", "latency_ms_median"), ()),
    "search_zennas": (("space", "log"), (), ("budget",)),
    "search_regret": ((), ("b", "T", "seeds", "mean_regret", "regret_lo", "regret_hi"), _REGRET_REFERENCES),
}


def require_columns(table: pd.DataFrame, path: str | os.PathLike[str], columns: _Columns) -> None:
    """Refuse ([`InputError`][intrain.core.errors.InputError] naming ``path`` and the column) a table that lacks a
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
    copies = isomorphic_copies(score_paths)
    corr = with_copies(corr, copies)
    main = corr[~is_component(corr["proxy"])]
    comps = corr[is_component(corr["proxy"])]
    # the numbers a reader compares first (τ beside the paper's, then its CI), counts and ρ after
    cols = [
        "space",
        "dataset",
        "proxy",
        "n",
        "n_copies",
        "kendall",
        "paper_kendall",
        "diff_kendall",
        "kendall_lo",
        "kendall_hi",
        "spearman",
        "spearman_lo",
        "spearman_hi",
        "n_excluded",
        "n_flagged",
    ]
    main_table = main[[c for c in cols if c in main.columns]]
    write_csv(main_table, out.parent / "correlations.csv")
    sections = [_section("headline", "Headline: does InTrain reproduce the published τ?", headline_html(corr))]
    copies_note = (
        " n copies: architectures not scored but given the score of an isomorphic representative "
        "(scoring deduplicates isomorphism classes), counted in n."
        if any(copies.values())
        else ""
    )
    sections.append(
        _section(
            "correlations",
            "Rank correlations",
            (
                "<p class='note'>Kendall τ-b and Spearman ρ against benchmark test accuracy, the published τ and "
                "Δτ (measured − paper) beside τ; lo/hi are 95 % bootstrap intervals over architectures. Non-finite "
                "scores are excluded and counted (n excluded); n flagged counts architectures with a "
                f"degenerate-network flag.{html_text(copies_note)} Rounded here; full precision in "
                "<a href='correlations.csv'>correlations.csv</a>.</p>"
                + html_table(main_table, filterable=True)
                + figure(
                    tau_bars(main, out.parent / "tau_bars.png"),
                    "Kendall tau per proxy and benchmark with 95 % CIs and the published values",
                    "Kendall τ of each proxy with test accuracy, one bar per benchmark (space/dataset), the "
                    "whisker its 95 % bootstrap CI; black diamonds: the published τ where a paper gives one. "
                    "A benchmark of few architectures has a wide whisker: read its bar as undecided.",
                    heading="Kendall τ per proxy and benchmark",
                )
            ),
        )
    )
    if not comps.empty:
        sections.append(
            _section(
                "components",
                "Components",
                f"<p class='note'>{html_text(COMPONENTS_NOTE)}</p>"
                + html_table(
                    comps[
                        [c for c in ["space", "dataset", "proxy", "n", "n_copies", "kendall", "spearman"] if c in comps]
                    ]
                ),
            )
        )
    cost = cost_table(score_paths)
    if not cost.empty:
        write_csv(cost, out.parent / "cost.csv")
        sections.append(
            _section(
                "cost",
                "Cost: seconds per architecture",
                f"<p class='note'>{html_text(COST_NOTE)} Full precision in <a href='cost.csv'>cost.csv</a>.</p>"
                + html_table(cost_summary(cost)),
            )
        )
    paths_of: dict[str, list[str]] = {}  # proxy -> the artifacts (one per dataset) that hold it
    for path in score_paths:
        for proxy in proxy_columns(add_population_scores(read_scores(path, expand=False), read_population_rules(path))):
            if "." not in proxy:
                paths_of.setdefault(proxy, []).append(path)
    scatters = "".join(
        figure(
            scatter_figure(paths, gts, proxy, out.parent / f"scatter_{slug(proxy)}.png", copies),
            f"{proxy} score rank vs test accuracy rank",
            f"{proxy}: rank of the score (x, percent) against rank of test accuracy (y, percent), one panel "
            "per benchmark, Kendall τ of the panel in its corner; ranks because τ compares ranks and raw "
            "scores can span many orders of magnitude. n counts isomorphic copies where there are any.",
            heading=proxy,
            anchor=f"scatter-{slug(proxy)}",
        )
        for proxy, paths in paths_of.items()
    )
    if scatters:
        index = ", ".join(f'<a href="#scatter-{html_text(slug(p))}">{html_text(p)}</a>' for p in paths_of)
        sections.append(
            _section("scatter", "Score vs accuracy", f"<p class='note'>One figure per proxy: {index}.</p>" + scatters)
        )
    figures = {
        "ablation": ablation_bars,
        "batch_size": batch_curve,
        "search_zennas": search_curves,
        "search_regret": regret_curves,
    }
    captions = {
        "ablation": "Kendall τ of each ablation variant, one bar per benchmark (space/dataset, never averaged "
        "across spaces); black rules: the paper's NB201 value of each variant (one per variant, for every NB201 "
        "dataset); benchmarks with n < 20 are named in the legend as too few to judge.",
        "batch_size": "Left: Kendall τ against batch size (mean ± std over seeds), black diamonds the paper's "
        "full-space values. Right: median forward + backward latency of one architecture on this run's device.",
        "search_zennas": "Best InTrain score found so far against iteration, one line per FLOPs budget.",
        "search_regret": "Regret (best accuracy in the space − accuracy of the pick, points) against T, one line "
        "per round size b, the band its 95 % bootstrap interval over seeds; dashed grey: random search with "
        "b = 1's evaluations on the same seeds; dotted black: the proxy ceiling (the best-scored architecture "
        "of the whole space).",
        "stability": "Kendall τ of each proxy per benchmark; a line joins the datasets of one space only, and "
        "a grey rule separates spaces.",
    }
    for key, path in (studies or {}).items():
        if key not in STUDIES:
            raise InputError(f"unknown study {key!r}; known: {sorted(STUDIES)}")
        title, note = STUDIES[key]
        table = read_csv(path)
        write_csv(table, out.parent / f"{key}.csv")
        smoke = _smoke(smoke_note(key, table, config))
        if key in ("ablation", "topk"):
            table = with_copies(table, copies)
        claims = None
        if key == "protocols" and not table.empty:  # each value with its CI in one cell
            from intrain.analysis import claims as _claims
            from intrain.analysis.comparison import display_rows

            claims = pd.DataFrame(_claims.display_rows(_claims.ranking_claims(table)))
            table = pd.DataFrame(display_rows(table))
        body = smoke + f"<p class='note'>{html_text(note)} Full precision in <a href='{key}.csv'>{key}.csv</a>.</p>"
        decided = ablation_verdict(table, JUDGE.min_n) if key == "ablation" else None
        if decided:
            body += f"<p class='verdict'>{html_text(decided)}</p>"
        shown = table
        if key == "search_regret":  # the numbers a reader compares; every column stays in the CSV
            shown = table[[c for c in _REGRET_SHOWN if c in table.columns]]
        body += html_table(shown) if not table.empty else "<p class='note'>(no rows in this run)</p>"
        if claims is not None and not claims.empty:
            body += (
                "<h3>Ranking claims of the paper</h3><p class='note'>"
                + html_text(
                    "Each comparison is read off the published τ (InTrain's against the proxy's); the verdict is "
                    "the paired CI of τ(InTrain under the uniform protocol) − τ(proxy under its reference protocol): "
                    "holds / reversed where it excludes 0, undecided where it does not, too few below "
                    f"{_claims.MIN_N} networks. † the proxy's published τ is from another paper than InTrain's, "
                    "which makes no pairwise comparison with it (the numbers imply one). 'After Holm': the verdict "
                    "after Holm's correction over the space's comparisons, with p read off each CI (an "
                    "approximation). The note names a proxy, or InTrain, whose published τ lies outside its own "
                    "CI here. The strongest single-index row covers the table's rows only (ensembles AZ-NAS and "
                    "TE-NAS excluded)."
                )
                + "</p>"
                + html_table(claims)
            )
        if key in figures and not table.empty:
            require_columns(table, path, _FIGURE_COLUMNS[key])
            png = out.parent / f"{key}.png"
            drawn = search_curves(table, png, path) if key == "search_zennas" else figures[key](table, png)
            body += figure(drawn, f"{title} figure", captions[key] + (" Smoke setting: see above." if smoke else ""))
        if key == "stability":
            body += figure(stability_plot(corr, out.parent / "stability.png"), "dataset stability", captions[key])
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
    page = [
        f"<header><h1>intrain report</h1>{lede}</header>",
        sections[0][2],
        nav,
        *(s for _, _, s in sections[1:]),
        footer(out),
    ]
    out.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>intrain report</title>"
        f"<style>{CSS}</style></head><body>{''.join(page)}{TABLE_JS}</body></html>"
    )
