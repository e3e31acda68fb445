"""Unpickling that never runs code: only plain containers, numbers, strings, bytes and numpy arrays,
with bounded size.

``pickle.load`` calls whatever global a file names, so a crafted "CIFAR batch" or score stream
can run a shell command before any check sees its content. [`load`][intrain.core.safepickle.load] and [`load_stream`][intrain.core.safepickle.load_stream]
refuse every global outside a short allow-list and every persistent id, raising
[`UnsafeInputError`][intrain.core.errors.UnsafeInputError] that names the file and the refused global.

The allowed numpy reconstructors are not handed the file's arguments: each is replaced by a
checking version that builds only plain dtypes (numbers, booleans, ``S``/``U`` strings; never
object, structured, overlapping or sub-array dtypes) and arrays whose buffer is exactly
``prod(shape) * itemsize`` bytes, so no state can make numpy read outside a buffer or treat bytes
as object pointers. What is built is then bounded, counting every *reference* (a pickle is a graph:
``a = [a, a]`` forty times is tiny on disk and 2^40 objects to anything that walks it):

- `MAX_FILE_BYTES` bytes of pickle read at all (the file is read into memory first);
- `MAX_OBJECTS` objects, `MAX_DEPTH` levels of nesting, `MAX_BUILT_BYTES`
  bytes of strings, bytes and array data; containers that contain themselves are refused.

Some blow-ups happen *while* loading, before anything can be counted: CPython does not cache tuple
hashes (``t = (t, t)`` a hundred times, 87 bytes, costs 2^100 to hash as a set member) and hashes
nested tuples recursively in C (300,000 levels crash the process). So loading runs on the
pure-Python unpickler with checked opcodes: dict keys and set members must be strings, bytes,
floats, None or ints within `MAX_KEY_INT`, checked before they are hashed; BUILD, APPEND and
SETITEM apply only to numpy's reconstructed objects, lists and dicts; at most
`MAX_LOAD_OPS` opcodes run.

Messages quote untrusted values only through `intrain.core.bounded.short_repr`.

Examples:
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

import collections
import io
import os
import pickle
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from intrain.core.bounded import short_repr
from intrain.core.errors import InputError, UnsafeInputError

__all__ = [
    "ALLOWED_GLOBALS",
    "MAX_BUILT_BYTES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_KEY_INT",
    "MAX_LOAD_OPS",
    "MAX_OBJECTS",
    "load",
    "load_stream",
]

#: Largest pickle file read (CIFAR-100's ``train`` batch is 155 MB).
MAX_FILE_BYTES = 1 << 30
#: Objects built, each reference counted (CIFAR-100 ``train``: about 150,000).
MAX_OBJECTS = 1_000_000
#: Nesting of containers (the outermost container is level 1; intrain's inputs need 3).
MAX_DEPTH = 64
#: Bytes of str/bytes/array data built, each reference counted (CIFAR-100 ``train``: 154 MB).
MAX_BUILT_BYTES = 1 << 30
#: Pickle opcodes run while loading (each builds at most one object; CIFAR-100 ``train``: about 300,000).
MAX_LOAD_OPS = 4 * MAX_OBJECTS
#: Largest integer loaded as a dict key or set member: distinct ints up to here hash distinctly, so
#: no crafted set of colliding keys can make inserts quadratic.
MAX_KEY_INT = (1 << 61) - 2

# (module, name) pairs that rebuild data, never call user code. numpy moved `core` to `_core` in 2.0;
# both spellings appear in pickles in the wild.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")]
    + [(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")]
    + [
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("collections", "OrderedDict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("__builtin__", "set"),
        ("__builtin__", "frozenset"),
        ("__builtin__", "complex"),
        ("__builtin__", "bytearray"),
        ("_codecs", "encode"),
        ("codecs", "encode"),
    ]
)
_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    OverflowError,
    MemoryError,
    UnicodeError,
    RecursionError,
    ImportError,
    LookupError,
    struct.error,
)
# dtype strings the reconstructors accept: bool, ints, floats, complex, fixed-size bytes/text
_DTYPE_STR = re.compile(r"[biufc]\d{1,2}|[SU]\d{1,9}")


class _Refused(pickle.UnpicklingError):
    """A reconstructor argument outside what is loaded (becomes UnsafeInputError with the file name)."""


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``codecs.encode`` as protocol-2 pickles of bytes call it: text to latin-1, nothing else."""
    if (
        not isinstance(obj, str)
        or not isinstance(encoding, str)
        or encoding.lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1")
    ):
        raise _Refused(f"codecs.encode is only loaded for latin-1 text, got encoding {short_repr(encoding)}")
    return obj.encode("latin-1", "strict")


