"""The search log: InTrain-NAS's resumable, sealed HDF5 history (read by search, report and resume).

Log layout (``schema = "intrain.search"``): 1-D datasets ``iteration``, ``arch`` (string),
``score``, ``new`` and one per `describe` key (``flops``, ``params`` ...); attributes
``meta`` (JSON: everything that defines the search; a resumed run must match it), ``n_done``
(rows that are complete) and ``log_id`` (a random token naming the log's journal).

Appending is linear: a checkpoint appends one record (its rows, a header and a sha256) to the
journal ``.<name>.journal`` beside the HDF5 file, so a checkpoint writes its own rows and a
constant, never the history. The HDF5 file (the *base*) is written whole only when a log is
created, when an older log without a journal is first extended, and by `SearchLog.compact`
(at the end of a search), each time to a temporary file renamed into place. A run killed at
any moment therefore leaves the previous base and a journal whose last record may be torn; a
torn last record is ignored (and cut off by the next append), its rows are recomputed
identically on resume. Records carry the index of their first row, so a journal left behind by
a compaction killed after its rename is skipped, not applied twice.

Journal record (little-endian): ``MAGIC`` (8 bytes), ``log_id`` (16 bytes), first row (u8),
rows (u4), payload bytes (u4), sha256 of the header's first 40 bytes and the payload (32
bytes); payload: a JSON list of ``[column, kind]`` (u4 length first), then each column:
``i8``/``f8`` values, or for ``arch`` u4 byte lengths and the UTF-8 bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import secrets
import stat
import struct
from collections.abc import Callable
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


def _read_base(path: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame, str | None]:
    """The HDF5 base of a log: its meta, its complete rows (``n_done`` of them), every dataset a
    column, and its ``log_id`` (None for a log written before journals existed).

    The layout is checked first: ``meta`` a JSON object, ``n_done`` a non-negative integer no
    larger than any column, ``iteration``/``arch``/``score``/``new`` present, every column 1-D
    with a number or string dtype. Anything else is a `SearchLogError` naming what.
    """

    def bad(what: str) -> SearchLogError:
        return SearchLogError(f"search log {path} is corrupt ({what}); delete it to start over")

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would hang the reader, /dev/zero never ends
            raise SearchLogError(f"search log {path} is not a regular file; refusing to read it")
        problem = sealed.verify(path)  # before HDF5 reads it: a damaged file can hang the library
    except OSError as e:
        raise SearchLogError(f"search log {path} cannot be read ({e})") from None
    if problem and problem.startswith("not an intrain HDF5 file"):
        # a user's own file given as --log: never advise deleting it
        raise SearchLogError(f"{path} is not a search log ({problem}); give --log a new path or an existing search log")
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
            log_id = f.attrs.get("log_id")
            if isinstance(log_id, bytes):
                log_id = log_id.decode("ascii", "replace")
            if log_id is not None and (not isinstance(log_id, str) or len(log_id) != 32 or not _is_hex(log_id)):
                raise bad(f"log_id {str(log_id)[:40]!r} is not 32 hexadecimal digits")
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
    return meta, pd.DataFrame(data), log_id


# ----------------------------------------------------------------------------- journal

MAGIC = b"ISLJRNL1"
_HEADER = struct.Struct("<8s16sQII")  # magic, log_id, first row, rows, payload bytes
_DIGEST = 32
HEADER_BYTES = _HEADER.size + _DIGEST
_KINDS = {"i8": "<i8", "f8": "<f8", "str": None}


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def journal_path(path: str | os.PathLike[str]) -> Path:
    """Where the journal of the log at ``path`` lives (beside it, hidden).

    Examples:
        >>> journal_path("results/search/log.h5").as_posix()
        'results/search/.log.h5.journal'
    """
    p = Path(path)
    return p.parent / f".{p.name}.journal"


def _kind(column: str) -> str:
    return "str" if column == "arch" else ("i8" if column in ("iteration", "new") else "f8")


def _write_bytes(f: Any, data: bytes | memoryview) -> None:
    """Every byte a search log writes goes through here (tests count them)."""
    f.write(data)


def encode_record(log_id: str, first: int, rows: list[dict[str, Any]], cols: list[str]) -> bytes:
    """One journal record holding ``rows`` (rows ``first`` .. ``first + len(rows) - 1``)."""
    spec = json.dumps([[c, _kind(c)] for c in cols], separators=(",", ":")).encode()
    parts = [struct.pack("<I", len(spec)), spec]
    for c in cols:
        values = [r[c] for r in rows]
        if c == "arch":
            raw = [str(v).encode() for v in values]
            parts += [np.asarray([len(b) for b in raw], "<u4").tobytes(), b"".join(raw)]
        else:
            parts.append(np.asarray(values, _KINDS[_kind(c)]).tobytes())
    payload = b"".join(parts)
    header = _HEADER.pack(MAGIC, bytes.fromhex(log_id), first, len(rows), len(payload))
    return header + hashlib.sha256(header + payload).digest() + payload


def _decode_payload(payload: bytes, n: int, bad: Callable[[str], SearchLogError]) -> dict[str, Any]:
    """The columns of one record's payload; every length is checked against the bytes present."""
    view = memoryview(payload)
    if len(view) < 4:
        raise bad("a record has no column list")
    (spec_len,) = struct.unpack_from("<I", view)
    if spec_len > min(len(view) - 4, 1 << 16):
        raise bad("a record's column list overruns it")
    try:
        spec = load_json(bytes(view[4 : 4 + spec_len]), "journal columns")
    except (TypeError, ValueError) as e:
        raise bad(f"a record's column list is not JSON ({str(e)[:100]})") from None
    ok = isinstance(spec, list) and all(
        isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) and s[1] in _KINDS for s in spec
    )
    if not ok or len({s[0] for s in spec}) != len(spec):
        raise bad("a record's column list is not [[name, kind], ...] with distinct names")
    at, out = 4 + spec_len, {}
    for name, kind in spec:
        if kind != _kind(name):
            raise bad(f"column {name[:40]!r} has kind {kind}")
        if kind == "str":
            if at + 4 * n > len(view):
                raise bad("a record's string lengths overrun it")
            lengths = np.frombuffer(view[at : at + 4 * n], "<u4").astype(np.int64)
            at += 4 * n
            if at + int(lengths.sum()) > len(view):
                raise bad("a record's strings overrun it")
            ends = at + np.cumsum(lengths)
            try:
                out[name] = [bytes(view[e - ln : e]).decode() for e, ln in zip(ends.tolist(), lengths.tolist())]
            except UnicodeDecodeError:
                raise bad("a record's arch is not UTF-8") from None
            at = int(ends[-1]) if n else at
        else:
            if at + 8 * n > len(view):
                raise bad(f"a record's column {name[:40]!r} overruns it")
            out[name] = np.frombuffer(view[at : at + 8 * n], _KINDS[kind]).copy()
            at += 8 * n
    if at != len(view):
        raise bad(f"a record has {len(view) - at} bytes after its columns")
    return out


