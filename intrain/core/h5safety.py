"""Self-contained HDF5 files: refuse, before any dataset is read, what would read outside the file
or allocate more than the file can hold.

HDF5 can keep a dataset's bytes in another file (external storage), link to another file
(external links, user-defined links), map other files (virtual datasets) and declare any shape,
compressed or filled, whatever its own size. A checksum over the artifact (`.sealed`) does
not cover what it points to, and a 120 KB file can declare terabytes. Every reader of intrain's
HDF5 files (score artifacts through `intrain.core.artifacts.open_artifact`, search logs
through `intrain.core.search_log.read_log`) therefore calls `check_self_contained`
first; it only walks link and object headers, never dataset bytes.

Refused (an `UnsafeHDF5Error` naming the file and the object):

- any link that is not a hard link (soft, external, user-defined: intrain writes none);
- datasets with external storage (``dset.external``) or a virtual layout (``dset.is_virtual``);
- filters other than `ALLOWED_FILTERS` (an unknown filter may load a plugin library);
- dtypes other than numbers, booleans, fixed-size bytes and variable-length strings
  (compound, object references, enums, arrays, other variable-length types);
- a dataset whose declared size (shape x itemsize) exceeds `MAX_DATASET_BYTES`, or what the
  file can hold: its size (unfiltered) or `MAX_EXPANSION` times its size (compressed), plus
  `SLACK_BYTES`; all datasets together are bounded by `MAX_TOTAL_BYTES`;
- a chunked dataset with a chunk left unwritten, or declaring more than its stored bytes allow;
- a string attribute that is an array (each could point at one shared heap object) or a name that
  is not UTF-8;
- a second hard link to an object (aliases and cycles: a merge would copy it under either name);
- more than `MAX_OBJECTS` links.

Examples:
    >>> import io, h5py, numpy as np
    >>> buf = io.BytesIO()
    >>> with h5py.File(buf, "w") as f:
    ...     f["x"] = np.arange(3)
    ...     f["y"] = h5py.ExternalLink("/etc/passwd", "/z")
    >>> with h5py.File(buf, "r") as f:
    ...     check_self_contained(f, "demo.h5")
    Traceback (most recent call last):
    ...
    intrain.core.h5safety.UnsafeHDF5Error: demo.h5: /y is an external link (to another file); intrain files are self-contained, refusing to read it
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from intrain.core.errors import UnsafeInputError

__all__ = [
    "ALLOWED_FILTERS",
    "MAX_DATASET_BYTES",
    "MAX_EXPANSION",
    "MAX_OBJECTS",
    "MAX_STRING_BYTES",
    "MAX_TOTAL_BYTES",
    "SLACK_BYTES",
    "STRING_BLOCK_BYTES",
    "UnsafeHDF5Error",
    "check_self_contained",
    "read_strings",
]

#: Largest single dataset intrain reads (bytes, as declared: shape x itemsize). The largest real
#: artifact column (NB101 merged, 423,624 rows x 8 bytes; per-layer tables ~ 10^7 rows) is far below.
MAX_DATASET_BYTES = 1 << 31
#: All datasets of one file together (bytes, as declared).
MAX_TOTAL_BYTES = 1 << 32
#: Deflate's best possible ratio is about 1032:1; a compressed dataset may declare at most this
#: many times the file's size.
MAX_EXPANSION = 1100
#: Declared bytes always allowed beyond the file-size bound (empty and tiny datasets, fill values).
SLACK_BYTES = 1 << 20
#: Links walked at most (groups, datasets); intrain's artifacts hold a few dozen.
MAX_OBJECTS = 100_000
#: Total characters of one string dataset read by `read_strings` (shared global-heap objects
#: can make a small file expand without this).
MAX_STRING_BYTES = 1 << 28
#: Memory one block of variable-length strings may take at most in `read_strings`, taking every
#: string as large as the file (the bound a shared heap object allows).
STRING_BLOCK_BYTES = 1 << 28
#: HDF5 filter ids read: deflate (1), shuffle (2), fletcher32 (3), scale-offset (6), LZF (32000).
ALLOWED_FILTERS = frozenset({1, 2, 3, 6, 32000})

_LINK_KIND = {h5py.h5l.TYPE_SOFT: "a soft link", h5py.h5l.TYPE_EXTERNAL: "an external link (to another file)"}


class UnsafeHDF5Error(UnsafeInputError):
    """An HDF5 file that refers outside itself or declares more data than it can hold."""


def _dtype_ok(dtype: np.dtype) -> bool:
    if h5py.check_string_dtype(dtype) is not None:
        return True
    if dtype.fields is not None or dtype.subdtype is not None or dtype.hasobject:
        return False
    if h5py.check_enum_dtype(dtype) is not None or h5py.check_ref_dtype(dtype) is not None:
        return False
    return dtype.kind in "biuf" or (dtype.kind == "S" and dtype.itemsize > 0)


def _check_attrs(obj: h5py.HLObject, label: str, where: str) -> None:
    try:
        names = list(obj.attrs)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise UnsafeHDF5Error(f"{label}: attributes of {where} are unreadable ({type(e).__name__})") from None
    for name in names:
        if not isinstance(name, str):  # h5py hands back bytes for a name that is not UTF-8
            shown = bytes(name).decode("utf-8", "backslashreplace")[:80]
            raise UnsafeHDF5Error(f"{label}: attribute {shown!r} of {where} has a name that is not UTF-8")
        try:
            attr = obj.attrs.get_id(name)
            dtype, scalar = attr.dtype, attr.get_space().get_simple_extent_type() == h5py.h5s.SCALAR
        except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
            raise UnsafeHDF5Error(
                f"{label}: attribute {name[:80]!r} of {where} is unreadable ({type(e).__name__})"
            ) from None
        if not _dtype_ok(dtype):
            raise UnsafeHDF5Error(
                f"{label}: attribute {name[:80]!r} of {where} has dtype {str(dtype)[:80]} "
                "(only numbers and strings are read)"
            )
        if h5py.check_string_dtype(dtype) is not None and not scalar:
            # intrain writes each string attribute as one string; an array of variable-length strings
            # can point every element at one shared heap object and expand far beyond the file
            raise UnsafeHDF5Error(
                f"{label}: attribute {name[:80]!r} of {where} is an array of strings "
                "(intrain writes one string per attribute); refusing to read it"
            )


def _check_dataset(ds: h5py.Dataset, label: str, where: str, file_size: int) -> int:
    plist = ds.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise UnsafeHDF5Error(f"{label}: {where} is a virtual dataset (it maps other files); refusing to read it")
    if plist.get_external_count() > 0:
        raise UnsafeHDF5Error(f"{label}: {where} stores its data in an external file; refusing to read it")
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    unknown = [f for f in filters if f not in ALLOWED_FILTERS]
    if unknown:
        raise UnsafeHDF5Error(f"{label}: {where} uses HDF5 filter {unknown[0]} (read: {sorted(ALLOWED_FILTERS)})")
    if not _dtype_ok(ds.dtype):
        raise UnsafeHDF5Error(
            f"{label}: {where} has dtype {str(ds.dtype)[:80]} (compound, reference and other "
            "object dtypes are not read)"
        )
    shape = ds.shape or ()
    n = 1
    for d in shape:
        n *= int(d)
    declared = n * int(ds.dtype.itemsize)
    expansion = MAX_EXPANSION if filters else 1
    limit = min(MAX_DATASET_BYTES, file_size * expansion + SLACK_BYTES)
    if declared > limit:
        raise UnsafeHDF5Error(
            f"{label}: {where} declares {declared:,} bytes (shape {shape}), more than the {file_size:,}-byte file can "
            f"hold ({'compressed, ' if filters else ''}limit {limit:,}); refusing to read it"
        )
    if plist.get_layout() == h5py.h5d.CHUNKED and n > 0:
        # what is stored, not the file size, bounds a chunked dataset: an unwritten chunk reads as fill
        # values (a tiny file declaring gigabytes of them), and intrain writes every chunk it declares
        chunk = plist.get_chunk()
        expected = 1
        for d, c in zip(shape, chunk):
            expected *= -(-int(d) // max(1, int(c)))
        stored = int(ds.id.get_storage_size())
        if int(ds.id.get_num_chunks()) < expected:
            raise UnsafeHDF5Error(
                f"{label}: {where} has {int(ds.id.get_num_chunks()):,} of its {expected:,} chunks written "
                "(intrain writes every row); refusing to read it"
            )
        if declared > stored * expansion + SLACK_BYTES:
            raise UnsafeHDF5Error(
                f"{label}: {where} declares {declared:,} bytes (shape {shape}) from {stored:,} stored "
                f"(limit {stored * expansion + SLACK_BYTES:,}); refusing to read it"
            )
    return declared


def check_self_contained(f: h5py.File, path: str | os.PathLike[str]) -> None:
    """Walk every link and object header of ``f`` and raise `UnsafeHDF5Error` (naming
    ``path`` and the object) at the first thing that reads outside the file or over the bounds."""
    label = str(path)
    try:
        file_size = int(f.id.get_filesize())
    except (OSError, RuntimeError, ValueError) as e:
        raise UnsafeHDF5Error(f"{label}: cannot determine the file size ({e})") from None
    _check_attrs(f, label, "/")
    seen: dict[tuple[int, int], str] = {}
    stack: list[tuple[str, h5py.Group]] = [("", f)]
    total = links = 0
    while stack:
        prefix, group = stack.pop()
        try:
            names = list(group)
        except (OSError, RuntimeError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise UnsafeHDF5Error(f"{label}: group {prefix or '/'} is unreadable ({type(e).__name__})") from None
        for name in names:
            links += 1
            if not isinstance(name, str):  # h5py hands back bytes for a name that is not UTF-8
                shown = bytes(name).decode("utf-8", "backslashreplace")[:80]
                raise UnsafeHDF5Error(
                    f"{label}: {prefix or '/'} holds a link whose name {shown!r} is not UTF-8; refusing to read it"
                )
            where = f"{prefix}/{name}"[:300]
            if links > MAX_OBJECTS:
                raise UnsafeHDF5Error(f"{label}: more than {MAX_OBJECTS:,} links; refusing to read it")
            try:
                kind = group.id.links.get_info(name.encode("utf-8", "surrogateescape")).type
            except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
                raise UnsafeHDF5Error(f"{label}: link {where} is unreadable ({type(e).__name__})") from None
            if kind != h5py.h5l.TYPE_HARD:
                what = _LINK_KIND.get(kind, f"a user-defined link (type {kind})")
                raise UnsafeHDF5Error(
                    f"{label}: {where} is {what}; intrain files are self-contained, refusing to read it"
                )
            try:
                obj = group[name]
                info = h5py.h5o.get_info(obj.id)
                key = (int(info.fileno), int(info.addr))
            except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
                raise UnsafeHDF5Error(f"{label}: object {where} is unreadable ({type(e).__name__})") from None
            if key in seen:  # an alias or a cycle: a merge would copy the object under either name
                raise UnsafeHDF5Error(
                    f"{label}: {where} is a second link to {seen[key]}; intrain files give "
                    "each object one name, refusing to read it"
                )
            seen[key] = where
            _check_attrs(obj, label, where)
            if isinstance(obj, h5py.Dataset):
                total += _check_dataset(obj, label, where, file_size)
                if total > MAX_TOTAL_BYTES:
                    raise UnsafeHDF5Error(
                        f"{label}: its datasets declare more than {MAX_TOTAL_BYTES:,} bytes "
                        "together; refusing to read it"
                    )
            elif isinstance(obj, h5py.Group):
                stack.append((where, obj))
            else:
                raise UnsafeHDF5Error(f"{label}: {where} is a {type(obj).__name__}, not a group or dataset")


def read_strings(ds: h5py.Dataset, label: str, stop: int | None = None) -> list[str]:
    """A 1-D string dataset (its first ``stop`` rows) as ``str``, read in blocks with the total length
    bounded by `MAX_STRING_BYTES`.

    Variable-length strings can all point at one shared heap object, which may be as large as the file:
    a block of ``b`` rows can take ``b`` x (file size) of memory before any length is seen, so blocks
    hold at most `STRING_BLOCK_BYTES` / (file size) rows (one row for a file larger than that).
    """
    out: list[str] = []
    total = 0
    n = ds.shape[0] if ds.shape else 0
    if stop is not None:
        n = min(n, stop)
    try:
        file_size = max(1, int(ds.file.id.get_filesize()))
    except (OSError, RuntimeError, ValueError):
        file_size = MAX_STRING_BYTES
    block = max(1, min(4096, STRING_BLOCK_BYTES // file_size))
    for lo in range(0, n, block):
        for s in ds[lo : lo + block]:
            text = s.decode() if isinstance(s, bytes) else str(s)
            total += len(text)
            if total > MAX_STRING_BYTES:
                raise UnsafeHDF5Error(
                    f"{label}: {ds.name} holds more than {MAX_STRING_BYTES:,} characters; refusing to read it"
                )
            out.append(text)
    return out
