"""Human summary of an artifact: what it holds, its provenance, a few rows, one arch's layers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from intrain.core.artifacts import open_artifact, read_layers, read_params, read_scores
from intrain.core.bounded import load_json
from intrain.core.errors import InputError


def inspect_artifact(path: str, arch: int | None = None, rows: int = 5) -> str:
    out: list[str] = [f"artifact: {path}"]
    with open_artifact(path) as f:
        attrs = dict(f.attrs)
        n_scored = len(f["arch/index"])
        n_layers = len(f["layer/pr"])
        n_params = len(f["param/std"])
        n_members = len(f["members/index"]) if "members" in f else n_scored
        proxies = {p: list(g) for p, g in f["proxy"].items()}
    out.append("provenance:")
    for k in sorted(attrs):
        v = attrs[k]
        if isinstance(v, str) and v.startswith("{"):
            try:  # an attribute of the file: bounded parse, shown raw (shortened) when it is not JSON
                v = json.dumps(load_json(v, k), sort_keys=True)
            except InputError:
                v = v[:200]
        out.append(f"  {k}: {v}")
    out.append(
        f"holds: {n_members} architectures ({n_scored} scored; the rest take an isomorphic "
        f"representative's values), {n_layers} layer rows, {n_params} parameter rows"
    )
    out.append("proxies: " + ", ".join(f"{p} [{', '.join(c)}]" for p, c in proxies.items()))
    scores = read_scores(path)
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_colwidth", 60):
        out.append("\nfirst rows:")
        out.append(scores.head(rows).to_string(index=False))
        numeric = scores.select_dtypes(np.number).drop(
            columns=["arch_index", "representative", "flags"], errors="ignore"
        )
        out.append("\nsummary:")
        out.append(numeric.describe().T[["mean", "std", "min", "max"]].to_string(float_format=lambda x: f"{x:.4g}"))
        flagged = int((scores["flags"] != 0).sum())
        out.append(f"\nflagged architectures: {flagged}")
        idx = int(scores["arch_index"].iloc[0]) if arch is None else arch
        layers = read_layers(path, idx)
        params = read_params(path, idx)
        out.append(f"\nper-layer statistics of architecture {idx} ({len(layers)} layers):")
        out.append(layers.drop(columns=["arch_index"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        out.append(
            f"\nper-parameter gradient statistics of architecture {idx} ({len(params)} parameters, first {rows * 2}):"
        )
        out.append(
            params.drop(columns=["arch_index"]).head(rows * 2).to_string(index=False, float_format=lambda x: f"{x:.4g}")
        )
    return "\n".join(out)