def _bytearray(*args: Any) -> bytearray:
    """``bytearray`` from bytes only (``bytearray(10**12)`` would allocate a terabyte)."""
    if len(args) > 1 or (args and not isinstance(args[0], (bytes, bytearray))):
        raise _Refused("bytearray is only loaded from bytes")
    return bytearray(*args)


class _PendingDtype:
    """``numpy.dtype(...)`` as a pickle calls it; its BUILD state is checked, never handed to numpy."""

    def __init__(self, obj: Any = None, align: Any = False, copy: Any = True):
        if isinstance(obj, bytes):  # Python 2 pickles read with encoding="bytes" (the CIFAR batches)
            obj = obj.decode("latin-1")
        if not isinstance(obj, str) or not _DTYPE_STR.fullmatch(obj):
            raise _Refused(
                f"numpy dtype {short_repr(obj)} is not loaded (only bool, integer, float, complex, "
                "bytes and text dtypes)"
            )
        self.typestr, self.byteorder = obj, "="

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (8, 9) or not isinstance(state[0], int):
            raise _Refused("numpy dtype state is not a plain dtype's")
        _, order, subarray, names, fields, elsize = state[:6]
        order = order.decode("latin-1") if isinstance(order, bytes) else order
        if subarray is not None or names is not None or fields is not None or (len(state) == 9 and state[8]):
            raise _Refused("structured, sub-array and metadata dtypes are not loaded")
        if order not in ("<", ">", "|", "="):
            raise _Refused(f"numpy dtype byte order {short_repr(order)}")
        self.byteorder = order
        if elsize != -1 and elsize != self.resolve().itemsize:
            raise _Refused(f"numpy dtype {self.typestr} with item size {short_repr(elsize)}")

    def resolve(self) -> Any:  # a numpy dtype
        import numpy as np

        dt = np.dtype(self.typestr)
        return (
            dt.newbyteorder("<" if self.byteorder == "<" else ">") if self.byteorder in "<>" and dt.itemsize > 1 else dt
        )


def _dtype_of(value: Any) -> Any:
    import numpy as np

    if isinstance(value, _PendingDtype):
        return value.resolve()
    if isinstance(value, np.dtype) and not value.hasobject and value.fields is None and value.subdtype is None:
        return value
    raise _Refused("array dtype is not a plain dtype")


def _shape_of(value: Any, itemsize: int) -> tuple[int, ...]:
    if (
        not isinstance(value, tuple)
        or len(value) > 32
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)
    ):
        raise _Refused("array shape is not a tuple of non-negative integers")
    n = itemsize
    for d in value:
        n *= d
        if n > MAX_BUILT_BYTES:
            raise _Refused(f"array shape declares more than {MAX_BUILT_BYTES:,} bytes")
    return value


def _buffer_of(raw: Any, nbytes: int) -> bytes:
    if isinstance(raw, str):
        raw = raw.encode("latin-1")  # Python 2 pickles read with encoding="latin1"
    if not isinstance(raw, (bytes, bytearray)):
        raise _Refused("array data is not bytes")
    if len(raw) != nbytes:
        raise _Refused(f"array data has {len(raw)} bytes, its shape and dtype declare {nbytes}")
    return bytes(raw)


def _array(shape: Any, dtype: Any, raw: Any, fortran: bool = False) -> Any:
    import numpy as np

    dt = _dtype_of(dtype)
    shape = _shape_of(shape, dt.itemsize)
    n = dt.itemsize
    for d in shape:
        n *= d
    data = _buffer_of(raw, n)
    out = np.frombuffer(data, dtype=dt).reshape(shape, order="F" if fortran else "C").copy(order="K")
    return out


