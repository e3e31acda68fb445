"""The protocol comparison table: each proxy under the uniform protocol and under its variants
(``@reference``, ``@relu``…), beside its published value, with paired bootstrap CIs.

For every (space, dataset, proxy) whose artifacts hold the proxy under the default settings and
under at least one variant (or that has a published value), one row per variant:

- τ uniform and τ variant, each with its bootstrap CI and its own n;
- the published τ (``intrain/data/published.yaml``) and variant − published;
- variant − uniform as a *paired* difference over the architectures both scored
  (`intrain.analysis.stats.paired_tau_difference`): the CI says whether the protocol moved the τ;
  ``tau_uniform_paired`` is the uniform τ on those same architectures (a sub-sample's own τ);
- InTrain − proxy under the variant, paired the same way: the CI says whether "InTrain beats it"
  holds on these architectures.

Torch-free; reads merged artifacts and normalised ground truth only.

Examples:
    >>> split_label("grad_norm@reference")
    ('grad_norm', 'reference')
    >>> split_label("intrain")
    ('intrain', '')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intrain.analysis.correlate import _artifact_frames, is_imported
from intrain.analysis.groundtruth import GroundTruths
from intrain.analysis.published_tau import published
from intrain.analysis.stats import Correlation, TauDifference, correlate, paired_tau_difference
from intrain.core.artifacts import read_attrs, read_proxy_inputs

__all__ = ["UNIFORM", "comparison_table", "display_rows", "render_markdown", "split_label"]

#: The variant name of scores under the default settings.
UNIFORM = "uniform"
#: The proxy every row is compared against (paired), under its default settings.
BASELINE = "intrain"


def split_label(label: str) -> tuple[str, str]:
    """(proxy, variant) of a correlation-table label; the variant is '' for the default settings."""
    proxy, _, variant = label.partition("@")
    return proxy, variant


@dataclass
class _Scores:
    values: pd.Series  # score by arch_index
    input: str


def _collect(
    score_paths: Sequence[str], gts: GroundTruths, metric: str
) -> dict[tuple[str, str], tuple[dict[tuple[str, str], _Scores], pd.Series]]:
    """{(space, dataset): ({(proxy, variant): _Scores}, accuracy by arch_index)} over main scores only
    (components and imported files are left out)."""
    out: dict[tuple[str, str], tuple[dict[tuple[str, str], _Scores], pd.Series]] = {}
    own = [path for path in score_paths if not is_imported(read_attrs(path))]
    for path, (space, dataset, df, acc_col) in zip(own, _artifact_frames(own, gts, metric)):
        inputs = read_proxy_inputs(path)
        scores, acc = out.setdefault((space, dataset), ({}, pd.Series(dtype=float)))
        df = df.set_index("arch_index")
        acc = pd.concat([acc, df[acc_col]])
        acc = acc[~acc.index.duplicated()]
        for col in df.columns:
            proxy, variant = split_label(col)
            if col != acc_col and "." not in proxy:
                scores[(proxy, variant or UNIFORM)] = _Scores(df[col], inputs.get(proxy, "gaussian"))
        out[(space, dataset)] = (scores, acc)
    return out


def _tau(s: pd.Series, acc: pd.Series, n_boot: int, seed: int) -> Correlation:
    idx = s.index.intersection(acc.index)
    return correlate(s.loc[idx].to_numpy(), acc.loc[idx].to_numpy(), n_boot=n_boot, seed=seed)


def _paired(a: pd.Series, b: pd.Series, acc: pd.Series, n_boot: int, seed: int) -> TauDifference:
    idx = a.index.intersection(b.index).intersection(acc.index)
    return paired_tau_difference(
        a.loc[idx].to_numpy(), b.loc[idx].to_numpy(), acc.loc[idx].to_numpy(), n_boot=n_boot, seed=seed
    )


def comparison_table(
    score_paths: Sequence[str],
    groundtruth: str | Sequence[str] | GroundTruths,
    n_boot: int = 1000,
    metric: str = "test",
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (space, dataset, proxy, variant); see the module docstring for the columns."""
    gts = GroundTruths.of(groundtruth)
    rows = []
    for (space, dataset), (scores, acc) in _collect(score_paths, gts, metric).items():
        baseline = scores.get((BASELINE, UNIFORM))
        for proxy in sorted({p for p, _ in scores}):
            variants = sorted(v for p, v in scores if p == proxy and v != UNIFORM)
            paper = published(space, "kendall", proxy, dataset)
            if not variants and paper is None:
                continue
            uni = scores.get((proxy, UNIFORM))
            u = _tau(uni.values, acc, n_boot, seed) if uni is not None and variants else None
            for variant in variants or [UNIFORM]:
                cur = scores[(proxy, variant)]
                row = {
                    "space": space,
                    "dataset": dataset,
                    "proxy": proxy,
                    "variant": variant,
                    "input": cur.input,
                    "published": paper,
                }
                c = _tau(cur.values, acc, n_boot, seed)
                row.update(
                    n=c.n,
                    tau=c.kendall,
                    tau_lo=c.kendall_lo,
                    tau_hi=c.kendall_hi,
                    minus_published=(c.kendall - paper) if paper is not None else np.nan,
                )
                if u is not None and uni is not None:
                    d = _paired(cur.values, uni.values, acc, n_boot, seed)
                    row.update(
                        n_uniform=u.n,
                        tau_uniform=u.kendall,
                        tau_uniform_lo=u.kendall_lo,
                        tau_uniform_hi=u.kendall_hi,
                        n_paired=d.n,
                        tau_uniform_paired=d.tau_b,
                        minus_uniform=d.delta,
                        minus_uniform_lo=d.lo,
                        minus_uniform_hi=d.hi,
                    )
                if baseline is not None and proxy != BASELINE:
                    d = _paired(baseline.values, cur.values, acc, n_boot, seed)
                    row.update(n_vs_intrain=d.n, intrain_minus=d.delta, intrain_minus_lo=d.lo, intrain_minus_hi=d.hi)
                rows.append(row)
    columns = [
        "space",
        "dataset",
        "proxy",
        "variant",
        "input",
        "n",
        "tau",
        "tau_lo",
        "tau_hi",
        "published",
        "minus_published",
        "n_uniform",
        "tau_uniform",
        "tau_uniform_lo",
        "tau_uniform_hi",
        "n_paired",
        "tau_uniform_paired",
        "minus_uniform",
        "minus_uniform_lo",
        "minus_uniform_hi",
        "n_vs_intrain",
        "intrain_minus",
        "intrain_minus_lo",
        "intrain_minus_hi",
    ]
    return pd.DataFrame(rows, columns=columns)


