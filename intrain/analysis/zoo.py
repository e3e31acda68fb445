"""The zoo's correlations: every proxy vs timm's top-1, pooled, within families, across families,
per FLOP band, and the cheap-vs-full protocol change (no torch).

The zoo's ground truth has one row per (architecture, recipe) (`intrain.spaces.zoo.groundtruth`);
a network is scored once per architecture, so `join` either keeps one row per
architecture (``dedup="best"``: its best recipe's top-1, the default) or every recipe row
(``dedup="all"``: an architecture then counts once per recipe).

Families come from the model name (`intrain.spaces.zoo.names.family`); FLOP bands are
quantile bands of the scored ``flops`` column (`flop_bands`), so each band holds about the
same number of architectures.

Examples:
    >>> import pandas as pd
    >>> gt = pd.DataFrame({"arch_index": [0, 1, 2], "arch": ["a1", "a1", "b2"], "family": ["a", "a", "b"],
    ...                    "recipe": ["x_in1k", "y_in1k", "x_in1k"], "acc_imagenet": [70.0, 72.0, 75.0]})
    >>> scores = pd.DataFrame({"arch": ["a1", "b2"], "params": [1.0, 2.0]})
    >>> join(scores, gt)[["arch", "recipe", "acc_imagenet"]].values.tolist()
    [['a1', 'y_in1k', 72.0], ['b2', 'x_in1k', 75.0]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from intrain.analysis.stats import correlate, paired_tau_difference
from intrain.core.errors import InputError
from intrain.spaces.zoo.names import family

__all__ = [
    "ACC",
    "BASELINES_VS",
    "MIN_FAMILY",
    "flop_bands",
    "join",
    "load_artifacts",
    "protocol_deltas",
    "tau_table",
]

ACC = "acc_imagenet"
#: Families with fewer members get no within-family τ (a τ over 4 points moves in steps of 1/3).
MIN_FAMILY = 5
#: The cost baselines every proxy is read against.
BASELINES_VS = ("params", "flops")
_META = {"arch_index", "arch", "flags", "seconds", "pass_seconds", "loss", "representative"}


def load_artifacts(paths: Iterable[str]) -> dict[int, pd.DataFrame]:
    """Zoo artifacts (merged ``scores.h5``/``set-*.h5``, or the shard files of a set whose merge did
    not run because some shard failed) as one wide frame per scoring side (``resolution`` of the
    artifact's settings): ``arch`` + every proxy column, one row per architecture.

    Artifacts of one side with the same columns (one set's shards, or the same set of two runs,
    e.g. the CNN selection and its token-layout extension) are stacked first; population-ranked
    proxies (TE-NAS, AZ-NAS) are ranked within that stack, i.e. among the networks their set
    scored. The stacks are then joined on ``arch``, so each architecture keeps every score any
    artifact holds for it."""
    from intrain.analysis.correlate import _settings_of
    from intrain.core.artifacts import read_attrs, read_population_rules, read_scores
    from intrain.core.ranking import add_population_scores

    parts: dict[tuple[int, tuple[str, ...]], list[pd.DataFrame]] = {}
    rules: dict[tuple[int, tuple[str, ...]], dict[str, Any]] = {}
    for path in paths:
        attrs = read_attrs(path)
        if attrs.get("space") != "zoo":
            raise InputError(f"{path} is an artifact of space {attrs.get('space')!r}, not of the zoo")
        side = int(_settings_of(attrs).get("resolution") or 224)
        df = read_scores(path).drop_duplicates("arch")
        cols = tuple(c for c in df.columns if c not in _META)
        parts.setdefault((side, cols), []).append(df[["arch", *cols]])
        rules.setdefault((side, cols), {}).update(read_population_rules(path))
    by_side: dict[int, pd.DataFrame] = {}
    for key, frames in parts.items():
        stack = pd.concat(frames, ignore_index=True).drop_duplicates("arch")
        stack = add_population_scores(stack, rules[key]).set_index("arch")
        old = by_side.get(key[0])
        by_side[key[0]] = stack if old is None else old.combine_first(stack)
    return {side: df.rename_axis("arch").reset_index() for side, df in by_side.items()}


def join(scores: pd.DataFrame, groundtruth: pd.DataFrame, dedup: str = "best") -> pd.DataFrame:
    """Scores (one row per ``arch``) joined to the zoo ground truth; ``dedup="best"`` keeps each
    architecture's best-recipe row, ``"all"`` every recipe row. Adds ``family`` where missing."""
    if dedup not in ("best", "all"):
        raise InputError(f"dedup must be 'best' or 'all', got {dedup!r}")
    gt = groundtruth[groundtruth["arch"].isin(scores["arch"])]
    if dedup == "best":
        gt = gt.sort_values([ACC, "arch_index"], ascending=[False, True]).drop_duplicates("arch")
    out = gt.drop(columns=[c for c in scores.columns if c in gt.columns and c != "arch"]).merge(scores, on="arch")
    if "family" not in out.columns:
        out["family"] = out["arch"].map(family)
    return out.sort_values(["arch", "recipe"] if "recipe" in out.columns else ["arch"]).reset_index(drop=True)


def flop_bands(flops: pd.Series, n_bands: int = 3) -> pd.Series:
    """Quantile band labels of ``flops`` (``"F1 (<=1.2e+08)"`` ... lowest first); NaN stays NaN.

    Examples:
        >>> flop_bands(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), 2).tolist()
        ['F1 (<=3.5)', 'F1 (<=3.5)', 'F1 (<=3.5)', 'F2 (<=6)', 'F2 (<=6)', 'F2 (<=6)']
    """
    values = pd.to_numeric(flops, errors="coerce")
    edges = np.nanquantile(values, np.linspace(0, 1, n_bands + 1))
    codes = np.searchsorted(edges[1:-1], values, side="left")
    labels = [f"F{k + 1} (<={edges[k + 1]:.3g})" for k in range(n_bands)]
    return pd.Series([labels[c] if np.isfinite(v) else np.nan for c, v in zip(codes, values)], index=flops.index)


def _rows(
    scope: str, group: str, frame: pd.DataFrame, proxies: Sequence[str], n_boot: int, seed: int
) -> list[dict[str, Any]]:
    """One row per proxy over ``frame``; ``size`` is the group's rows, ``n`` those the proxy scored."""
    out = []
    for p in proxies:
        c = correlate(frame[p].to_numpy(float), frame[ACC].to_numpy(float), n_boot=n_boot, seed=seed)
        out.append(
            {
                "scope": scope,
                "group": group,
                "size": len(frame),
                "proxy": p,
                "n": c.n,
                "n_excluded": c.n_excluded,
                "kendall": c.kendall,
                "kendall_lo": c.kendall_lo,
                "kendall_hi": c.kendall_hi,
            }
        )
    return out


def tau_table(
    df: pd.DataFrame,
    proxies: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    min_family: int = MIN_FAMILY,
    n_bands: int = 3,
) -> pd.DataFrame:
    """Kendall τ (bootstrap 95% CI) of each proxy vs ``acc_imagenet`` over `join`'s frame:

    - ``all``: every row;
    - ``family``: within each family with at least ``min_family`` rows;
    - ``across families``: per-family medians of score and accuracy (one point per family);
    - ``flop band``: within each of ``n_bands`` quantile bands of ``flops`` (when scored).

    ``size`` counts a group's rows, ``n`` the rows where the proxy has a finite score.
    """
    missing = [p for p in proxies if p not in df.columns]
    if missing:
        raise InputError(f"no scores for {missing}; scored columns: {[c for c in df.columns if c not in _META]}")
    rows = _rows("all", "all", df, proxies, n_boot, seed)
    for fam, g in sorted(df.groupby("family"), key=lambda kv: str(kv[0])):
        if len(g) >= min_family:
            rows += _rows("family", str(fam), g, proxies, n_boot, seed)
    med = df.groupby("family")[[*proxies, ACC]].median()
    rows += _rows("across families", "family medians", med, proxies, n_boot, seed)
    if "flops" in df.columns and df["flops"].notna().sum() >= n_bands * 3:
        bands = flop_bands(df["flops"], n_bands)
        for band, g in sorted(df.groupby(bands), key=lambda kv: str(kv[0])):
            rows += _rows("flop band", str(band), g, proxies, n_boot, seed)
    return pd.DataFrame(rows)


def protocol_deltas(
    cheap: pd.DataFrame, full: pd.DataFrame, proxies: Sequence[str], n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Paired Δτ = τ(cheap) − τ(full) per proxy over the architectures scored under both protocols
    (frames of `join`, same dedup), with the paired bootstrap CI of
    `intrain.analysis.stats.paired_tau_difference`."""
    both = cheap.merge(
        full, on=["arch", "recipe", ACC] if "recipe" in cheap.columns else ["arch", ACC], suffixes=("@cheap", "@full")
    )
    rows: list[dict[str, Any]] = []
    for p in proxies:
        a, b = f"{p}@cheap", f"{p}@full"
        if a not in both.columns or b not in both.columns:
            continue
        d = paired_tau_difference(
            both[a].to_numpy(float), both[b].to_numpy(float), both[ACC].to_numpy(float), n_boot=n_boot, seed=seed
        )
        rows.append({"proxy": p, **d.as_dict()})
    return pd.DataFrame(rows).rename(columns={"tau_a": "tau_cheap", "tau_b": "tau_full"})
