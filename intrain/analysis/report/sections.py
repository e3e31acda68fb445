"""What each section says beside its table: the study notes, smoke-scale warnings, how many
architectures were scored and how many copied, and what each proxy cost per architecture."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from intrain.core.artifacts import read_attrs, read_scores

STUDIES: dict[str, tuple[str, str]] = {
    "ablation": (
        "Ablation (components and couplings)",
        "Recomputed from the per-layer and per-parameter statistics stored in the main run's "
        "artifacts; no network was rerun. minus_shipped: τ(variant) − τ(shipped score "
        "γ(1+o)/log(L+1)) with a paired bootstrap CI over the same architectures. "
        "Paper: the NB201 ablation table, one value per variant, shown beside each NB201 dataset.",
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
    "search_regret": (
        "Search: what batching costs",
        "InTrain-NAS on NB201 with its scores looked up in a score artifact of the whole space "
        "(search.scores_from), b children a round (b = 1: Algorithm 1), the same seeds for every b. regret = "
        "best accuracy in the space − accuracy of the search's pick after T iterations (points); lo/hi: 95 % "
        "bootstrap band over seeds. diff vs b1: paired difference to b = 1 (a positive value: b costs accuracy), "
        "worse/better: seeds where b did worse/better than b = 1. References: random search with as many distinct "
        "evaluations on the same seed (diff vs random < 0: the optimiser beats chance) and the proxy ceiling, "
        "the regret of the best-scored architecture of the whole space, what a perfect optimiser of the proxy "
        "returns: a regret near the ceiling comes from the proxy, one above it from the optimiser "
        "(intrain search-regret).",
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


COMPONENTS_NOTE = (
    "A component is a value a proxy stores beside its score (column proxy.component): a factor of "
    "the score (intrain.gamma, the participation-ratio term γ, and intrain.o, the gradient-health "
    "term o of InTrain's γ(1 + o)/log(L + 1)) or a quantity the score depends on (intrain.n_layers: "
    "L; meco.modules: the modules MeCo averages over). Each row correlates that value alone with "
    "accuracy: how much of the proxy's τ one part carries, and whether a size count alone would do "
    "as well. Components are not proxies of their own and are not in the headline."
)


@dataclass(frozen=True)
class SmokeRule:
    """Below these sizes a study is a smoke setting (the pipeline runs; the numbers do not compare
    with the paper's), and its section says so with the numbers that make it one."""

    #: the paper's batch-size and seed studies use the whole NB201 space
    paper_study_architectures: int = 15_625
    #: a study on fewer architectures than this is a smoke setting
    min_study_architectures: int = 1_000
    #: InTrain-NAS in the paper: T = 100,000 iterations per budget
    paper_search_iterations: int = 100_000
    #: a search of fewer iterations than this is a smoke setting
    min_search_iterations: int = 1_000


SMOKE = SmokeRule()


def _int(x: Any) -> int | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return int(v) if np.isfinite(v) else None


def _config(config: dict[str, Any] | None, *keys: str) -> Any:
    node: Any = config or {}
    for k in keys:
        node = node.get(k) if isinstance(node, dict) else None
    return node


def ablation_verdict(table: pd.DataFrame, min_n: int = 20) -> str | None:
    """What the ablation table decides, from its paired CIs, on benchmarks of at least ``min_n``
    architectures: which variants beat or trail the shipped score (CI of τ(variant) − τ(shipped)
    excluding 0), and which variants' τ interval excludes the paper's value.

    Examples:
        >>> t = pd.DataFrame({"space": ["nb201"] * 2, "dataset": ["cifar10"] * 2, "n": [100, 100],
        ...     "variant": ["gamma only", "o only"], "kendall": [0.73, 0.62], "kendall_lo": [0.63, 0.50],
        ...     "kendall_hi": [0.80, 0.71], "paper_kendall": [0.61, 0.63], "minus_shipped": [0.03, -0.08],
        ...     "minus_shipped_lo": [0.01, -0.11], "minus_shipped_hi": [0.04, -0.05]})
        >>> print(ablation_verdict(t))
        What it decides (paired 95 % CIs; benchmarks with n ≥ 20): above the shipped score: gamma only on nb201/cifar10 (+0.030). Below it: o only on nb201/cifar10 (-0.080). τ interval excluding the paper's value: gamma only on nb201/cifar10 (0.730 vs 0.610).
    """
    need = {"space", "dataset", "variant", "n", "minus_shipped_lo", "minus_shipped_hi"}
    if table.empty or not need <= set(table.columns):
        return None
    t = table[pd.to_numeric(table["n"], errors="coerce") >= min_n]

    def listed(rows: pd.DataFrame, value: Any) -> str:
        return "; ".join(f"{r.variant} on {r.space}/{r.dataset} ({value(r)})" for r in rows.itertuples())

    above = t[t["minus_shipped_lo"] > 0]
    below = t[t["minus_shipped_hi"] < 0]
    parts = []
    if len(above):
        parts.append("above the shipped score: " + listed(above, lambda r: f"{r.minus_shipped:+.3f}") + ".")
    if len(below):
        parts.append("Below it: " + listed(below, lambda r: f"{r.minus_shipped:+.3f}") + ".")
    if {"paper_kendall", "kendall_lo", "kendall_hi"} <= set(t.columns):
        p = pd.to_numeric(t["paper_kendall"], errors="coerce")
        off = t[p.notna() & ((p < t["kendall_lo"]) | (p > t["kendall_hi"]))]
        if len(off):
            parts.append(
                "τ interval excluding the paper's value: "
                + listed(off, lambda r: f"{r.kendall:.3f} vs {float(r.paper_kendall):.3f}")
                + "."
            )
    if not parts:
        return None
    benches = t.groupby("variant")[["space", "dataset"]].apply(lambda g: len(g.drop_duplicates()))
    everywhere = [
        v
        for v, g in above.groupby("variant", sort=False)
        if len(g[["space", "dataset"]].drop_duplicates()) == benches.get(v, 0) and benches.get(v, 0) > 1
    ]
    lead = (
        f"In this run {', '.join(everywhere)} beat{'s' if len(everywhere) == 1 else ''} the shipped score on every "
        f"judged benchmark, so the shipped coupling is not the best variant here. "
        if everywhere
        else ""
    )
    return lead + f"What it decides (paired 95 % CIs; benchmarks with n ≥ {min_n}): " + " ".join(parts)


def smoke_note(key: str, table: pd.DataFrame, config: dict[str, Any] | None) -> str | None:
    """The sentence marking a study section as a smoke setting, or None at the paper's scale.

    Examples:
        >>> smoke_note("batch_size", pd.DataFrame({"n": [20], "batch_size": [8]}), None)[:40]
        'Smoke setting: τ over 20 architectures ('
    """
    if table.empty:
        return None
    if key in ("batch_size", "seeds") and "n" in table:
        n = _int(table["n"].max())
        if n is not None and n < SMOKE.min_study_architectures:
            return (
                f"Smoke setting: τ over {n:,} architectures (studies.sample), where the paper's values are "
                f"over all {SMOKE.paper_study_architectures:,} of NB201; at this size a τ of one sample "
                f"is not comparable with the paper's (config/study1000.yaml runs 1,000)."
            )
    if key in ("search_zennas", "search_nb201"):
        t = _int(table["iterations"].max()) if "iterations" in table else None
        if t is None:
            t = _int(_config(config, "search", "iterations" if key == "search_zennas" else "nb201_iterations"))
        if t is not None and t < SMOKE.min_search_iterations:
            same = ""
            if "best_arch" in table and len(table) > 1 and table["best_arch"].nunique() == 1:
                same = f" All {len(table)} searches returned the same structure."
            if key == "search_nb201":  # the paper searches only the Zen-NAS space; this is our own check
                return (
                    f"Smoke setting: {t:,} iterations per search. The paper runs InTrain-NAS only on the "
                    f"Zen-NAS ImageNet space (T = {SMOKE.paper_search_iterations:,}); this NB201 search is the "
                    f"harness's own check, where the pick's accuracy is known, and config/search_paper.yaml "
                    f"runs it for {SMOKE.min_search_iterations:,} iterations.{same}"
                )
            return (
                f"Smoke setting: {t:,} iterations per search, where the paper's InTrain-NAS runs "
                f"T = {SMOKE.paper_search_iterations:,}; at this length the search has seen a handful of "
                f"networks and its pick does not stand for the method's (config/search_paper.yaml "
                f"runs the paper's length).{same}"
            )
    if key == "search_regret" and "seeds" in table:
        seeds = _int(table["seeds"].min())
        t_max = _int(table["T"].max()) if "T" in table else None
        if (seeds is not None and seeds < 50) or (t_max is not None and t_max < SMOKE.min_search_iterations):
            return (
                f"Smoke setting: {seeds} seeds per b and T up to {t_max:,}, where the study runs at least 50 seeds "
                f"and T = {SMOKE.min_search_iterations:,} (NB201's search.nb201_iterations)."
            )
    if key == "search_picks":
        n = _int(_config(config, "search", "pick_n"))
        if n is not None and n < 5_000:
            return f"Smoke setting: picks among N = {n:,} sampled architectures, where the paper samples 5,000."
    return None


def isomorphic_copies(score_paths: Sequence[str]) -> dict[tuple[str, str], int]:
    """Per (space, dataset): how many of its architectures were not scored but copied from an
    isomorphic representative (scoring deduplicates isomorphism classes)."""
    out: dict[tuple[str, str], int] = {}
    for path in score_paths:
        attrs = read_attrs(path)
        key = (str(attrs.get("space")), str(attrs.get("dataset")))
        if key in out:
            continue
        scores = read_scores(path)
        if "representative" in scores:
            out[key] = int((scores["arch_index"] != scores["representative"]).sum())
    return out


def with_copies(table: pd.DataFrame, copies: dict[tuple[str, str], int]) -> pd.DataFrame:
    """``table`` with an ``n_copies`` column right after ``n`` where some benchmark has copies."""
    if not copies or not {"space", "dataset", "n"} <= set(table.columns) or table.empty:
        return table
    out = table.copy()
    col = [copies.get((str(s), str(d)), 0) for s, d in zip(out["space"], out["dataset"])]
    if not any(col):
        return table
    if "n_copies" in out:
        out = out.drop(columns="n_copies")
    out.insert(list(out.columns).index("n") + 1, "n_copies", col)
    return out


def _pass_costs(path: str) -> dict[str, np.ndarray]:
    """``/arch/cost_<pass>``: seconds of each separate pass the artifact's proxies needed."""
    from intrain.core.artifacts import open_artifact

    with open_artifact(path) as f:
        return {k[len("cost_") :]: f["arch"][k][()] for k in f["arch"] if k.startswith("cost_")}


def cost_table(score_paths: Sequence[str]) -> pd.DataFrame:
    """Seconds per architecture for every proxy, from the timings stored in the artifacts, each
    network timed once (isomorphic copies hold their representative's record); median and 90th
    percentile per benchmark. What was timed (column ``timed``), in order of preference:

    * ``own``: the proxy's own ``<proxy>.seconds`` (its hooks or passes);
    * ``own pass``: ``/arch/cost_<proxy>``, the separate pass run for it (synflow, zen, ...);
    * ``shared probe``: ``pass_seconds``, the one forward + backward that InTrain and the
      collector-served proxies (grad_norm, snip, jacov, naswot, ...) share: each of them costs at
      most that, together.
    """
    from intrain.analysis.correlate import proxy_columns

    rows = []
    for path in score_paths:
        attrs = read_attrs(path)
        scores = read_scores(path, expand=False)
        costs = _pass_costs(path)
        raw = attrs.get("settings")
        settings = json.loads(raw) if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        proxies = [p for p in proxy_columns(scores) if "." not in p]
        for proxy in proxies:
            if f"{proxy}.seconds" in scores:
                secs, timed = scores[f"{proxy}.seconds"].to_numpy(dtype=float), "own"
            elif proxy in costs:
                secs, timed = np.asarray(costs[proxy], dtype=float), "own pass"
            elif "pass_seconds" in scores and np.isfinite(scores["pass_seconds"]).any():
                secs, timed = scores["pass_seconds"].to_numpy(dtype=float), "shared probe"
            else:
                continue
            secs = secs[np.isfinite(secs)]
            if not len(secs):
                continue
            rows.append(
                {
                    "proxy": proxy,
                    "space": attrs.get("space"),
                    "dataset": attrs.get("dataset"),
                    "networks": len(secs),
                    "seconds_median": float(np.median(secs)),
                    "seconds_p90": float(np.quantile(secs, 0.9)),
                    "timed": timed,
                    "batch_size": settings.get("batch_size", attrs.get("batch_size")),
                    "device": attrs.get("device"),
                }
            )
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).drop_duplicates(["proxy", "space", "dataset"])
    order = {b: i for i, b in enumerate(dict.fromkeys(zip(table["space"], table["dataset"])))}  # the run's order
    table["_order"] = [order[b] for b in zip(table["space"], table["dataset"])]
    table = table.sort_values(["_order", "seconds_median"], kind="stable").drop(columns="_order")
    return table.reset_index(drop=True)


