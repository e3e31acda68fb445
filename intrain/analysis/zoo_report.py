"""The report's "Beyond cell spaces" section: the timm zoo's τ tables (no torch).

`zoo_tables` computes the tables from the zoo's merged artifacts and ground truth
(`intrain.analysis.zoo`); `zoo_sections` returns them as report sections (``(key,
title, html)``, as `intrain.analysis.report` builds its page), `zoo_markdown` as the
markdown of docs/beyond-cell-spaces.md. ``python -m intrain.analysis.zoo_report`` writes the CSVs
and the markdown from a results folder.

The section states what the numbers can mean: timm's accuracies come from different training
recipes (epochs, augmentation, distillation, resolution) chosen per model by different authors,
so a proxy computed at initialisation is compared against recipe-and-architecture, not against
architecture alone; the rows are the in1k-only ones, one per architecture (its best recipe).
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from intrain.analysis import zoo as az
from intrain.core.errors import InputError

__all__ = [
    "MEANING",
    "ZooTables",
    "artifact_paths",
    "report_sections",
    "tables_from_frames",
    "zoo_markdown",
    "zoo_sections",
    "zoo_tables",
]

#: The plain statement every rendering of the zoo tables carries.
MEANING = (
    "The zoo is not a search space: its models were designed by hand and trained with different "
    "recipes (epochs, augmentation, distillation, evaluation side) chosen per model, so a τ here "
    "compares an initialisation-time score against architecture and recipe together. Only rows "
    "trained on ImageNet-1k alone are used, one per architecture (its best recipe's top-1). "
    "A proxy that does not beat #params or FLOPs here has not shown that it sees more than size "
    "across hand-designed families; one that does may still be reading recipe-correlated traits."
)


@dataclass
class ZooTables:
    """The zoo's tables: ``headline`` (each proxy with its τ, CI and the paired Δτ against #params
    and FLOPs over the architectures both scored, with the baseline's τ on those same architectures;
    one block per ``sample``: ``all``, then each named sample such as the CNN selection and its
    token-layout extension), ``scopes`` (every scope of `intrain.analysis.zoo.tau_table` over
    all architectures), ``protocol`` (cheap vs full side on the subset), and what was scored
    (``samples``: architectures per named sample)."""

    headline: pd.DataFrame
    scopes: pd.DataFrame
    protocol: pd.DataFrame
    sides: dict[str, int] = field(default_factory=dict)
    n_archs: int = 0
    n_families: int = 0
    samples: dict[str, int] = field(default_factory=dict)


def _proxies(df: pd.DataFrame) -> list[str]:
    """Main scores (no ``proxy.component`` columns), ``intrain`` first, then alphabetical."""
    meta = {"arch_index", "arch", "canonical", "recipe", "family", az.ACC, "top5", "params_m", "eval_img_size"}
    cols = [c for c in df.columns if c not in meta and "." not in c and c != "crop_pct"]
    cols = [c for c in cols if pd.api.types.is_numeric_dtype(df[c]) and df[c].notna().any()]
    return sorted(cols, key=lambda c: (c != "intrain", c))


def zoo_tables(
    score_paths: Sequence[str],
    groundtruth: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
    dedup: str = "best",
    samples: Mapping[str, Collection[str]] | None = None,
) -> ZooTables:
    """The zoo's tables from its artifacts (any order; the lowest scoring side is the cheap
    protocol, the highest the full one); ``samples`` names groups of architectures that get their
    own headline block (e.g. ``{"cnn": ..., "tokens": ...}``)."""
    return tables_from_frames(az.load_artifacts(score_paths), groundtruth, n_boot, seed, dedup, samples)


def _headline(frame: pd.DataFrame, proxies: Sequence[str], sample: str, n_boot: int, seed: int) -> list[dict[str, Any]]:
    """One row per proxy scored in ``frame``: τ over all its rows, paired Δτ vs each cost baseline
    over the rows both scored (``vs_<base>_tau``: the baseline's τ on those rows)."""
    from intrain.analysis.stats import correlate, paired_tau_difference

    rows = []
    for p in proxies:
        c = correlate(frame[p].to_numpy(float), frame[az.ACC].to_numpy(float), n_boot=n_boot, seed=seed)
        if not c.n:
            continue
        r: dict[str, Any] = {"proxy": p, "size": len(frame), "n": c.n, "n_excluded": c.n_excluded}
        r.update(kendall=c.kendall, kendall_lo=c.kendall_lo, kendall_hi=c.kendall_hi)
        r["sample"] = sample
        for base in az.BASELINES_VS:
            if base in frame.columns and base != p:
                d = paired_tau_difference(
                    frame[p].to_numpy(float),
                    frame[base].to_numpy(float),
                    frame[az.ACC].to_numpy(float),
                    n_boot=n_boot,
                    seed=seed,
                )
                r[f"vs_{base}"], r[f"vs_{base}_lo"], r[f"vs_{base}_hi"] = d.delta, d.lo, d.hi
                r[f"vs_{base}_n"], r[f"vs_{base}_tau"] = d.n, d.tau_b
        rows.append(r)
    return rows


def tables_from_frames(
    by_side: dict[int, pd.DataFrame],
    groundtruth: pd.DataFrame,
    n_boot: int = 1000,
    seed: int = 0,
    dedup: str = "best",
    samples: Mapping[str, Collection[str]] | None = None,
) -> ZooTables:
    """`zoo_tables` on score frames by scoring side (``arch`` + proxy columns each)."""
    if not by_side:
        raise InputError("no zoo artifact given")
    cheap_side, full_side = min(by_side), max(by_side)
    cheap = az.join(by_side[cheap_side], groundtruth, dedup)
    proxies = _proxies(cheap)
    # within/across families and FLOP bands: the proxies scored on at least half the architectures
    # (the heavy sets' seeded sub-samples leave one or two members per family)
    wide = [p for p in proxies if cheap[p].notna().sum() * 2 >= len(cheap)]
    scopes = az.tau_table(cheap, wide, n_boot=n_boot, seed=seed)
    rows = _headline(cheap, proxies, "all", n_boot, seed)
    sizes: dict[str, int] = {}
    for name, archs in (samples or {}).items():
        if name == "all":
            raise InputError("a sample cannot be named 'all' (the block of every architecture)")
        part = cheap[cheap["arch"].isin(set(archs))]
        sizes[name] = int(part["arch"].nunique())
        if sizes[name] >= 3:
            rows += _headline(part.reset_index(drop=True), proxies, name, n_boot, seed)
    headline = pd.DataFrame(rows)
    protocol = pd.DataFrame()
    if full_side != cheap_side:
        full = az.join(by_side[full_side], groundtruth, dedup)
        protocol = az.protocol_deltas(cheap, full, [p for p in proxies if p in full.columns], n_boot=n_boot, seed=seed)
    return ZooTables(
        headline,
        scopes,
        protocol,
        {"cheap": cheap_side, "full": full_side},
        int(cheap["arch"].nunique()),
        int(cheap["family"].nunique()),
        sizes,
    )


def _ci(tau: float, lo: float, hi: float) -> str:
    if pd.isna(tau):
        return "–"
    return f"{tau:+.3f} [{lo:+.2f}, {hi:+.2f}]" if pd.notna(lo) else f"{tau:+.3f}"


def _head_table(h: pd.DataFrame) -> pd.DataFrame:
    """One headline block for display: τ with CI, and Δτ vs each baseline with the baseline's own τ
    on the same architectures (which differs from its headline τ when the proxy scored a subset)."""
    out = pd.DataFrame(
        {
            "proxy": h["proxy"],
            "n": h["n"].astype(int),
            "τ vs top-1 [95% CI]": [_ci(r.kendall, r.kendall_lo, r.kendall_hi) for r in h.itertuples()],
        }
    )
    for b in az.BASELINES_VS:
        if f"vs_{b}" not in h.columns:
            continue
        out[f"τ {b} (same archs)"] = [
            "–" if pd.isna(getattr(r, f"vs_{b}_tau")) else f"{getattr(r, f'vs_{b}_tau'):+.3f}" for r in h.itertuples()
        ]
        out[f"Δτ vs {b} [95% CI]"] = [
            _ci(*(getattr(r, f"vs_{b}{s}", float("nan")) for s in ("", "_lo", "_hi"))) for r in h.itertuples()
        ]
    return out.reset_index(drop=True)


def _display(t: ZooTables) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    samples = t.headline["sample"] if "sample" in t.headline.columns else pd.Series("all", index=t.headline.index)
    head = {str(name): _head_table(t.headline[samples == name]) for name in dict.fromkeys(samples)}
    wide = t.scopes[t.scopes.scope != "all"].copy()
    wide["τ"] = [
        _ci(r.kendall, r.kendall_lo, r.kendall_hi) + (f" (n={r.n})" if r.n < r.size and pd.notna(r.kendall) else "")
        for r in wide.itertuples()
    ]
    wide["where"] = wide["scope"] + ": " + wide["group"] + " (" + wide["size"].astype(str) + ")"
    order = list(dict.fromkeys(wide["where"]))
    scopes = wide.pivot(index="where", columns="proxy", values="τ").reindex(order).reset_index()
    proto = pd.DataFrame()
    if not t.protocol.empty:
        proto = pd.DataFrame(
            {
                "proxy": t.protocol["proxy"],
                "n": t.protocol["n"].astype(int),
                f"τ at {t.sides['cheap']} px": t.protocol["tau_cheap"].map(lambda v: f"{v:+.3f}"),
                f"τ at {t.sides['full']} px": t.protocol["tau_full"].map(lambda v: f"{v:+.3f}"),
                "Δτ (cheap − full) [95% CI]": [_ci(r.delta, r.lo, r.hi) for r in t.protocol.itertuples()],
            }
        )
    return head, scopes, proto


def _sample_title(t: ZooTables, name: str) -> str:
    return "All architectures" if name == "all" else f"Sample {name!r} ({t.samples.get(name, '?')} architectures)"


def zoo_sections(t: ZooTables) -> list[tuple[str, str, str]]:
    """The zoo's report sections, ``(key, title, html)`` like `intrain.analysis.report`'s."""
    from intrain.analysis.report import _section, html_table
    from intrain.core.sinks import html_text

    head, scopes, proto = _display(t)
    body = (
        f'<p class="lede">{t.n_archs} timm architectures from {t.n_families} families, scored at '
        f"initialisation at {t.sides['cheap']} px; Kendall τ against timm's ImageNet-1k top-1, "
        "with percentile-bootstrap 95% CIs; Δτ against #params and FLOPs by the paired bootstrap.</p>"
        f'<p class="note">{html_text(MEANING)}</p>'
        + "".join(html_table(h, caption=_sample_title(t, name)) for name, h in head.items())
        + html_table(scopes, caption="Within families (≥ 5 members), across family medians, per FLOP band")
    )
    if not proto.empty:
        body += html_table(proto, caption="Cheap vs full scoring side on the subset (paired bootstrap)")
    return [_section("zoo", "Beyond cell spaces: the timm model zoo", body)]


def report_sections(score_paths: Sequence[str], groundtruth: object, n_boot: int = 1000) -> list[tuple[str, str, str]]:
    """The zoo's report sections for a run's artifacts (any spaces; none when the run has no zoo
    artifact), with its ground truth from ``groundtruth`` (a `GroundTruths`,
    a ``zoo=CSV`` value or a path). What `intrain.analysis.report.build_report` appends."""
    from intrain.analysis.groundtruth import GroundTruths
    from intrain.core.artifacts import read_attrs

    paths = [str(p) for p in score_paths if read_attrs(p).get("space") == "zoo"]
    if not paths:
        return []
    gts = GroundTruths.of(groundtruth)  # type: ignore[arg-type]
    return zoo_sections(zoo_tables(paths, gts.table("zoo"), n_boot=n_boot))


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += [
        "| " + " | ".join("–" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)
    ]
    return "\n".join(lines)


def zoo_markdown(t: ZooTables) -> str:
    """The tables as markdown (docs/beyond-cell-spaces.md)."""
    head, scopes, proto = _display(t)
    parts = [
        f"{t.n_archs} architectures, {t.n_families} families, scored at {t.sides['cheap']} px.",
        *(f"### {_sample_title(t, name)}\n\n" + _md_table(h) for name, h in head.items()),
        "### Within families, across families, per FLOP band\n\n" + _md_table(scopes),
    ]
    if not proto.empty:
        parts.append(f"### {t.sides['cheap']} px vs {t.sides['full']} px on the subset\n\n" + _md_table(proto))
    return "\n\n".join(parts) + "\n"


def artifact_paths(folder: Path) -> list[str]:
    """The zoo's merged artifacts in ``folder``; for the main scores or a set whose merge is missing
    (a shard failed, e.g. a proxy that cannot differentiate an activation), the shards that exist."""
    paths = sorted(str(f) for f in folder.glob("*.h5"))
    if not (folder / "scores.h5").exists():
        paths += sorted(str(f) for f in (folder / "shards").glob("shard-*.h5"))
    for set_dir in sorted((folder / "sets").glob("*")):
        if not (folder / f"set-{set_dir.name}.h5").exists():
            paths += sorted(str(f) for f in set_dir.glob("shard-*.h5"))
    return paths


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="the zoo's τ tables from results folders (CSV + markdown)")
    p.add_argument(
        "results",
        nargs="+",
        help="results folders (each holds zoo/imagenet/*.h5 and groundtruth/zoo.csv); several are joined "
        "on the architecture, each its own headline block",
    )
    p.add_argument("--labels", nargs="*", help="one name per results folder (default: the folder names)")
    p.add_argument("--out", required=True, help="folder for zoo_*.csv and zoo_tables.md")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--dedup", choices=["best", "all"], default="best")
    args = p.parse_args(argv)
    folders = [Path(r) for r in args.results]
    labels = args.labels or [f.name for f in folders]
    if len(labels) != len(folders) or len(set(labels)) != len(labels):
        raise InputError(f"--labels needs {len(folders)} distinct names, one per results folder; got {labels}")
    paths: list[str] = []
    samples: dict[str, set[str]] = {}
    gts = []
    for label, res in zip(labels, folders):
        own = artifact_paths(res / "zoo" / "imagenet")
        if not own:
            raise InputError(f"{res} holds no zoo artifact under zoo/imagenet/")
        paths += own
        samples[label] = {str(a) for df in az.load_artifacts(own).values() for a in df["arch"]}
        gts.append(pd.read_csv(res / "groundtruth" / "zoo.csv"))
    gt = pd.concat(gts, ignore_index=True).drop_duplicates(["arch_index", "arch"])
    t = zoo_tables(paths, gt, n_boot=args.n_boot, dedup=args.dedup, samples=samples if len(folders) > 1 else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t.headline.to_csv(out / "zoo_headline.csv", index=False)
    t.scopes.to_csv(out / "zoo_scopes.csv", index=False)
    t.protocol.to_csv(out / "zoo_protocol.csv", index=False)
    (out / "zoo_tables.md").write_text(zoo_markdown(t))
    print(zoo_markdown(t))


if __name__ == "__main__":
    main()
