"""Peers' score files -> an intrain artifact in the normal HDF5 schema (``intrain.core.artifacts``).

The artifact looks like a merged one (``/arch``, ``/proxy/<name>/score``, ``/members``) with
empty per-layer and per-parameter tables, so ``correlate``, the studies that read scores, the
report and `.agreement` take it like any scored artifact. Its provenance attribute reads
``imported:<file name> <sha256>``. Each proxy's time goes to ``/arch/cost_<proxy>`` and their
sum to ``/arch/seconds``; the file's own ``val_accuracy`` is kept in ``/arch/peer_val_accuracy``
(never ranked: correlations use the ground-truth table).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from intrain.core.errors import InputError
from intrain.interop.peer_encodings import default_table, locate
from intrain.interop.peerscores import PeerScores
from intrain.spaces import get_space

__all__ = ["FORMATS", "import_scores", "read_peer_file", "resolve_indices", "write_artifact"]

log = logging.getLogger("intrain.interop")
FORMATS = ("naslib-zc", "zero-cost-nas", "csv", "parquet")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, for the provenance attribute."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def read_peer_file(path: str | os.PathLike, fmt: str, space: str, dataset: str) -> PeerScores:
    """One (space, dataset) of a peer file in format ``fmt`` (`FORMATS`), its names and
    numbers validated at the door (`validate_peer`)."""
    try:
        if fmt == "naslib-zc":
            from intrain.interop.naslib_zc import read_zc

            table = read_zc(path, space, dataset)
        elif fmt == "zero-cost-nas":
            from intrain.interop.zero_cost_nas import read_stream

            table = read_stream(path, space, dataset)
        elif fmt in ("csv", "parquet"):
            table = read_export(path, space, dataset)
        else:
            raise InputError(f"unknown import format {fmt!r}; known: {list(FORMATS)}")
    except (OverflowError, RecursionError, MemoryError) as e:  # a number or nesting no field check caught
        raise InputError(
            f"{Path(path).name}: {type(e).__name__} while reading ({str(e)[:200]}); the file "
            "holds a number beyond int64/float64 or nesting too deep"
        ) from None
    return validate_peer(table, Path(path).name)


def read_export(path: str | os.PathLike, space: str, dataset: str) -> PeerScores:
    """One (space, dataset) of a CSV/Parquet file ``intrain export`` wrote (`.export.frame`),
    its neutralised string cells restored (`.export.read_frame`)."""
    import pandas as pd

    from intrain.core.names import is_reserved
    from intrain.interop.export import read_frame

    label = Path(path).name
    try:
        df = read_frame(path)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, ImportError) as e:
        raise InputError(f"{label}: not a readable export table ({type(e).__name__}: {str(e)[:200]})") from None
    missing = [c for c in ("space", "dataset", "arch_index", "arch") if c not in df.columns]
    if missing:
        raise InputError(f"{label}: no column {missing} (not an `intrain export` table)")
    df = df[(df["space"] == space) & (df["dataset"] == dataset)].reset_index(drop=True)
    if df.empty:
        raise InputError(f"{label}: no rows for space {space!r} and dataset {dataset!r}")
    from intrain.spaces import get_space

    encodings = set(get_space(space).encodings())  # the space's own spelling columns (export.frame)
    proxies = [str(c) for c in df.columns if not is_reserved(str(c)) and str(c) not in encodings]

    def floats(col: str) -> np.ndarray:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(values.isna() & df[col].notna())
        if len(bad):
            raise InputError(
                f"{label}: record {int(bad[0])}: field {col!r} is not a number ({str(df[col].iloc[bad[0]])[:40]!r})"
            )
        return values.to_numpy(np.float64)

    index = pd.to_numeric(df["arch_index"], errors="coerce")
    if index.isna().any() or (index != np.round(index)).any() or (index.abs() > 2**62).any():
        k = int(np.flatnonzero(index.isna() | (index != np.round(index)) | (index.abs() > 2**62))[0])
        raise InputError(f"{label}: record {k}: field 'arch_index' is not an integer")
    times = {p: floats(f"time_{p}") for p in proxies if f"time_{p}" in df.columns}
    if "time" in df.columns:
        times = {p: floats("time") for p in proxies}
    return PeerScores(
        space,
        dataset,
        [str(a) for a in df["arch"]],
        index.to_numpy(np.int64),
        {p: floats(p) for p in proxies},
        times,
        floats("val_accuracy") if "val_accuracy" in df.columns else None,
        label,
    )


def validate_peer(table: PeerScores, label: str) -> PeerScores:
    """Refuse proxy names that are not valid or are reserved columns (`intrain.core.names`),
    stated ids outside ``-1..MAX_ARCH_ID`` and scores or times that are not float64 (non-finite
    scores pass: they are flagged ``NONFINITE`` in the artifact)."""
    from intrain.core.names import MAX_ARCH_ID, check_proxy_name

    for proxy in [*table.scores, *table.times]:
        check_proxy_name(proxy, f"{label}: field {str(proxy)[:80]!r}")
    index = np.asarray(table.index)
    if index.dtype.kind not in "iu" or index.shape != (len(table),):
        raise InputError(f"{label}: architecture ids are not one integer per record")
    bad = np.flatnonzero((index < -1) | (index > MAX_ARCH_ID))
    if len(bad):
        raise InputError(
            f"{label}: record {int(bad[0])} ({str(table.key[bad[0]])[:80]}): field id "
            f"{int(index[bad[0]])} is outside 0..{MAX_ARCH_ID}"
        )
    for what, columns in (("score", table.scores), ("time", table.times)):
        for proxy, values in columns.items():
            if np.asarray(values).dtype != np.float64 or np.shape(values) != (len(table),):
                raise InputError(f"{label}: field {proxy!r}: {what}s are not one float64 per record")
    return table


def resolve_indices(
    table: PeerScores, bench_table: str | None, strict_index: bool
) -> tuple[np.ndarray, list[str], int]:
    """Benchmark index and canonical arch string of every row, and the count not in the table.

    Each key's row is found through its space (`.peer_encodings.locate`); architectures
    outside the table are dropped (index -1) and counted. Where every spelling has its own row
    (``Space.peer_identity == "arch"``, NB201), a stated index (zero-cost-nas's ``i``) that
    disagrees is an error with ``strict_index``, else a warning.
    """
    path = bench_table or default_table(table.space)
    if not path:
        raise InputError(
            f"{table.source}: mapping {table.space} architectures to benchmark indices needs the "
            "benchmark table (--table, or INTRAIN_MIRROR pointing at the mirror)"
        )
    found, archs = locate(table.space, table.key, path)
    out = np.asarray(found, np.int64)
    stated = (out >= 0) & (table.index >= 0) & (table.index != out)
    if stated.any() and get_space(table.space).peer_identity == "arch":
        k = int(np.flatnonzero(stated)[0])
        msg = (
            f"{table.source}: {int(stated.sum())} records state a benchmark index that is not their arch "
            f"string's, e.g. {table.index[k]} for {table.key[k]} (row {out[k]} of {path})"
        )
        if strict_index:
            raise InputError(msg)
        log.warning("%s; the arch string's row is used", msg)
    return out, archs, int((out < 0).sum())


def write_artifact(
    dest: str | os.PathLike, table: PeerScores, index: np.ndarray, archs: list[str], attrs: dict[str, Any]
) -> None:
    """Write ``table`` (rows with index >= 0, sorted by index) as an intrain score artifact."""
    from intrain.core.artifacts import SCHEMA, SCHEMA_VERSION, _dataset, _set_attrs, _strings, atomic_h5, versions
    from intrain.core.flags import Flag
    from intrain.proxies import BUILTIN, proxy_class

    keep = np.flatnonzero(index >= 0)
    keep = keep[np.argsort(index[keep], kind="stable")]
    idx = index[keep]
    if len(np.unique(idx)) != len(idx):
        dup = idx[np.flatnonzero(np.diff(idx) == 0)[0]]
        raise InputError(f"{table.source}: benchmark index {dup} appears twice (two keys name one architecture)")
    n = len(keep)
    scores = {p: v[keep] for p, v in table.scores.items()}
    times = {p: table.times[p][keep] for p in table.scores if p in table.times}
    seconds = np.nansum(np.vstack(list(times.values())), axis=0) if times else np.full(n, np.nan)
    if times:
        seconds[np.all(np.isnan(np.vstack(list(times.values()))), axis=0)] = np.nan
    nonfinite = np.any(~np.isfinite(np.vstack(list(scores.values()))), axis=0)
    arch_list = [archs[k] for k in keep]
    with atomic_h5(dest) as f:
        _set_attrs(f, {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **versions(), **attrs})
        arch = f.create_group("arch")
        _dataset(arch, "index", idx, np.int64)
        _strings(arch, "arch", arch_list)
        _dataset(arch, "flags", np.where(nonfinite, int(Flag.NONFINITE), 0), np.int32)
        _dataset(arch, "seconds", seconds, np.float64)
        _dataset(arch, "pass_seconds", np.full(n, np.nan), np.float64)
        _dataset(arch, "loss", np.full(n, np.nan), np.float64)
        for p, t in times.items():
            _dataset(arch, f"cost_{p}", t, np.float64)
        if table.val_accuracy is not None:
            _dataset(arch, "peer_val_accuracy", table.val_accuracy[keep], np.float64)
        for ptr in ("layer_ptr", "param_ptr"):
            _dataset(arch, ptr, np.zeros(n + 1, np.int64), np.int64)
        for group, cols in (
            ("layer", ("shape", "trace", "trace_sq", "dim", "pr")),
            ("param", ("numel", "std", "maxabs", "health")),
        ):
            g = f.create_group(group)
            for name in ("name", "kind"):
                _dataset(g, name, np.zeros(0, np.int32), np.int32)
                _strings(g, f"{name}_table", [])
            for col in cols:
                dtype = np.int32 if col == "shape" else np.int64 if col == "numel" else np.float64
                _dataset(g, col, np.zeros((0, 3) if col == "shape" else 0), dtype)
        proxy = f.create_group("proxy")
        for p, values in scores.items():
            g = proxy.create_group(p)
            g.attrs["higher_is_better"] = bool(proxy_class(p).higher_is_better) if p in BUILTIN else True
            g.attrs["version"] = "imported"
            g.attrs["components"] = json.dumps(["score"])
            _dataset(g, "score", values, np.float64)
        m = f.create_group("members")
        _dataset(m, "index", idx, np.int64)
        _strings(m, "arch", arch_list)
        _dataset(m, "representative", idx, np.int64)


def import_scores(
    path: str | os.PathLike, fmt: str, space: str, dataset: str, out: str | os.PathLike, table: str | None = None
) -> dict[str, Any]:
    """Import one peer file into ``out``; returns a summary (rows, proxies, dropped, provenance).

    Examples:
        >>> import_scores("missing.json", "naslib-zc", "nb201", "cifar10", "x.h5")
        Traceback (most recent call last):
        ...
        intrain.core.errors.InputError: missing.json: no such file
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    peer = read_peer_file(path, fmt, space, dataset)
    index, archs, dropped = resolve_indices(peer, table, strict_index=fmt != "naslib-zc")
    if dropped == len(peer):
        raise InputError(f"{path.name}: none of its {len(peer)} architectures is in the {space} benchmark table")
    if dropped:
        log.warning(
            "%s: %d of %d architectures are not in the %s benchmark table and were left out",
            path.name,
            dropped,
            len(peer),
            space,
        )
    n_failed = sum(int(np.isnan(v).sum()) for v in peer.scores.values())
    if n_failed and fmt == "naslib-zc":
        log.warning("%s: %d scores were NASLib's -1e8 (a NaN/inf score) and read as NaN", path.name, n_failed)
    sha = sha256_file(path)
    provenance = f"imported:{path.name} {sha}"
    attrs: dict[str, Any] = {
        "space": space,
        "dataset": dataset,
        "provenance": provenance,
        "source_format": fmt,
        "config_hash": f"imported-{sha[:16]}",
        "settings": {},
        "seed": None,
        "batch_size": None,
        "resolution": None,
        "device": "imported",
        "merged_from": [path.name],
    }
    write_artifact(out, peer, index, archs, attrs)
    return {
        "file": path.name,
        "sha256": sha,
        "architectures": int((index >= 0).sum()),
        "dropped": dropped,
        "proxies": list(peer.scores),
        "val_accuracy": peer.val_accuracy is not None,
        "provenance": provenance,
        "out": str(out),
        "nan_scores": n_failed,
    }