def _ci(v: float | None, lo: float, hi: float, signed: bool = False) -> str:
    if v is None or pd.isna(v):
        return "–"
    fmt = "{:+.3f}" if signed else "{:.3f}"
    text = fmt.format(v)
    return text if pd.isna(lo) else f"{text} [{fmt.format(lo)}, {fmt.format(hi)}]"


def _input_label(text: str) -> str:
    return text.split(":sha256=")[0]


#: The displayed columns of `display_rows`, after space and dataset.
DISPLAY_COLUMNS = (
    "proxy",
    "variant",
    "input",
    "n",
    "τ uniform [95% CI]",
    "τ variant [95% CI]",
    "published",
    "variant − published",
    "variant − uniform, paired [CI]",
    "InTrain − proxy, paired [CI]",
)


def display_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    """The table's rows as display text (each value with its CI in one cell), for Markdown and HTML."""
    rows = []
    for r in table.itertuples(index=False):
        uniform = r.variant == UNIFORM
        tau_uniform = _ci(r.tau_uniform, r.tau_uniform_lo, r.tau_uniform_hi)
        if not uniform and pd.notna(r.n_uniform) and int(r.n_uniform) != int(r.n):
            # the uniform τ covers its whole sample; a sub-sampled variant is paired on its own rows
            paired = int(r.n_paired)  # fewer than n where the uniform run covers only part of the variant's
            where = f"these {paired}" if paired == int(r.n) else f"the {paired} both scored"
            tau_uniform += f" (n = {int(r.n_uniform)}; on {where}: {r.tau_uniform_paired:.3f})"
        cells = [
            r.proxy,
            r.variant,
            _input_label(r.input),
            str(r.n),
            _ci(r.tau, r.tau_lo, r.tau_hi) if uniform else tau_uniform,
            "–" if uniform else _ci(r.tau, r.tau_lo, r.tau_hi),
            "–" if pd.isna(r.published) else f"{r.published:.3f}",
            _ci(r.minus_published, np.nan, np.nan, signed=True),
            "–" if uniform else _ci(r.minus_uniform, r.minus_uniform_lo, r.minus_uniform_hi, signed=True),
            _ci(r.intrain_minus, r.intrain_minus_lo, r.intrain_minus_hi, signed=True),
        ]
        rows.append({"space": r.space, "dataset": r.dataset, **dict(zip(DISPLAY_COLUMNS, cells))})
    return rows


def render_markdown(table: pd.DataFrame) -> str:
    """The comparison as one Markdown table per (space, dataset)."""
    out = []
    for (space, dataset), part in table.groupby(["space", "dataset"], sort=False):
        out += [
            f"### {space} / {dataset}",
            "",
            "| " + " | ".join(DISPLAY_COLUMNS) + " |",
            "|" + "---|" * len(DISPLAY_COLUMNS),
        ]
        out += ["| " + " | ".join(row[c] for c in DISPLAY_COLUMNS) + " |" for row in display_rows(part)]
        out.append("")
    return "\n".join(out)