def _read_journal(
    path: Path, log_id: str | None, n_base: int, columns: list[str]
) -> tuple[list[dict[str, Any]], int, int]:
    """The journal's records that extend the base (as column dicts), the byte length of its valid
    part (a torn last record is not valid) and the total rows.

    A record wholly inside the base (left by a compaction killed after its rename) is skipped; a
    record that starts past the rows known so far, overlaps them, names another log or is damaged
    with valid bytes after it is corruption, not a torn write, and is refused in words.
    """
    jpath = journal_path(path)

    def bad(what: str) -> SearchLogError:
        # the base was verified (sealed checksum) before: its rows survive a bad journal
        return SearchLogError(
            f"search log journal {jpath} is corrupt ({what}); the log {path} itself is intact with {n_base} "
            f"complete rows: move the journal aside (e.g. rename it) to resume from those rows"
        )

    try:
        st = os.lstat(jpath)  # a link is refused below, never followed out of the log's folder
    except FileNotFoundError:
        return [], 0, n_base
    except OSError as e:
        raise SearchLogError(f"search log journal {jpath} cannot be read ({e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise SearchLogError(f"search log journal {jpath} is not a regular file (a link?); refusing to read it")
    if log_id is None:
        raise bad(f"its log {path} has no log_id, so the journal belongs to another log")
    want_id = bytes.fromhex(log_id)
    frames: list[dict[str, Any]] = []
    total, at = n_base, 0
    try:
        with os.fdopen(os.open(jpath, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            while at < size:
                head = f.read(HEADER_BYTES)
                if len(head) < HEADER_BYTES:
                    break  # torn header at the end
                magic, rec_id, first, n, plen = _HEADER.unpack_from(head)
                if magic != MAGIC:
                    rest = head + f.read(1 << 20)
                    if not rest.strip(b"\0"):
                        break  # zeros at the end: a write that never landed
                    raise bad(f"no record header at byte {at}")
                if at + HEADER_BYTES + plen > size:
                    later = _find_record(f, at + 1, size, want_id)
                    if later is None:
                        break  # torn payload at the end
                    raise bad(
                        f"the record at byte {at} claims {plen} payload bytes, past the journal's end, "
                        f"yet a record of this log follows at byte {later}"
                    )
                payload = f.read(plen)
                if hashlib.sha256(head[: _HEADER.size] + payload).digest() != head[_HEADER.size :]:
                    if at + HEADER_BYTES + plen == size:
                        break  # the last record, damaged while being written
                    raise bad(f"checksum mismatch in the record at byte {at}")
                if rec_id != want_id:
                    raise bad(f"the record at byte {at} belongs to another log")
                if first + n <= n_base and first + n <= total:
                    at += HEADER_BYTES + plen  # already in the base (a compaction killed before its cleanup)
                    continue
                if first != total:
                    raise bad(f"the record at byte {at} starts at row {first}, expected {total}")
                cols = _decode_payload(payload, n, bad)
                if set(cols) != set(columns):
                    raise bad(f"a record has columns {sorted(cols)[:10]}, the log {sorted(columns)[:10]}")
                frames.append(cols)
                total += n
                at += HEADER_BYTES + plen
    except OSError as e:
        raise SearchLogError(f"search log journal {jpath} cannot be read ({e})") from None
    return frames, at, total


def _find_record(f: Any, start: int, size: int, want_id: bytes) -> int | None:
    """The offset of the first ``MAGIC + log_id`` at or after ``start`` (None: none follows), so an
    oversized length field with valid records after it is told apart from a torn last record."""
    needle = MAGIC + want_id
    chunk = 1 << 20
    pos = start
    while pos < size:
        f.seek(pos)
        data: bytes = f.read(chunk + len(needle) - 1)
        hit = data.find(needle)
        if hit >= 0:
            return pos + hit
        pos += chunk
    return None


def check_iterations(path: str | os.PathLike[str], iterations: Any) -> None:
    """Refuse a history whose ``iteration`` column is negative or does not increase, naming the row
    (a well-formed record with such rows would duplicate or reorder history)."""
    its = np.asarray(iterations, dtype=np.int64)
    if len(its) and its[0] < 0:
        raise SearchLogError(f"search log {path}: row 0 has iteration {int(its[0])} < 0; the log is corrupt")
    bad_rows = np.flatnonzero(np.diff(its) <= 0)
    if len(bad_rows):
        r = int(bad_rows[0]) + 1
        raise SearchLogError(
            f"search log {path}: row {r} has iteration {int(its[r])} after iteration {int(its[r - 1])} "
            "(iterations must increase); the log is corrupt"
        )


def _concat(base: pd.DataFrame, frames: list[dict[str, Any]]) -> pd.DataFrame:
    if not frames:
        return base
    cols = list(base.columns)
    joined = {c: (list(base[c]) if c == "arch" else [base[c].to_numpy()]) for c in cols}
    for fr in frames:
        if "arch" in cols:
            joined["arch"] += fr["arch"]
        for c in cols:
            if c != "arch":
                joined[c].append(np.asarray(fr[c]))
    data = {c: joined[c] if c == "arch" else np.concatenate(joined[c]) for c in cols}
    return pd.DataFrame(data)


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame, str | None, int]:
    meta, base, log_id = _read_base(path)
    frames, valid, _ = _read_journal(Path(path), log_id, len(base), list(base.columns))
    rows = _concat(base, frames)
    check_iterations(path, rows["iteration"])
    return meta, rows, log_id, valid


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """A search log's meta and its complete rows (the base's ``n_done`` and its journal's), every
    dataset a column.

    The layout is checked first: ``meta`` a JSON object, ``n_done`` a non-negative integer no
    larger than any column, ``iteration``/``arch``/``score``/``new`` present, every column 1-D
    with a number or string dtype; journal records with their checksums, lengths and row numbers.
    Anything else is a `SearchLogError` naming what.
    """
    meta, rows, _, _ = _read(path)
    return meta, rows


class SearchLog:
    """Append-only history of one search: an HDF5 base and a journal of checkpoints.

    Examples:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> log = SearchLog(f"{d}/log.h5", {"seed": 0}, [])
        >>> log.append([{"iteration": 0, "arch": "a", "score": 1.0, "new": 1}])
        >>> log.append([{"iteration": 1, "arch": "b", "score": 2.0, "new": 1}])
        >>> list(log.load()["arch"]), journal_path(log.path).exists()
        (['a', 'b'], True)
        >>> log.compact(); list(read_log(log.path)[1]["arch"]), journal_path(log.path).exists()
        (['a', 'b'], False)
    """

    def __init__(self, path: str | os.PathLike[str], meta: dict[str, Any], columns: list[str]):
        self.path = Path(path)
        self.meta = json.loads(json.dumps(meta, sort_keys=True))
        self.columns = columns
        self._state: tuple[str | None, int, int, int] | None = None  # log_id, base rows, journal bytes, rows
        self._lock: int | None = None  # the lock file's descriptor while this run owns the log

    def lock_path(self) -> Path:
        """The lock file beside the log (kept: removing it would let two runs lock different files)."""
        return self.path.parent / f".{self.path.name}.lock"

    def acquire(self) -> None:
        """Own the log until `release` (an exclusive ``flock``, non-blocking): a second run on
        the same log would compact or rewrite under the first one's journal offset."""
        if self._lock is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path(), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise SearchLogError(
                f"search log {self.path} is in use by another run (pid {other[:20]}); wait for it to finish "
                "or give this one another --log path"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock = fd

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> SearchLog:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @property
    def cols(self) -> list[str]:
        return ["iteration", "arch", "score", "new", *self.columns]

    def _check(self, stored: dict[str, Any], rows: pd.DataFrame) -> pd.DataFrame:
        if stored != self.meta:
            diff = sorted(k for k in set(stored) | set(self.meta) if stored.get(k) != self.meta.get(k))
            raise SearchLogError(
                f"{self.path} was written by a different search (differs in {diff}); "
                "use another --log path or delete it"
            )
        missing = set(self.cols) - set(rows.columns)
        if missing:
            raise SearchLogError(f"search log {self.path} is corrupt (no {sorted(missing)}); delete it to start over")
        return rows[self.cols]

    def load(self) -> pd.DataFrame:
        """The complete rows of an existing log (empty frame when there is none).

        Checked before any work: a journal that is not a regular file is refused; a journal without
        its log (the log deleted alone) is kept aside under a new name, with a warning, not deleted.
        """
        jpath = journal_path(self.path)
        if os.path.lexists(jpath) and not stat.S_ISREG(os.lstat(jpath).st_mode):
            raise SearchLogError(
                f"search log journal {jpath} is not a regular file (a directory or link?); move it away, then rerun"
            )
        if not self.path.exists():
            if os.path.lexists(jpath):
                aside = jpath.with_name(f"{jpath.name}.orphan-{secrets.token_hex(4)}")
                os.replace(jpath, aside)
                log.warning("search log journal %s had no log %s; kept aside as %s", jpath, self.path, aside)
            self._state = None
            return pd.DataFrame({c: [] for c in self.cols})
        meta, base, log_id = _read_base(self.path)
        frames, valid, total = _read_journal(self.path, log_id, len(base), list(base.columns))
        joined = _concat(base, frames)
        check_iterations(self.path, joined["iteration"])
        rows = self._check(meta, joined)
        self._state = (log_id, len(base), valid, total)
        return rows

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Add rows: one journal record (the first checkpoint, or the first after an older log
        without a journal, writes the base instead)."""
        if not rows:
            return
        if not self.path.exists():
            self.load()  # a journal left without its log is kept aside, never cleared silently
            self._write_base(rows, secrets.token_hex(16), jpath_clear=True)
            return
        if self._state is None:
            self.load()
        assert self._state is not None
        log_id, _, valid, total = self._state
        if log_id is None:  # an older log: rewritten once with a log_id, then journalled
            self._write_base(list(self.load().to_dict("records")) + rows, secrets.token_hex(16), jpath_clear=True)
            return
        record = encode_record(log_id, total, rows, self.cols)
        jpath = journal_path(self.path)
        fd = os.open(jpath, os.O_WRONLY | os.O_CREAT, 0o644)
        with os.fdopen(fd, "wb") as out:
            out.truncate(valid)  # a torn record left by a killed writer
            out.seek(valid)
            half = len(record) // 2
            _write_bytes(out, record[:half])
            out.flush()
            faults.reached("search_log.write")  # tests kill here, mid-record (intrain/core/faults.py)
            _write_bytes(out, record[half:])
            out.flush()
            os.fsync(out.fileno())
        self._state = (log_id, self._state[1], valid + len(record), total + len(rows))

    def compact(self) -> None:
        """Fold the journal into the base (one rewrite) and remove it: the log is one file again."""
        jpath = journal_path(self.path)
        if not self.path.exists() or not jpath.exists():
            return
        rows = self.load()
        assert self._state is not None
        log_id, n_base, _, total = self._state
        if total > n_base:
            self._write_base(list(rows.to_dict("records")), log_id or secrets.token_hex(16), jpath_clear=False)
        with contextlib.suppress(FileNotFoundError):
            jpath.unlink()  # after the rename: a kill in between leaves records the base already holds
        self._state = (log_id, total, 0, total)

    def _write_base(self, rows: list[dict[str, Any]], log_id: str, jpath_clear: bool) -> None:
        """The whole base, built in memory and renamed into place (never edited in place)."""
        cols = self.cols
        buffer = io.BytesIO()
        with h5py.File(buffer, "w", track_order=True, userblock_size=sealed.USERBLOCK) as f:
            f.attrs["schema"] = SCHEMA
            f.attrs["meta"] = json.dumps(self.meta, sort_keys=True)
            f.attrs["log_id"] = log_id
            for c in cols:
                dtype = _STR if c == "arch" else ("i8" if c in ("iteration", "new") else "f8")
                values = [r[c] for r in rows]
                f.create_dataset(
                    c,
                    data=np.asarray(values, dtype=object if c == "arch" else dtype),
                    dtype=dtype,
                    maxshape=(None,),
                    chunks=(1024,),
                    track_times=False,
                )
            f.attrs["n_done"] = len(rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()  # left by a writer of this log killed before its rename
        if jpath_clear:  # a new log_id: an old journal belongs to no log now (removed before the rename)
            with contextlib.suppress(FileNotFoundError):
                journal_path(self.path).unlink()
        tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as out:
                _write_bytes(out, sealed.seal(buffer.getbuffer()))
                faults.reached("search_log.write")  # tests kill here (intrain/core/faults.py)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._state = (log_id, len(rows), 0, len(rows))
