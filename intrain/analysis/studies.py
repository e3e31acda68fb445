"""The paper's studies, computed from stored artifacts (no network is run here).

- `ablation`: couplings and depth normalisations of InTrain's two components,
  recomputed from the per-layer and per-parameter statistics in merged HDF5 files.
- `topk`: quality of the head of each proxy's ranking (what a NAS user picks).
- `stability`: the same proxy's correlation across datasets.
- `batch_size` and `seed_variance`: correlations over runs scored with other batch
  sizes and seeds (each run is its own merged artifact, scored by the workflow).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from intrain.analysis.correlate import is_component, proxy_columns
from intrain.analysis.groundtruth import GroundTruths, accuracy_column
from intrain.analysis.stats import correlate, paired_tau_difference
from intrain.core.artifacts import read_attrs, read_layers, read_params, read_scores
from intrain.core.trainability import EPS, DepthNorm, combine, gradient_health, participation_ratio

#: Where the paper's study tables below were measured: rows of other spaces (or datasets) get no
#: published value beside them.
PAPER_SPACE = "nb201"
PAPER_BATCH_DATASET = "cifar10"

#: Paper values (InTrain main text, ablation table on NB201): Kendall tau, Spearman rho.
PAPER_ABLATION = {
    "gamma only": (0.61, 0.82),
    "o only": (0.63, 0.83),
    "gamma + o (z-scored)": (0.59, 0.80),
    "gamma * (1 + o) / log(L + 1)": (0.67, 0.86),
}

#: Supplementary Table 2 (CIFAR-10): batch size -> (Kendall tau, Spearman rho, latency ms).
PAPER_BATCH = {
    1: (0.643, 0.839, 25.73),
    8: (0.651, 0.848, 28.56),
    16: (0.659, 0.850, 32.95),
    32: (0.662, 0.852, 34.41),
    64: (0.669, 0.857, 37.29),
    128: (0.671, 0.858, 44.65),
}


def truth_of(path: str, gts: GroundTruths) -> tuple[dict[str, Any], str, pd.DataFrame]:
    """An artifact's attributes, its accuracy column, and (arch_index, accuracy) of its space."""
    attrs = read_attrs(path)
    acc = accuracy_column(attrs["dataset"])
    return attrs, acc, gts.table(attrs["space"])[["arch_index", acc]]


def with_truth(path: str, gts: GroundTruths) -> tuple[dict[str, Any], str, pd.DataFrame]:
    """An artifact's attributes, its accuracy column, and its scores joined with ground truth."""
    attrs, acc, truth = truth_of(path, gts)
    return attrs, acc, read_scores(path).merge(truth, on="arch_index")


def components(path: str) -> pd.DataFrame:
    """Per scored architecture: gamma, o and L recomputed from stored statistics."""
    layers = read_layers(path)
    params = read_params(path)
    layers["log_pr"] = np.log(participation_ratio(layers["trace"], layers["trace_sq"], layers["dim"], EPS))
    params["health"] = gradient_health(params["std"], params["maxabs"])
    g = layers.groupby("arch_index").agg(gamma=("log_pr", "sum"), n_layers=("log_pr", "size"))
    o = params.groupby("arch_index").agg(o=("health", "sum"))
    return g.join(o, how="outer").fillna({"o": 0.0}).reset_index().rename(columns={"arch_index": "representative"})


def _zscore(x: pd.Series) -> pd.Series:
    sd = x.std(ddof=0)
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def ablation_scores(path: str) -> pd.DataFrame:
    """Every variant's score per selected architecture (members take their representative's)."""
    comp = components(path)
    variants: dict[str, pd.Series] = {
        "gamma only": comp["gamma"],
        "o only": comp["o"],
        "gamma + o (z-scored)": _zscore(comp["gamma"]) + _zscore(comp["o"]),
    }
    norm: DepthNorm
    for norm, label in (
        ("none", "gamma * (1 + o)"),
        ("linear", "gamma * (1 + o) / L"),
        ("log", "gamma * (1 + o) / log(L + 1)"),
    ):
        variants[label] = pd.Series(
            [
                combine(g, o, int(n), "multiplicative", norm)
                for g, o, n in zip(comp["gamma"], comp["o"], comp["n_layers"])
            ]
        )
    for norm, label in (("linear", "gamma / L"), ("log", "gamma / log(L + 1)")):
        variants[label] = pd.Series(
            [combine(g, o, int(n), "gamma", norm) for g, o, n in zip(comp["gamma"], comp["o"], comp["n_layers"])]
        )
    table = pd.DataFrame({"representative": comp["representative"], **{k: v.to_numpy() for k, v in variants.items()}})
    members = read_scores(path)[["arch_index", "representative"]]
    return members.merge(table, on="representative", how="left")