class _PendingArray:
    """``numpy.core.multiarray._reconstruct(ndarray, ...)``; the array is built from its checked BUILD state."""

    __hash__ = None  # type: ignore[assignment]  # unhashable, like the array it stands for

    def __init__(self) -> None:
        self.array = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise _Refused("ndarray state is not (version, shape, dtype, is_fortran, data)")
        _, shape, dtype, fortran, raw = state
        if not isinstance(fortran, bool):
            raise _Refused("ndarray state's is_fortran is not a bool")
        self.array = _array(shape, dtype, raw, fortran)


class _Ndarray:
    """Stands for ``numpy.ndarray`` in a pickle: only `_reconstruct` takes it; calling it
    (``numpy.ndarray(shape)`` allocates whatever a file asks for) is refused."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise _Refused("numpy.ndarray is only loaded through numpy's own reconstructor")


def _reconstruct(subtype: Any, shape: Any = None, typecode: Any = None) -> _PendingArray:
    if subtype is not _Ndarray:
        raise _Refused("only numpy.ndarray is reconstructed")
    return _PendingArray()


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any = "C") -> Any:
    if order not in ("C", "F"):
        raise _Refused("array order is not C or F")
    return _array(shape, dtype, buf, order == "F")


def _scalar(dtype: Any, raw: Any = None) -> Any:
    import numpy as np

    dt = _dtype_of(dtype)
    return np.frombuffer(_buffer_of(raw, dt.itemsize), dtype=dt)[0]


def _check_key(key: Any, what: str) -> Any:
    """``key`` if it may be hashed: a string, bytes, a float, None or a bounded int.

    Hashing anything else can be the blow-up: CPython does not cache tuple hashes, so
    ``t = (t, t)`` a hundred times costs 2^100 to hash, and a tuple nested 300,000 deep overflows
    the C stack. No file intrain reads keys by anything but strings, bytes or numbers."""
    if isinstance(key, (str, bytes, float)) or key is None:
        return key
    if isinstance(key, int):
        if -MAX_KEY_INT <= key <= MAX_KEY_INT:
            return key
        raise _Refused(f"an integer beyond {MAX_KEY_INT:,} in magnitude as a {what}")
    raise _Refused(
        f"a {type(key).__name__} as a {what} (only strings, bytes, numbers and None are loaded as dict keys "
        "and set members)"
    )


def _checked_members(items: Any, what: str) -> list[Any]:
    if not isinstance(items, (list, tuple)):
        raise _Refused(f"a {what} is only loaded from a list or tuple, got {type(items).__name__}")
    return [_check_key(x, what) for x in items]


def _set(items: Any = ()) -> set[Any]:
    return set(_checked_members(items, "set member"))


def _frozenset(items: Any = ()) -> frozenset[Any]:
    return frozenset(_checked_members(items, "set member"))


def _ordered_dict(items: Any = ()) -> collections.OrderedDict[Any, Any]:
    if not isinstance(items, (list, tuple)) or not all(isinstance(p, tuple) and len(p) == 2 for p in items):
        raise _Refused("OrderedDict is only loaded from a list of (key, value) pairs")
    return collections.OrderedDict((_check_key(k, "dict key"), v) for k, v in items)


def _replacements() -> dict[str, Any]:
    return {
        "_reconstruct": _reconstruct,
        "scalar": _scalar,
        "_frombuffer": _frombuffer,
        "dtype": _PendingDtype,
        "ndarray": _Ndarray,
        "encode": _latin1_encode,
        "bytearray": _bytearray,
        "set": _set,
        "frozenset": _frozenset,
        "OrderedDict": _ordered_dict,
    }


def _counted(handler: Any) -> Any:
    def run(self: _RestrictedUnpickler) -> Any:
        self.ops += 1
        if self.ops > MAX_LOAD_OPS:
            raise _Refused(f"more than {MAX_LOAD_OPS:,} pickle operations")
        return handler(self)

    return run


# the pure-Python unpickler (typeshed declares little of it)
_PyUnpickler: Any = pickle._Unpickler


class _RestrictedUnpickler(_PyUnpickler):  # type: ignore[misc]
    """The pure-Python unpickler, whose opcodes can be checked one by one while loading: every
    opcode is counted, and those that hash (dict keys, set members) or mutate an object check it
    first. Nothing is hashed that `_check_key` did not pass, so hashing is linear and never
    recurses; nesting is bounded afterwards by `_Bounds` (building it is iterative)."""

    def __init__(self, fh: IO[bytes], name: str, encoding: str):
        super().__init__(fh, encoding=encoding)
        self._name = name
        self.ops = 0

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafeInputError(
                f"{self._name}: refused to unpickle the global '{str(module)[:100]}.{str(name)[:100]}' (only plain "
                "containers, numbers, strings, bytes and numpy arrays are loaded)"
            )
        replaced = _replacements().get(name)
        if replaced is not None:
            return replaced
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafeInputError(f"{self._name}: refused a pickle persistent id (not a plain data file)")

    def _target(self, kind: type | tuple[type, ...], op: str) -> Any:
        if not self.stack:
            raise pickle.UnpicklingError(f"{op} with nothing to apply it to")
        target = self.stack[-1]
        if not isinstance(target, kind):
            raise _Refused(f"{op} on a {type(target).__name__}")
        return target

    def load_dict(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise pickle.UnpicklingError("DICT with an odd number of items")
        self.append({_check_key(items[i], "dict key"): items[i + 1] for i in range(0, len(items), 2)})

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._target(dict, "SETITEM")[_check_key(key, "dict key")] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        if len(items) % 2:
            raise pickle.UnpicklingError("SETITEMS with an odd number of items")
        target = self._target(dict, "SETITEMS")
        for i in range(0, len(items), 2):
            target[_check_key(items[i], "dict key")] = items[i + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        self._target(set, "ADDITEMS").update(_checked_members(items, "set member"))

    def load_frozenset(self) -> None:
        items = self.pop_mark()  # before looking up self.append: pop_mark rebinds it
        self.append(frozenset(_checked_members(items, "set member")))

    def load_append(self) -> None:
        value = self.stack.pop()
        self._target(list, "APPEND").append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._target(list, "APPENDS").extend(items)

    def load_build(self) -> None:
        state = self.stack.pop()
        # only numpy's reconstructed arrays and dtypes take a state, and check it themselves
        self._target((_PendingArray, _PendingDtype), "BUILD").__setstate__(state)

    def load_put(self) -> None:
        i = int(self.readline()[:-1])
        if not 0 <= i < 1 << 32:  # as LONG_BINPUT: memo keys that never collide
            raise pickle.UnpicklingError("PUT argument out of range")
        self.memo[i] = self.stack[-1]


def _dispatch() -> dict[int, Any]:
    """The pure-Python unpickler's opcode table with the checked handlers, every one counted."""
    table: dict[int, Any] = dict(_PyUnpickler.dispatch)
    cls: Any = _RestrictedUnpickler
    for op, name in [
        (pickle.DICT, "load_dict"),
        (pickle.SETITEM, "load_setitem"),
        (pickle.SETITEMS, "load_setitems"),
        (pickle.ADDITEMS, "load_additems"),
        (pickle.FROZENSET, "load_frozenset"),
        (pickle.APPEND, "load_append"),
        (pickle.APPENDS, "load_appends"),
        (pickle.BUILD, "load_build"),
        (pickle.PUT, "load_put"),
    ]:
        table[op[0]] = getattr(cls, name)
    return {op: _counted(handler) for op, handler in table.items()}


