"""The search log: InTrain-NAS's resumable, sealed HDF5 history (read by search, report and resume).

Log layout (``schema = "intrain.search"``): 1-D datasets ``iteration``, ``arch`` (string),
``score``, ``new`` and one per :meth:`describe` key (``flops``, ``params`` ...); attributes
``meta`` (JSON: everything that defines the search; a resumed run must match it) and ``n_done``
(rows that are complete). Each checkpoint rewrites the whole log in memory and renames it into
place, so a killed run loses at most one checkpoint's iterations, which are recomputed identically;
the log on disk is always a complete earlier one.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from intrain.core import faults, sealed
from intrain.core.bounded import load_json
from intrain.core.errors import IntrainError
from intrain.core.h5safety import UnsafeHDF5Error, check_self_contained, read_strings

log = logging.getLogger(__name__)
SCHEMA = "intrain.search"
_STR = h5py.string_dtype("utf-8")


class SearchLogError(IntrainError, RuntimeError):
    """A search log that is corrupt or was written by a different search."""


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """A search log's meta and its complete rows (``n_done`` of them), every dataset a column.

    The layout is checked first: ``meta`` a JSON object, ``n_done`` a non-negative integer no
    larger than any column, ``iteration``/``arch``/``score``/``new`` present, every column 1-D
    with a number or string dtype. Anything else is a :class:`SearchLogError` naming what.
    """

    def bad(what: str) -> SearchLogError:
        return SearchLogError(f"search log {path} is corrupt ({what}); delete it to start over")

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would hang the reader, /dev/zero never ends
            raise SearchLogError(f"search log {path} is not a regular file; refusing to read it")
        problem = sealed.verify(path)  # before HDF5 reads it: a damaged file can hang the library
    except OSError as e:
        raise SearchLogError(f"search log {path} cannot be read ({e})") from None
    if problem:
        raise bad(problem)
    try:
        with h5py.File(path, "r") as f:
            check_self_contained(f, path)  # before any dataset is read: nothing outside the file, sizes bounded
            if f.attrs.get("schema") != SCHEMA:
                raise SearchLogError(f"{path} is not a search log (schema {f.attrs.get('schema')!r})")
            if "n_done" not in f.attrs or "meta" not in f.attrs:
                raise bad("attribute n_done or meta is missing")
            n_done = f.attrs["n_done"]
            if isinstance(n_done, np.ndarray) and n_done.shape == ():
                n_done = n_done.item()
            if isinstance(n_done, (bool, np.bool_)) or not isinstance(n_done, (int, np.integer)) or n_done < 0:
                raise bad(f"n_done {n_done!r} is not a non-negative integer")
            n = int(n_done)
            try:  # bounded depth and number size (intrain.core.bounded)
                raw_meta = f.attrs["meta"]
                if not isinstance(raw_meta, (str, bytes)):
                    raise TypeError(f"an attribute of type {type(raw_meta).__name__}")
                meta = load_json(raw_meta, "meta")
            except (TypeError, ValueError) as e:
                raise bad(f"meta is not JSON: {str(e)[:200]}") from None
            if not isinstance(meta, dict):
                raise bad(f"meta is a JSON {type(meta).__name__}, not an object")
            missing = {"iteration", "arch", "score", "new"} - set(f)
            if missing:
                raise bad(f"no {sorted(missing)}")
            data = {}
            for name, ds in f.items():
                if not isinstance(ds, h5py.Dataset) or ds.ndim != 1:
                    raise bad(f"/{name} is not a 1-D dataset")
                is_str = h5py.check_string_dtype(ds.dtype) is not None
                kinds = "iu" if name in ("iteration", "new") else "biuf"
                if (name == "arch") != is_str or (not is_str and ds.dtype.kind not in kinds):
                    raise bad(f"/{name} has dtype {ds.dtype}")
                if ds.shape[0] < n:
                    raise bad(f"n_done is {n} but /{name} has {ds.shape[0]} rows")
                data[name] = read_strings(ds, str(path), n) if is_str else ds[:n]  # bounded blocks
                if len(data[name]) != n:  # a dataspace that lies about its extent
                    raise bad(f"/{name} gave {len(data[name])} of its {n} complete rows")
    except (SearchLogError, UnsafeHDF5Error):
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
        raise SearchLogError(f"search log {path} is corrupt ({e}); delete it to start over") from None
    try:
        data["arch"] = [a.decode() if isinstance(a, bytes) else str(a) for a in data["arch"]]
    except UnicodeDecodeError as e:
        raise bad(f"/arch is not UTF-8: {e}") from None
    return meta, pd.DataFrame(data)


class SearchLog:
    """Append-only HDF5 history of one search."""

    def __init__(self, path: str | os.PathLike[str], meta: dict[str, Any], columns: list[str]):
        self.path = Path(path)
        self.meta = json.loads(json.dumps(meta, sort_keys=True))
        self.columns = columns

    def load(self) -> pd.DataFrame:
        """The complete rows of an existing log (empty frame when there is none)."""
        cols = ["iteration", "arch", "score", "new", *self.columns]
        if not self.path.exists():
            return pd.DataFrame({c: [] for c in cols})
        stored, rows = read_log(self.path)
        if stored != self.meta:
            diff = sorted(k for k in set(stored) | set(self.meta) if stored.get(k) != self.meta.get(k))
            raise SearchLogError(
                f"{self.path} was written by a different search (differs in {diff}); "
                "use another --log path or delete it"
            )
        missing = set(cols) - set(rows.columns)
        if missing:
            raise SearchLogError(f"search log {self.path} is corrupt (no {sorted(missing)}); delete it to start over")
        return rows[cols]

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Add rows: the whole log is rebuilt in memory and renamed into place (never edited in
        place), so a run killed at any moment leaves the previous complete log or the new one."""
        if not rows:
            return
        cols = ["iteration", "arch", "score", "new", *self.columns]
        old = self.load() if self.path.exists() else pd.DataFrame({c: [] for c in cols})
        n = len(old)
        buffer = io.BytesIO()
        with h5py.File(buffer, "w", track_order=True, userblock_size=sealed.USERBLOCK) as f:
            f.attrs["schema"] = SCHEMA
            f.attrs["meta"] = json.dumps(self.meta, sort_keys=True)
            for c in cols:
                dtype = _STR if c == "arch" else ("i8" if c in ("iteration", "new") else "f8")
                values = list(old[c]) + [r[c] for r in rows]
                f.create_dataset(
                    c,
                    data=np.asarray(values, dtype=object if c == "arch" else dtype),
                    dtype=dtype,
                    maxshape=(None,),
                    chunks=(1024,),
                    track_times=False,
                )
            f.attrs["n_done"] = n + len(rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()  # left by a writer of this log killed before its rename
        tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as out:
                out.write(sealed.seal(buffer.getbuffer()))
                faults.reached("search_log.write")  # tests kill here (intrain/core/faults.py)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
