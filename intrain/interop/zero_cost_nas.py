"""zero-cost-nas's score files: an append stream of pickles, one dict per architecture.

``nasbench2_pred.py`` appends ``{'i': <NB201 index>, 'arch': <arch string>, 'logmeasures':
{<measure>: <float>}, 'trainacc', 'valacc', 'testacc'}`` (accuracies only without ``--noacc``;
for ``cifar10`` they are the ``cifar10-valid`` setting's); ``nasbench1_pred.py`` appends
``{'hash': <module hash>, 'logmeasures': {...}}``. Reading goes only through
[`intrain.core.safepickle.load_stream`][intrain.core.safepickle.load_stream], which rebuilds plain containers and numbers and refuses
everything else, so a crafted file cannot run code.

Examples:
    >>> import io
    >>> buf = io.BytesIO()
    >>> t = PeerScores("nb201", "cifar10", ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
    ...                np.array([7]), {"jacov": np.array([1.5])})
    >>> write_stream(buf, t); _ = buf.seek(0)
    >>> read_stream(buf, "nb201", "cifar10", name="nb2.p").scores["jacov"].tolist()
    [1.5]
"""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from intrain.core.bounded import short_name, short_repr
from intrain.core.errors import InputError
from intrain.core.names import check_arch_id, check_real
from intrain.core.safepickle import load_stream
from intrain.interop.peer_encodings import codec
from intrain.interop.peerscores import PeerScores, proxy_names, to_peer, write_atomic
from intrain.spaces.peers import PeerCodec

__all__ = ["read_stream", "write_stream"]

FORMAT = "zero-cost-nas"
#: Pickle protocol 4 reads on every Python 3 that zero-cost-nas supports.
PROTOCOL = 4


def _clip(error: Exception) -> str:
    """A codec's message about a key from the file, at most 300 characters (it may quote the key)."""
    text = str(error)
    return text if len(text) <= 300 else text[:297] + "..."


def _number(value: Any, where: str) -> float:
    return check_real(value, where)  # bounded quote; numbers beyond float64 refused by name


def _key(rec: dict, key_codec: PeerCodec, where: str) -> tuple[str, int]:
    """The record's key and stated index, as its space's codec reads them (NB201 ``i``/``arch``,
    NB101 ``hash``)."""
    try:
        key, index = key_codec.load(rec)
    except InputError as e:
        raise InputError(f"{where}: {_clip(e)}") from None
    if index != -1:  # -1: the record states none
        index = check_arch_id(index, f"{where} / {getattr(key_codec, 'field', 'i')}")
    return key, index


def read_stream(source: str | os.PathLike | IO[bytes], space: str, dataset: str, name: str | None = None) -> PeerScores:
    """Every record of a stream; a later record of the same architecture replaces an earlier one
    (the writer appends, so a rerun appends again). The space's
    [`peer_codec`][intrain.spaces.base.Space.peer_codec] for ``zero-cost-nas`` reads each record's key."""
    key_codec = codec(space, FORMAT)
    label = name or (
        Path(source).name if isinstance(source, (str, os.PathLike)) else cast(str, getattr(source, "name", "<stream>"))
    )
    rows: dict[str, tuple[int, dict[str, float], float]] = {}
    for n, rec in enumerate(load_stream(source, name=label)):
        where = f"{label}: record {n}"
        if not isinstance(rec, dict) or not isinstance(rec.get("logmeasures"), dict):
            raise InputError(f"{where}: expected a dict with 'logmeasures', got {type(rec).__name__}")
        key, index = _key(rec, key_codec, where)
        logmeasures = rec["logmeasures"]
        for k in logmeasures:
            if not isinstance(k, str):
                raise InputError(f"{where} / logmeasures: a measure named {short_repr(k)}, not a string")
        names = proxy_names(logmeasures, FORMAT, where)
        measures = {names[k]: _number(v, f"{where} / {short_name(k)}") for k, v in logmeasures.items()}
        val = _number(rec["valacc"], f"{where} / valacc") if rec.get("valacc") is not None else math.nan
        rows.pop(key, None)
        rows[key] = (index, measures, val)
    if not rows:
        raise InputError(f"{label}: empty stream (no pickled records)")
    proxies = list(dict.fromkeys(p for _, m, _ in rows.values() for p in m))
    vals = np.array([v for _, _, v in rows.values()], np.float64)
    return PeerScores(
        space,
        dataset,
        list(rows),
        np.array([i for i, _, _ in rows.values()], np.int64),
        {p: np.array([m.get(p, math.nan) for _, m, _ in rows.values()], np.float64) for p in proxies},
        {},
        None if np.isnan(vals).all() else vals,
        label,
    )


def _records(table: PeerScores, key_codec: PeerCodec):
    for i, key in enumerate(table.key):
        measures = {to_peer(p, FORMAT): float(v[i]) for p, v in table.scores.items()}
        rec: dict[str, Any] = {**key_codec.dump(key, int(table.index[i])), "logmeasures": measures}
        if table.val_accuracy is not None and math.isfinite(table.val_accuracy[i]):
            rec["valacc"] = float(table.val_accuracy[i])
        yield rec


def write_stream(dest: str | os.PathLike | IO[bytes], table: PeerScores) -> None:
    """Write the stream zero-cost-nas's notebooks read (one ``pickle.dump`` per architecture)."""
    key_codec = codec(table.space, FORMAT)

    def write(fh: IO[bytes]) -> None:
        for rec in _records(table, key_codec):
            pickle.dump(rec, fh, protocol=PROTOCOL)

    if isinstance(dest, (str, os.PathLike)):
        write_atomic(dest, write)
    else:
        write(dest)