#: The ablation variant that is InTrain's score as shipped (the paper's definition).
SHIPPED_VARIANT = "gamma * (1 + o) / log(L + 1)"


def ablation_inputs(score_paths: Sequence[str]) -> list[str]:
    """The artifacts the ablation reads: one per (space, dataset), the first that holds InTrain's
    per-layer statistics.

    The workflow passes every merged artifact of a benchmark (InTrain's ``scores.h5``, then each
    baseline set's ``set-<name>.h5``); a baseline set's artifact carries the same per-layer
    statistics of the same networks, so reading both listed every variant of the benchmark twice.
    """
    seen: set[tuple[str, str]] = set()
    out = []
    for path in score_paths:
        attrs = read_attrs(path)
        key = (str(attrs["space"]), str(attrs["dataset"]))
        if key in seen or read_layers(path).empty:
            continue
        seen.add(key)
        out.append(path)
    return out


def ablation(score_paths: Sequence[str], groundtruth: str | Sequence[str], n_boot: int = 200) -> pd.DataFrame:
    """τ of every variant of InTrain's score (`ablation_scores`) per benchmark, with the paired
    difference to the shipped score; one block of rows per (space, dataset) (`ablation_inputs`)."""
    gts = GroundTruths.of(groundtruth)
    rows = []
    for path in ablation_inputs(score_paths):
        attrs, acc, truth = truth_of(path, gts)
        df = ablation_scores(path).merge(truth, on="arch_index")
        shipped = df[SHIPPED_VARIANT].to_numpy()
        for variant in [c for c in df.columns if c not in ("arch_index", "representative", acc)]:
            c = correlate(df[variant].to_numpy(), df[acc].to_numpy(), n_boot=n_boot)
            paper = PAPER_ABLATION.get(variant, (None, None)) if attrs["space"] == PAPER_SPACE else (None, None)
            # "variant X beats the shipped score" as a paired claim over the same architectures
            d = paired_tau_difference(df[variant].to_numpy(), shipped, df[acc].to_numpy(), n_boot=n_boot)
            rows.append(
                {
                    "space": attrs["space"],
                    "dataset": attrs["dataset"],
                    "variant": variant,
                    **c.as_dict(),
                    "paper_kendall": paper[0],
                    "paper_spearman": paper[1],
                    "minus_shipped": d.delta,
                    "minus_shipped_lo": d.lo,
                    "minus_shipped_hi": d.hi,
                }
            )
    return pd.DataFrame(rows)


def topk(score_paths: Sequence[str], groundtruth: str | Sequence[str], k: int = 10, frac: float = 0.01) -> pd.DataFrame:
    """Mean accuracy of each proxy's top-k and top-frac architectures, and the true best's rank."""
    gts = GroundTruths.of(groundtruth)
    rows = []
    for path in score_paths:
        attrs, acc, df = with_truth(path, gts)
        n = len(df)
        n_frac = max(1, int(round(frac * n)))
        best_acc = df[acc].max()
        for col in proxy_columns(df.drop(columns=[acc])):
            valid = df[np.isfinite(df[col])]
            if valid.empty or valid[col].nunique() < 2:
                continue  # a constant score (e.g. swap.samples) ranks nothing: no pick to report
            order = valid.sort_values(col, ascending=False, kind="stable")
            # rank of the true best architecture in this proxy's ranking (1 = top); ties broken
            # pessimistically: every architecture scoring at least as high ranks above it.
            best_score = valid.loc[valid[acc].idxmax(), col]
            rows.append(
                {
                    "space": attrs["space"],
                    "dataset": attrs["dataset"],
                    "proxy": col,
                    "n": n,
                    f"top{k}_mean_acc": order[acc].head(k).mean(),
                    f"top{frac * 100:g}%_mean_acc": order[acc].head(n_frac).mean(),
                    "top1_acc": order[acc].iloc[0],
                    "best_acc": best_acc,
                    "rank_of_best": int((valid[col] >= best_score).sum()),
                    "mean_acc": df[acc].mean(),
                }
            )
    return pd.DataFrame(rows)


