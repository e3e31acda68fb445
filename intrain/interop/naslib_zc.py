"""NAS-Bench-Suite-Zero's ``zc_<space>.json`` (NASLib ``get_zc_benchmark_api``), read and written.

Layout (NASLib ``scripts/zc/create_benchmarks.py``; readers skip ``id`` and ``val_accuracy``):

    {"<dataset>": {"<str(NASLib tuple)>": {"id": <int>, "val_accuracy": <float, %>,
                                          "<proxy>": {"score": <float>, "time": <seconds>}, ...}}}

NASLib's ``ZeroCost.query`` stores a NaN or infinite score as -1e8; intrain never ranks a
sentinel, so reading turns exactly -1e8 back into NaN and writing turns non-finite into -1e8.

Examples:
    >>> import io, json
    >>> doc = {"cifar10": {"(4, 0, 3, 1, 4, 3)": {"id": 2631, "val_accuracy": 80.5, "nwot": {"score": 7.0, "time": 0.1}}}}
    >>> t = read_zc(io.StringIO(json.dumps(doc)), "nb201", "cifar10", name="zc_nasbench201.json")
    >>> t.key[0][:15], t.scores["naswot"].tolist(), t.val_accuracy.tolist()
    ('|avg_pool_3x3~0', [7.0], [80.5])
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from intrain.core.bounded import load_json, short_name, short_repr
from intrain.core.errors import InputError
from intrain.core.names import check_arch_id, check_real
from intrain.interop.peer_encodings import codec
from intrain.interop.peerscores import PeerScores, proxy_names, to_peer, write_atomic

__all__ = ["FAILED", "datasets_in", "read_zc", "write_zc"]

FORMAT = "naslib-zc"
#: NASLib's stand-in for a NaN/inf score (naslib/predictors/zerocost.py).
FAILED = -1e8
_META = ("id", "val_accuracy")
_KIND = "a NAS-Bench-Suite-Zero JSON file"


def _load(source: str | os.PathLike | IO[str], name: str | None) -> tuple[Any, str]:
    label = name or (
        Path(source).name if isinstance(source, (str, os.PathLike)) else cast(str, getattr(source, "name", "<stream>"))
    )
    try:
        if isinstance(source, (str, os.PathLike)):
            if not Path(source).is_file():
                raise InputError(f"{source}: no such file")
            return load_json(Path(source), label, _KIND), label  # bounded depth and number size
        return load_json(source.read(), label, _KIND), label
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{label}: not a NAS-Bench-Suite-Zero JSON file ({e})") from None


def datasets_in(source: str | os.PathLike | IO[str], name: str | None = None) -> list[str]:
    """The dataset keys of a zc file (to tell a user which ``--dataset`` exist)."""
    doc, label = _load(source, name)
    if not isinstance(doc, dict):
        raise InputError(f"{label}: top level must be an object keyed by dataset")
    return list(doc)


def _clip(error: Exception) -> str:
    """A codec's message about a key from the file, at most 300 characters (it may quote the key)."""
    text = str(error)
    return text if len(text) <= 300 else text[:297] + "..."


def _number(value: Any, where: str) -> float:
    return check_real(value, where)  # bounded quote; numbers beyond float64 refused by name


