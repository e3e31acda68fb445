"""Fetch benchmark files from their public URL or a mirror, verify sha256, never leave a partial.

The bytes are streamed into a temporary file next to the destination while being hashed; only
a file whose sha256 matches is renamed into place (``os.replace`` is atomic on one filesystem).
Any failure (HTTP error, timeout, truncated body, checksum mismatch) removes the temporary file
and raises `DownloadError` naming the file and the cause.

A mirror is a directory (or an ``http(s)://`` base URL) holding the files under their
``mirror_path``; it comes from ``--mirror``, the config key ``mirror``, or ``INTRAIN_MIRROR``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

import yaml

from intrain.core.errors import InputError, IntrainError

log = logging.getLogger(__name__)
CHUNK = 1 << 16


class DownloadError(IntrainError, RuntimeError):
    pass


@dataclass(frozen=True)
class BenchmarkFile:
    key: str
    url: str
    mirror_path: str
    sha256: str
    description: str = ""
    size: int | None = None
    rows: int | None = None  # architectures in the table, when it is a space's ground truth
    space: str | None = None  # the space whose default ground truth this file is

    @property
    def suffix(self) -> str:
        """The file's extension (``.csv``, ``.json``), which the ground-truth readers dispatch on."""
        return Path(self.mirror_path).suffix


class CatalogError(InputError):
    """A benchmark catalog (``benchmarks.yaml``) entry that is missing a field or has a bad value."""


_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FIELDS = {"url": str, "mirror_path": str, "sha256": str, "description": str, "size": int, "rows": int, "space": str}
_REQUIRED = ("url", "mirror_path", "sha256")


def parse_catalog(text: str | bytes, source: str = "benchmarks.yaml") -> dict[str, BenchmarkFile]:
    """The catalog's entries, each checked field by field (YAML read with the safe loader)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CatalogError(f"{source}: not valid YAML ({e})") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise CatalogError(f"{source}: not readable text ({e})") from None
    if not isinstance(raw, dict) or not raw:
        raise CatalogError(f"{source}: expected a mapping of file keys to entries, got {type(raw).__name__}")
    out: dict[str, BenchmarkFile] = {}
    for key, entry in raw.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise CatalogError(f"{source}: file key {key!r} must be letters, digits, '_' or '-'")
        if not isinstance(entry, dict):
            raise CatalogError(f"{source}: {key}: expected a mapping of fields, got {type(entry).__name__}")
        for field_name, value in entry.items():
            want = _FIELDS.get(field_name) if isinstance(field_name, str) else None
            if want is None:
                raise CatalogError(f"{source}: {key}: unknown field {field_name!r}; known: {sorted(_FIELDS)}")
            if want is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise CatalogError(f"{source}: {key}.{field_name} must be a non-negative integer, got {value!r}")
            if want is str and not isinstance(value, str):
                raise CatalogError(f"{source}: {key}.{field_name} must be a string, got {value!r}")
        missing = [f for f in _REQUIRED if f not in entry]
        if missing:
            raise CatalogError(f"{source}: {key}: missing field(s) {missing}")
        if not _SHA256.match(entry["sha256"]):
            raise CatalogError(f"{source}: {key}.sha256 must be 64 lowercase hex digits, got {entry['sha256']!r}")
        mp = entry["mirror_path"]
        if not mp or mp.startswith("/") or ".." in Path(mp).parts or "\0" in mp:
            raise CatalogError(f"{source}: {key}.mirror_path {mp!r} must be a relative path inside the mirror")
        if not entry["url"].startswith(("http://", "https://")):
            raise CatalogError(f"{source}: {key}.url must be an http(s) URL, got {entry['url']!r}")
        out[key] = BenchmarkFile(key=key, **entry)
    return out


def catalog() -> dict[str, BenchmarkFile]:
    text = resources.files("intrain.data").joinpath("benchmarks.yaml").read_text()
    return parse_catalog(text)


def get_file(key: str) -> BenchmarkFile:
    """The catalog entry ``key``; an unknown key is refused with the list of known ones."""
    files = catalog()
    if key not in files:
        raise InputError(f"unknown benchmark file {key!r} (intrain/data/benchmarks.yaml); known: {sorted(files)}")
    return files[key]


def sha256_of(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def source_for(entry: BenchmarkFile, mirror: str | None) -> str:
    """The URL or local path the file is read from."""
    mirror = mirror if mirror is not None else os.environ.get("INTRAIN_MIRROR") or None
    if not mirror:
        return entry.url
    if mirror.startswith(("http://", "https://", "file://")):
        return mirror.rstrip("/") + "/" + entry.mirror_path
    return str(Path(mirror) / entry.mirror_path)


def _open_source(source: str, timeout: float) -> IO[bytes]:
    if source.startswith(("http://", "https://", "file://")):
        req = urllib.request.Request(source, headers={"User-Agent": "intrain"})
        response: IO[bytes] = urllib.request.urlopen(req, timeout=timeout)
        return response
    if not os.path.exists(source):
        raise FileNotFoundError(f"mirror file {source} does not exist")
    return open(source, "rb")


def fetch(entry: BenchmarkFile, dest: str | os.PathLike[str], mirror: str | None = None, timeout: float = 60.0) -> Path:
    """Download ``entry`` to ``dest`` (skipped if ``dest`` already has the right sha256)."""
    dest = Path(dest)
    if dest.exists() and sha256_of(dest) == entry.sha256:
        log.info("%s already present and verified: %s", entry.key, dest)
        return dest
    source = source_for(entry, mirror)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    h = hashlib.sha256()
    n = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                src = _open_source(source, timeout)
            except urllib.error.HTTPError as e:
                raise DownloadError(f"{entry.key}: HTTP {e.code} {e.reason} from {source}") from e
            except (urllib.error.URLError, TimeoutError, OSError) as e:
                raise DownloadError(f"{entry.key}: cannot read {source}: {e}") from e
            with src:
                try:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        h.update(chunk)
                        out.write(chunk)
                        n += len(chunk)
                except (TimeoutError, OSError) as e:
                    raise DownloadError(f"{entry.key}: reading {source} failed after {n} bytes: {e}") from e
            out.flush()
            os.fsync(out.fileno())
        if entry.size is not None and n != entry.size:
            raise DownloadError(f"{entry.key}: got {n} bytes from {source}, expected {entry.size} (truncated?)")
        digest = h.hexdigest()
        if digest != entry.sha256:
            raise DownloadError(f"{entry.key}: sha256 mismatch for {source}: got {digest}, expected {entry.sha256}")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    log.info("fetched %s (%d bytes) from %s", entry.key, n, source)
    return dest
