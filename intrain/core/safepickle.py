"""Unpickling that never runs code: only plain containers, numbers, strings, bytes and numpy arrays.

``pickle.load`` calls whatever global a file names, so a crafted "CIFAR batch" or score stream
can run a shell command before any check sees its content. :func:`load` and :func:`load_stream`
refuse every global outside a short allow-list (numpy's array/dtype/scalar reconstructors and
``collections.OrderedDict``) and every persistent id, raising :class:`UnsafeInputError` that
names the file and the refused global.

>>> import io, pickle
>>> load(io.BytesIO(pickle.dumps({"a": [1, 2.5, "x", b"y"]})))
{'a': [1, 2.5, 'x', b'y']}
>>> import os
>>> load(io.BytesIO(pickle.dumps(os.getcwd)), name="evil.pkl")
Traceback (most recent call last):
...
intrain.core.errors.UnsafeInputError: evil.pkl: refused to unpickle the global 'posix.getcwd' (only plain containers, numbers, strings, bytes and numpy arrays are loaded)
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import IO, Any, Iterator

from intrain.core.errors import InputError, UnsafeInputError

__all__ = ["load", "load_stream", "ALLOWED_GLOBALS"]

# (module, name) pairs that rebuild data, never call user code. numpy moved `core` to `_core` in 2.0;
# both spellings appear in pickles in the wild.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
       ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"), ("builtins", "bytearray"),
       ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "complex"),
       ("_codecs", "encode"), ("codecs", "encode")]
)
_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
           AttributeError, OverflowError, MemoryError, UnicodeError, RecursionError, ImportError, LookupError)


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``codecs.encode`` as protocol-2 pickles of bytes call it: text to latin-1, nothing else."""
    if not isinstance(obj, str) or str(encoding).lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1"):
        raise pickle.UnpicklingError(f"codecs.encode is only loaded for latin-1 text, got encoding {encoding!r}")
    return obj.encode("latin-1", "strict")


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: IO[bytes], name: str, encoding: str):
        super().__init__(fh, encoding=encoding)
        self._name = name

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeInputError(
                f"{self._name}: refused to unpickle the global '{module}.{name}' (only plain containers, "
                "numbers, strings, bytes and numpy arrays are loaded)")
        if module.startswith("numpy"):
            import numpy as np  # noqa: F401  (numpy is a dependency; imported only when a file needs it)
        if name == "encode":  # pickles of bytes (protocol < 3) use codecs.encode(text, "latin1") only
            return _latin1_encode
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeInputError(f"{self._name}: refused a pickle persistent id (not a plain data file)")


def _one(unpickler: _RestrictedUnpickler, name: str) -> Any:
    try:
        return unpickler.load()
    except UnsafeInputError:
        raise
    except _ERRORS as e:
        raise InputError(f"{name}: not a readable pickle of plain data ({type(e).__name__}: {e})") from None


def _open(source: str | os.PathLike | IO[bytes], name: str | None) -> tuple[IO[bytes], str, bool]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        return path.open("rb"), name or path.name, True
    return source, name or getattr(source, "name", "<stream>"), False


def load(source: str | os.PathLike | IO[bytes], *, name: str | None = None, encoding: str = "ASCII") -> Any:
    """One pickled object from a path or binary file, rebuilt without running code.

    ``encoding="bytes"`` reads Python 2 pickles (the CIFAR batches) with their ``str`` as bytes.
    """
    fh, label, close = _open(source, name)
    try:
        return _one(_RestrictedUnpickler(fh, label, encoding), label)
    finally:
        if close:
            fh.close()


def load_stream(source: str | os.PathLike | IO[bytes], *, name: str | None = None,
                encoding: str = "ASCII") -> Iterator[Any]:
    """Every object of an append stream of pickles (zero-cost-nas writes one per architecture)."""
    fh, label, close = _open(source, name)
    try:
        if not fh.seekable():
            fh = io.BytesIO(fh.read())
        while True:
            pos = fh.tell()
            if not fh.read(1):
                return
            fh.seek(pos)
            yield _one(_RestrictedUnpickler(fh, label, encoding), label)
    finally:
        if close:
            fh.close()