def read_zc(source: str | os.PathLike | IO[str], space: str, dataset: str, name: str | None = None) -> PeerScores:
    """One dataset of a zc file, proxy names mapped to intrain's, keys to arch strings (the
    space's [`peer_codec`][intrain.spaces.base.Space.peer_codec] for ``naslib-zc`` decodes them)."""
    key_codec = codec(space, FORMAT)
    doc, label = _load(source, name)
    if not isinstance(doc, dict) or not all(isinstance(v, dict) for v in doc.values()):
        raise InputError(f"{label}: top level must be an object of datasets, each an object of architectures")
    if dataset not in doc:
        raise InputError(f"{label}: no dataset {short_repr(dataset)}; the file has {short_repr(sorted(doc))}")
    archs = doc[dataset]
    if not archs:
        raise InputError(f"{label}: dataset {short_repr(dataset)} lists no architectures")
    keys, ids, vals = [], [], []
    scores: dict[str, list[float]] = {}
    times: dict[str, list[float]] = {}
    for n, (key, rec) in enumerate(archs.items()):
        where = f"{label}: {short_name(dataset)} / {short_name(key)}"
        try:
            keys.append(key_codec.load(key)[0])
        except InputError as e:
            raise InputError(f"{where}: {_clip(e)}") from None
        if not isinstance(rec, dict):
            raise InputError(f"{where}: expected an object of proxies, got {type(rec).__name__}")
        ids.append(check_arch_id(rec["id"], f"{where} / id") if "id" in rec else -1)
        vals.append(_number(rec["val_accuracy"], f"{where} / val_accuracy") if "val_accuracy" in rec else math.nan)
        names = proxy_names([k for k in rec if k not in _META], FORMAT, where)
        for peer_name, entry in rec.items():
            if peer_name in _META:
                continue
            field = f"{where} / {short_name(peer_name)}"
            if not isinstance(entry, dict) or "score" not in entry:
                raise InputError(f'{field}: expected {{"score": ..., "time": ...}}, got {short_repr(entry)}')
            proxy = names[peer_name]
            col = scores.setdefault(proxy, [math.nan] * n)
            tcol = times.setdefault(proxy, [math.nan] * n)
            score = _number(entry["score"], f"{field} / score")
            col.append(math.nan if score == FAILED else score)
            tcol.append(_number(entry["time"], f"{field} / time") if "time" in entry else math.nan)
        for col in (*scores.values(), *times.values()):
            col.extend([math.nan] * (n + 1 - len(col)))  # a proxy this architecture lacks
    if not scores:
        raise InputError(f"{label}: dataset {short_repr(dataset)} has no proxy scores (only {list(_META)})")
    return PeerScores(
        space,
        dataset,
        keys,
        np.asarray(ids, np.int64),
        {k: np.asarray(v, np.float64) for k, v in scores.items()},
        {k: np.asarray(v, np.float64) for k, v in times.items()},
        None if all(math.isnan(v) for v in vals) else np.asarray(vals, np.float64),
        label,
    )


def _entry(table: PeerScores, i: int) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    if table.index[i] >= 0:
        rec["id"] = int(table.index[i])
    if table.val_accuracy is not None and math.isfinite(table.val_accuracy[i]):
        rec["val_accuracy"] = float(table.val_accuracy[i])
    for proxy, values in table.scores.items():
        s = float(values[i])
        item: dict[str, float] = {"score": s if math.isfinite(s) else FAILED}
        t = table.times.get(proxy)
        if t is not None and math.isfinite(t[i]):
            item["time"] = float(t[i])
        rec[to_peer(proxy, FORMAT)] = item
    return rec


def write_zc(dest: str | os.PathLike, tables: Sequence[PeerScores]) -> int:
    """Write one zc file with one dataset key per table; returns the count of scores set to -1e8."""
    spaces = sorted({t.space for t in tables})
    if len(spaces) != 1:
        raise InputError(f"naslib-zc: one file holds one space, got {spaces}; export one file per space")
    key_codec = codec(spaces[0], FORMAT)
    doc: dict[str, dict[str, Any]] = {}
    failed = 0
    for table in tables:
        if table.dataset in doc:
            raise InputError(f"naslib-zc: dataset {table.dataset!r} given twice")
        doc[table.dataset] = {
            key_codec.dump(table.key[i], int(table.index[i])): _entry(table, i) for i in range(len(table))
        }
        failed += sum(int((~np.isfinite(v)).sum()) for v in table.scores.values())
    text = json.dumps(doc, allow_nan=False)
    write_atomic(dest, lambda fh: fh.write(text.encode("utf-8")))
    return failed