_RestrictedUnpickler.dispatch = _dispatch()


class _Bounds:
    """Resolve pending numpy objects and count what a walk over the result would see."""

    def __init__(self, name: str):
        self.name = name
        # id -> (the container as resolved, (objects, bytes, depth) of its subtree)
        self.done: dict[int, tuple[Any, tuple[int, int, int]]] = {}
        self.open: set[int] = set()
        self.keep: list[Any] = []  # keeps ids stable while walking

    def fail(self, what: str) -> UnsafeInputError:
        return UnsafeInputError(f"{self.name}: refused: {what}")

    def resolve(self, obj: Any) -> Any:
        import numpy as np

        if isinstance(obj, _PendingArray):
            return obj.array if obj.array is not None else np.zeros(0, np.int8)
        if isinstance(obj, _PendingDtype):
            return obj.resolve()
        return obj

    def walk(self, obj: Any, depth: int = 1) -> tuple[Any, tuple[int, int, int]]:
        """(obj with pending numpy objects replaced, (objects, bytes, depth)) — memoised by id."""
        import numpy as np

        obj = self.resolve(obj)
        if isinstance(obj, (str, bytes, bytearray)):
            return obj, (1, len(obj), 0)
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise self.fail("an object array")
            return obj, (1, obj.nbytes, 0)
        if not isinstance(obj, (list, tuple, dict, set, frozenset)):
            return obj, (1, 0, 0)
        key = id(obj)
        if key in self.done:
            return self.done[key]
        if key in self.open:
            raise self.fail("a container that contains itself")
        if depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels")
        self.open.add(key)
        self.keep.append(obj)
        count, nbytes, inner = 1, 0, 0

        def add(item: Any) -> Any:
            nonlocal count, nbytes, inner
            item, (c, b, d) = self.walk(item, depth + 1)
            count, nbytes, inner = count + c, nbytes + b, max(inner, d)
            if count > MAX_OBJECTS:
                raise self.fail(f"more than {MAX_OBJECTS:,} objects (shared references counted each time)")
            if nbytes > MAX_BUILT_BYTES:
                raise self.fail(f"more than {MAX_BUILT_BYTES:,} bytes of data (shared references counted each time)")
            return item

        if isinstance(obj, list):
            obj[:] = [add(x) for x in obj]
        elif isinstance(obj, dict):
            items = [(add(k), add(v)) for k, v in obj.items()]
            obj.clear()
            obj.update(items)
        elif isinstance(obj, tuple):
            obj = tuple(add(x) for x in obj)
        elif isinstance(obj, set):
            items = [add(x) for x in obj]
            obj.clear()
            obj.update(items)
        else:
            obj = frozenset(add(x) for x in obj)
        self.keep.append(obj)
        self.open.discard(key)
        result = (count, nbytes, inner + 1)
        self.done[key] = self.done[id(obj)] = (obj, result)
        return obj, result