def cost_summary(cost: pd.DataFrame) -> pd.DataFrame:
    """`cost_table` as one row per proxy, the median seconds per benchmark in columns
    (``<space>/<dataset> seconds``), cheapest first on the first benchmark."""
    if cost.empty:
        return cost
    cost = cost.assign(benchmark=cost["space"].astype(str) + "/" + cost["dataset"].astype(str) + " seconds")
    wide = cost.pivot_table(index="proxy", columns="benchmark", values="seconds_median", sort=False)
    wide = wide[list(dict.fromkeys(cost["benchmark"]))]
    timed = cost.groupby("proxy", sort=False)["timed"].agg(lambda t: ", ".join(dict.fromkeys(t)))
    out = wide.join(timed).reset_index()
    return out.sort_values(str(wide.columns[0]), kind="stable", na_position="last").reset_index(drop=True)


COST_NOTE = (
    "Median seconds per architecture each proxy took in this run (per benchmark; the 90th percentile "
    "and network counts are in cost.csv), read from the timings stored in the artifacts. timed: own = the proxy's own passes and hooks; own pass = the separate pass run for "
    "it; shared probe = the one forward + backward of the scoring set the proxy ran in, which every "
    "proxy of that set served from it shares: an upper bound on each of them, not its own cost (flops "
    "and params only count and cost far less). Each set runs its own probe, so the same network's "
    "probe time differs between sets with few and many collectors. The network build is not included; each network "
    "timed once, isomorphic copies not counted. Measured on this run's device under its load: "
    "compare proxies within a run, not across machines."
)