def stability(correlations: pd.DataFrame) -> pd.DataFrame:
    """Kendall tau per proxy (rows) and dataset (columns), with the spread across datasets."""
    main = correlations[~is_component(correlations["proxy"])]
    wide = main.pivot_table(index=["space", "proxy"], columns="dataset", values="kendall")
    datasets = list(wide.columns)
    counted = wide[datasets].notna().sum(axis=1)
    wide["mean"] = wide[datasets].mean(axis=1)
    # a spread needs two datasets: a space scored on one (NB101, NDS) has none, not a spread of 0
    wide["std"] = wide[datasets].std(axis=1, ddof=0).where(counted > 1)
    wide["range"] = (wide[datasets].max(axis=1) - wide[datasets].min(axis=1)).where(counted > 1)
    wide["datasets"] = counted
    return wide.reset_index()


def run_correlations(
    run_paths: Iterable[str], groundtruth: str | Sequence[str], proxy: str = "intrain"
) -> pd.DataFrame:
    """One row per run artifact: dataset, batch size, seed, tau, rho, median pass latency."""
    gts = GroundTruths.of(groundtruth)
    rows = []
    for path in run_paths:
        attrs, acc, df = with_truth(path, gts)
        c = correlate(df[proxy].to_numpy(), df[acc].to_numpy(), n_boot=0)
        scored = read_scores(path, expand=False)
        latency = scored["pass_seconds"] if "pass_seconds" in scored else scored["seconds"]
        rows.append(
            {
                "space": attrs["space"],
                "dataset": attrs["dataset"],
                "batch_size": int(attrs["batch_size"]),
                "seed": int(attrs["seed"]),
                "n": c.n,
                "n_excluded": c.n_excluded,
                "kendall": c.kendall,
                "spearman": c.spearman,
                "latency_ms_median": 1000 * float(np.median(latency)),
                "device": attrs.get("device"),
            }
        )
    return pd.DataFrame(rows)


def batch_size(run_paths: Iterable[str], groundtruth_csv: str) -> pd.DataFrame:
    runs = run_correlations(run_paths, groundtruth_csv)
    out = (
        runs.groupby(["space", "dataset", "batch_size"])
        .agg(
            seeds=("seed", "nunique"),
            n=("n", "max"),
            kendall_mean=("kendall", "mean"),
            kendall_std=("kendall", "std"),
            spearman_mean=("spearman", "mean"),
            spearman_std=("spearman", "std"),
            latency_ms_median=("latency_ms_median", "median"),
            device=("device", "first"),
        )
        .reset_index()
    )
    published = (out["space"] == PAPER_SPACE) & (out["dataset"] == PAPER_BATCH_DATASET)
    for i, col in enumerate(("paper_kendall", "paper_spearman", "paper_latency_ms_gpu")):
        out[col] = [PAPER_BATCH.get(b, (None,) * 3)[i] if ok else None for b, ok in zip(out["batch_size"], published)]
    return out


def seed_variance(run_paths: Iterable[str], groundtruth_csv: str) -> pd.DataFrame:
    runs = run_correlations(run_paths, groundtruth_csv)
    return (
        runs.groupby(["space", "dataset", "batch_size"])
        .agg(
            seeds=("seed", "nunique"),
            n=("n", "max"),
            kendall_mean=("kendall", "mean"),
            kendall_std=("kendall", "std"),
            kendall_min=("kendall", "min"),
            kendall_max=("kendall", "max"),
            spearman_mean=("spearman", "mean"),
            spearman_std=("spearman", "std"),
        )
        .reset_index()
    )