def _one(unpickler: _RestrictedUnpickler, name: str) -> Any:
    try:
        obj = unpickler.load()
    except UnsafeInputError:
        raise
    except _Refused as e:
        raise UnsafeInputError(f"{name}: refused: {str(e)[:300]}") from None
    except _ERRORS as e:
        raise InputError(f"{name}: not a readable pickle of plain data ({type(e).__name__}: {str(e)[:300]})") from None
    bounds = _Bounds(name)
    try:
        return bounds.walk(obj)[0]
    except TypeError as e:  # e.g. an array that became a dict key or set member
        raise InputError(f"{name}: not a pickle of plain data ({str(e)[:300]})") from None


def _open(source: str | os.PathLike[str] | IO[bytes], name: str | None) -> tuple[io.BytesIO, str]:
    """The whole pickle in memory (bounded): declared lengths then cannot make reads allocate."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        label = name or path.name
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{label}: {path.stat().st_size:,} bytes, more than the {MAX_FILE_BYTES:,} read")
        return io.BytesIO(path.read_bytes()), label
    label = str(name or getattr(source, "name", None) or "<stream>")
    data = source.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{label}: more than the {MAX_FILE_BYTES:,} bytes read")
    return io.BytesIO(data), str(label)


def load(source: str | os.PathLike[str] | IO[bytes], *, name: str | None = None, encoding: str = "ASCII") -> Any:
    """One pickled object from a path or binary file, rebuilt without running code.

    ``encoding="bytes"`` reads Python 2 pickles (the CIFAR batches) with their ``str`` as bytes.
    """
    fh, label = _open(source, name)
    return _one(_RestrictedUnpickler(fh, label, encoding), label)


def load_stream(
    source: str | os.PathLike[str] | IO[bytes], *, name: str | None = None, encoding: str = "ASCII"
) -> Iterator[Any]:
    """Every object of an append stream of pickles (zero-cost-nas writes one per architecture)."""
    fh, label = _open(source, name)
    while True:
        pos = fh.tell()
        if not fh.read(1):
            return
        fh.seek(pos)
        yield _one(_RestrictedUnpickler(fh, label, encoding), label)
