"""intrain artifacts -> the peers' formats (NASLib zc JSON, zero-cost-nas stream) and CSV/Parquet.

Every selected architecture of a merged artifact gets a row (isomorphic members carry their
representative's scores, as in ``intrain.core.artifacts.read_scores``). ``val_accuracy`` comes from the
ground truth's ``valid_<dataset>`` column (the NB201 ``*_train_valid_test.csv``; ``cifar10`` is
the ``cifar10-valid`` setting, as in NASLib and zero-cost-nas) and is omitted, with a note,
where that column or value is missing. ``time`` is the artifact's per-architecture seconds
(build + probe + every proxy's reductions, shared by its proxies), or an imported artifact's
per-proxy ``cost_<proxy>``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from intrain.core.errors import InputError
from intrain.interop.peerscores import PeerScores
from intrain.spaces import get_space

__all__ = ["FORMATS", "artifact_scores", "export", "frame", "read_frame"]

log = logging.getLogger("intrain.interop")
FORMATS = ("naslib-zc", "zero-cost-nas", "csv", "parquet")


def _costs(path: str, proxies: Sequence[str]) -> dict[str, dict[int, float]]:
    """Per-proxy seconds an imported artifact stores (``/arch/cost_<proxy>``), by arch index."""
    from intrain.core.artifacts import open_artifact

    with open_artifact(path) as f:
        idx = f["arch/index"][()]
        return {p: dict(zip(idx.tolist(), f[f"arch/cost_{p}"][()].tolist())) for p in proxies if f"arch/cost_{p}" in f}


def artifact_scores(
    path: str, proxies: Sequence[str] | None = None, groundtruth=None, notes: list[str] | None = None
) -> PeerScores:
    """One merged artifact as a `PeerScores` (keys: arch strings; index: benchmark index)."""
    from intrain.analysis.correlate import proxy_columns
    from intrain.analysis.groundtruth import GroundTruths
    from intrain.core.artifacts import read_attrs, read_population_rules, read_scores
    from intrain.core.ranking import add_population_scores

    notes = [] if notes is None else notes
    attrs = read_attrs(path)
    space, dataset = attrs["space"], attrs["dataset"]
    df = (
        add_population_scores(read_scores(path), read_population_rules(path))
        .sort_values("arch_index", kind="stable")
        .reset_index(drop=True)
    )
    available = [c for c in proxy_columns(df) if "." not in c]
    chosen = list(proxies) if proxies else available
    missing = [p for p in chosen if p not in available]
    if missing:
        raise InputError(f"{path}: no proxy {missing}; it has {available}")
    costs = _costs(path, chosen)
    times = {
        p: (df["representative"].map(costs[p]) if p in costs else df["seconds"]).to_numpy(np.float64) for p in chosen
    }
    val = None
    if groundtruth is None:
        notes.append(f"{path}: val_accuracy omitted (no --groundtruth given)")
    else:
        gt = GroundTruths.of(groundtruth).table(space)
        col = f"valid_{dataset}"
        if col not in gt.columns:
            notes.append(
                f"{path}: val_accuracy omitted: the {space} ground truth has no {col!r} column "
                "(build it with `intrain groundtruth ... --valid DATASET=CSV`)"
            )
        else:
            val = df["arch_index"].map(dict(zip(gt["arch_index"], gt[col]))).to_numpy(np.float64)
            if np.isnan(val).any():
                notes.append(
                    f"{path}: val_accuracy omitted for {int(np.isnan(val).sum())} of {len(val)} architectures "
                    f"(no {col} in the ground truth)"
                )
            if np.isnan(val).all():
                val = None
    return PeerScores(
        space,
        dataset,
        df["arch"].tolist(),
        df["arch_index"].to_numpy(np.int64),
        {p: df[p].to_numpy(np.float64) for p in chosen},
        times,
        val,
        str(path),
    )


def frame(tables: Sequence[PeerScores]) -> pd.DataFrame:
    """The CSV/Parquet table: one row per (dataset, architecture), intrain's proxy names."""
    parts = []
    for t in tables:
        df = pd.DataFrame({"space": t.space, "dataset": t.dataset, "arch_index": t.index, "arch": t.key})
        for name, enc in get_space(t.space).encodings().items():  # the space's own columns (NASLib tuple, hash)
            if enc.exported:
                df[name] = [str(enc.encode(k)) for k in t.key]
        if t.val_accuracy is not None:
            df["val_accuracy"] = t.val_accuracy
        first = next(iter(t.times.values()), None)
        shared = first is not None and all(np.array_equal(v, first, equal_nan=True) for v in t.times.values())
        if shared:
            df["time"] = first
        else:
            for p, v in t.times.items():
                df[f"time_{p}"] = v
        for p, v in t.scores.items():
            df[p] = v
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def export(
    paths: Sequence[str], fmt: str, out: str | os.PathLike, proxies: Sequence[str] | None = None, groundtruth=None
) -> list[str]:
    """Export artifacts to ``out`` in ``fmt``; returns notes for stderr (what was omitted)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; known: {list(FORMATS)}")
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise RuntimeError(
            "parquet export needs pyarrow, which is not installed: pip install 'intrain[parquet]' "
            "(or export --format csv)"
        )
    notes: list[str] = []
    tables = [artifact_scores(p, proxies, groundtruth, notes) for p in paths]
    if fmt == "naslib-zc":
        from intrain.interop.naslib_zc import write_zc

        failed = write_zc(out, tables)
        if failed:
            notes.append(f"{failed} non-finite scores written as NASLib's -1e8 (read back as NaN by intrain import)")
    elif fmt == "zero-cost-nas":
        from intrain.interop.zero_cost_nas import write_stream

        if len(tables) != 1:
            raise InputError("zero-cost-nas files hold one dataset: export one artifact per file")
        write_stream(out, tables[0])
    else:
        from intrain.core.sinks import csv_text, neutralise_frame
        from intrain.interop.peerscores import write_atomic

        df = frame(tables)  # formula-like string cells neutralised (intrain.core.sinks); read back with read_frame
        if fmt == "csv":
            write_atomic(out, lambda fh: fh.write(csv_text(df).encode("utf-8")))
        else:
            write_atomic(out, lambda fh: neutralise_frame(df).to_parquet(fh, index=False))
    return notes


def read_frame(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV or Parquet file `export` wrote, every string cell as it was before export
    (the neutralising ``'`` of `intrain.core.sinks` removed, numbers untouched)."""
    from intrain.core.sinks import read_csv, restore_frame

    if str(path).endswith(".parquet"):
        return restore_frame(pd.read_parquet(path), path)
    return read_csv(path)
