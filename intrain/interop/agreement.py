"""Two implementations of the same proxy, side by side (no torch at import).

For each proxy present in both artifacts (typically a peer's imported scores and intrain's own):
the Spearman rho between the two implementations' scores over the architectures both scored,
and each one's Kendall tau against accuracy on that same set, so the taus compare like with like.

Examples:
    >>> import pandas as pd
    >>> a = pd.DataFrame({"arch_index": [0, 1, 2, 3], "snip": [1.0, 2.0, 3.0, 4.0]})
    >>> b = pd.DataFrame({"arch_index": [1, 2, 3, 4], "snip": [10.0, 30.0, 20.0, 0.0]})
    >>> acc = pd.DataFrame({"arch_index": [0, 1, 2, 3, 4], "acc": [50.0, 60.0, 70.0, 80.0, 90.0]})
    >>> agreement(a, b, acc, "acc")[["proxy", "n_shared", "spearman_ab", "kendall_a", "kendall_b"]].round(3).to_dict("records")
    [{'proxy': 'snip', 'n_shared': 3, 'spearman_ab': 0.5, 'kendall_a': 1.0, 'kendall_b': 0.333}]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from intrain.analysis.correlate import is_imported
from intrain.analysis.stats import kendall, spearman
from intrain.core.errors import InputError
from intrain.core.names import is_reserved

__all__ = ["agreement", "agreement_from_artifacts", "agreement_table", "is_imported", "label_of"]


def _proxies(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if not is_reserved(c) and "." not in c]


def _corr(fn, x: np.ndarray, y: np.ndarray) -> float:
    return fn(x, y) if len(x) >= 3 else float("nan")


def agreement(
    a: pd.DataFrame,
    b: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    acc: str | None = None,
    proxies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per shared proxy: n_shared, spearman_ab, n (finite in both and in ``truth[acc]``), kendall_a/b."""
    shared = [p for p in (proxies or _proxies(a)) if p in _proxies(b)]
    rows = []
    for p in shared:
        df = a[["arch_index", p]].merge(b[["arch_index", p]], on="arch_index", suffixes=("_a", "_b"))
        x, y = df[f"{p}_a"].to_numpy(np.float64), df[f"{p}_b"].to_numpy(np.float64)
        both = np.isfinite(x) & np.isfinite(y)
        row = {"proxy": p, "n_shared": int(len(df)), "spearman_ab": _corr(spearman, x[both], y[both])}
        if truth is not None and acc is not None:
            t = df["arch_index"].map(dict(zip(truth["arch_index"], truth[acc]))).to_numpy(np.float64)
            ok = both & np.isfinite(t)
            row |= {
                "n": int(ok.sum()),
                "kendall_a": _corr(kendall, x[ok], t[ok]),
                "kendall_b": _corr(kendall, y[ok], t[ok]),
            }
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=["proxy", "n_shared", "spearman_ab", "n", "kendall_a", "kendall_b"]
        if truth is not None and acc is not None
        else ["proxy", "n_shared", "spearman_ab"],
    )


def label_of(attrs: dict, path: str) -> str:
    """What an artifact is, for the table: its import provenance or ``intrain:<file>``."""
    if is_imported(attrs):
        return str(attrs["provenance"]).split(" ")[0]
    return f"intrain:{Path(path).name}"


def agreement_from_artifacts(
    a_path: str, b_paths: Sequence[str], groundtruth=None, metric: str = "valid"
) -> pd.DataFrame:
    """`agreement` of artifact ``a_path`` against each of ``b_paths`` of the same space and dataset."""
    from intrain.analysis.groundtruth import GroundTruths, accuracy_column  # imports torch (the spaces): only here
    from intrain.core.artifacts import read_attrs, read_population_rules, read_scores
    from intrain.core.ranking import add_population_scores

    attrs_a = read_attrs(a_path)
    a = add_population_scores(read_scores(a_path), read_population_rules(a_path))
    acc = accuracy_column(attrs_a["dataset"], metric)
    truth = None
    if groundtruth is not None:
        gt = GroundTruths.of(groundtruth)
        table = gt.table(attrs_a["space"])
        if acc not in table.columns:
            raise InputError(f"{gt.path(attrs_a['space'])} has no column {acc!r} (metric {metric!r})")
        truth = table[["arch_index", acc]]
    parts = []
    for b_path in b_paths:
        attrs_b = read_attrs(b_path)
        if (attrs_b["space"], attrs_b["dataset"]) != (attrs_a["space"], attrs_a["dataset"]):
            raise InputError(
                f"{b_path} is {attrs_b['space']}/{attrs_b['dataset']}, "
                f"{a_path} is {attrs_a['space']}/{attrs_a['dataset']}"
            )
        table = agreement(
            a,
            add_population_scores(read_scores(b_path), read_population_rules(b_path)),
            truth,
            acc if truth is not None else None,
        )
        table.insert(0, "b", label_of(attrs_b, b_path))
        table.insert(0, "a", label_of(attrs_a, a_path))
        table.insert(0, "dataset", attrs_a["dataset"])
        table.insert(0, "space", attrs_a["space"])
        if truth is not None:
            table["metric"] = metric
        parts.append(table)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def agreement_table(paths: Sequence[str], groundtruth=None, metric: str = "valid") -> pd.DataFrame:
    """Every imported artifact among ``paths`` against every own one of the same space and dataset;
    without imports, the first artifact against the rest."""
    from intrain.core.artifacts import read_attrs

    attrs = {p: read_attrs(p) for p in paths}
    imports = [p for p in paths if is_imported(attrs[p])]
    if not imports:
        return agreement_from_artifacts(paths[0], paths[1:], groundtruth, metric)
    parts = []
    for a in imports:
        key = (attrs[a]["space"], attrs[a]["dataset"])
        own = [p for p in paths if not is_imported(attrs[p]) and (attrs[p]["space"], attrs[p]["dataset"]) == key]
        if own:
            parts.append(agreement_from_artifacts(a, own, groundtruth, metric))
    parts = [t for t in parts if not t.empty]
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["space", "dataset", "a", "b", "proxy", "n_shared", "spearman_ab"])
    )
