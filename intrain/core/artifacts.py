"""HDF5 artifacts: one file per shard (single writer), merged per (space, dataset).

Layout (``schema = "intrain.scores"``, ``schema_version = 1``), columnar with ragged CSR data:

    /                attrs: provenance (space, dataset, shard, n_shards, config_hash,
                     settings JSON, seed, batch_size, resolution, device, versions)
    /arch/index      (N,)   benchmark index of each scored architecture
    /arch/arch       (N,)   arch string
    /arch/flags      (N,)   `intrain.core.flags.Flag` bits
    /arch/seconds    (N,)   wall time of build + probe + reductions
    /arch/pass_seconds (N,) forward + backward time alone (device-synchronised)
    /arch/loss       (N,)   synthetic cross-entropy loss
    /arch/cost_<pass> (N,)  seconds of each separate pass the proxies needed (intrain.proxies)
    /arch/layer_ptr  (N+1,) row offsets into /layer/*   (layers of arch i: ptr[i]:ptr[i+1])
    /arch/param_ptr  (N+1,) row offsets into /param/*
    /layer/name, /layer/kind           int32 codes into /layer/name_table, /layer/kind_table
    /layer/shape (L,3) /layer/trace /layer/trace_sq /layer/dim /layer/pr
    /param/name, /param/kind (codes) /param/numel /param/std /param/maxabs /param/health
    /proxy/<proxy>/<component>  (N,)   e.g. /proxy/intrain/score, /gamma, /o, /n_layers
    /members/index, /members/representative   (merged files only) every selected architecture
                     and the scored isomorphism-class representative whose values it takes

Files are built in memory, sealed (a sha256 of the file in its 512-byte HDF5 user block, checked
before HDF5 reads it: `intrain.core.sealed`), written to a temporary name in the destination folder and renamed
into place, so a killed job or a full disk never leaves a file that looks complete. ``track_times=False`` and no wall-clock
attributes keep every value but the measured times (``/arch/seconds``, ``pass_seconds``, ``cost_*``) identical for
equal inputs; the kill trials (``benchmarks/kill_trials.py``) compare files on everything else.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import platform
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import h5py
import numpy as np
import pandas as pd

from intrain.core import faults, sealed
from intrain.core.bounded import load_json
from intrain.core.errors import InputError, IntrainError
from intrain.core.h5safety import UnsafeHDF5Error, check_self_contained, read_strings
from intrain.core.names import check_component_name, check_proxy_name
from intrain.core.trainability import gradient_health, participation_ratio
from intrain.core.version import __version__

if TYPE_CHECKING:  # type-only: reading artifacts must not import torch (the scorer does)
    import numpy.typing as npt

    from intrain.core.ranking import PopulationRule
    from intrain.core.records import ArchRecord

_T = TypeVar("_T")
#: Every dataset of a file by path (``arch/index``: ndarray, ``layer/name_table``: strings) and, under
#: ``@<group>``, the attributes of each proxy group; the value type depends on the key, hence ``Any``.
_Arrays = dict[str, Any]

SCHEMA = "intrain.scores"
SCHEMA_VERSION = 1
_COMPRESS = dict(compression="gzip", compression_opts=4, shuffle=True)
_STR = h5py.string_dtype("utf-8")


class ArtifactError(IntrainError, RuntimeError):
    """An artifact that is missing, corrupt, truncated or inconsistent with the config."""


def versions() -> dict[str, str]:
    """Library versions for provenance, without importing torch (its installed metadata says)."""
    torch = sys.modules.get("torch")
    try:
        torch_version = torch.__version__ if torch is not None else metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return {
        "intrain_version": __version__,
        "torch_version": torch_version,
        "numpy_version": np.__version__,
        "h5py_version": h5py.version.version,
        "hdf5_version": h5py.version.hdf5_version,
        "python_version": platform.python_version(),
    }


@contextlib.contextmanager
def atomic_h5(dest: str | os.PathLike[str]) -> Iterator[h5py.File]:
    """Build an HDF5 file in memory, then write it beside ``dest`` and rename it into place.

    The HDF5 library itself never touches the disk: a full disk or a file-size limit while
    writing crashes it (seen: SIGSEGV after "File too large"), whereas here it is an ordinary
    ``OSError`` from Python's own write, after which the temporary file is removed and every
    earlier file is untouched. Shards and merged files are small enough to build in memory.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in glob.glob(str(dest.parent / f".{dest.name}.*.tmp")):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(stale)  # left by a killed writer of this same file
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True, userblock_size=sealed.USERBLOCK) as f:
        yield f
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            out.write(sealed.seal(buffer.getbuffer()))
            faults.reached("artifact.write")  # tests kill here (intrain/core/faults.py)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _dataset(group: h5py.Group, name: str, data: npt.ArrayLike, dtype: npt.DTypeLike | None = None) -> None:
    arr = np.asarray(data, dtype=dtype)
    kwargs = dict(_COMPRESS) if arr.size > 0 and arr.dtype != object else {}
    group.create_dataset(name, data=arr, dtype=dtype or arr.dtype, track_times=False, **kwargs)


def _strings(group: h5py.Group, name: str, values: Sequence[str]) -> None:
    group.create_dataset(name, data=np.asarray(list(values), dtype=object), dtype=_STR, track_times=False)


def _codes(values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    table: dict[str, int] = {}
    codes = np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int32, count=len(values))
    return codes, list(table)


def _set_attrs(f: h5py.File, attrs: Mapping[str, object]) -> None:
    for k, v in attrs.items():
        if v is None:
            v = "null"
        elif isinstance(v, (dict, list, tuple)):
            v = json.dumps(v, sort_keys=True)
        elif isinstance(v, str):
            v = str(v)  # str subclasses (torch's TorchVersion) have no HDF5 type
        f.attrs[k] = v


def write_shard(
    dest: str | os.PathLike[str],
    records: Sequence[ArchRecord],
    attrs: Mapping[str, object],
    proxy_meta: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Write one shard atomically. ``attrs`` holds provenance (see module docstring)."""
    records = sorted(records, key=lambda r: r.index)
    with atomic_h5(dest) as f:
        _set_attrs(f, {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **versions(), **attrs})
        _write_body(f, records, proxy_meta or {})


def _write_body(f: h5py.File, records: Sequence[ArchRecord], proxy_meta: dict[str, dict[str, Any]]) -> None:
    arch = f.create_group("arch")
    _dataset(arch, "index", [r.index for r in records], np.int64)
    _strings(arch, "arch", [r.arch for r in records])
    _dataset(arch, "flags", [r.probe.flags for r in records], np.int32)
    _dataset(arch, "seconds", [r.seconds for r in records], np.float64)
    _dataset(arch, "pass_seconds", [r.probe.extras.get("pass_seconds", np.nan) for r in records], np.float64)
    _dataset(arch, "loss", [r.probe.loss for r in records], np.float64)
    for key in sorted(k for k in (records[0].probe.extras if records else {}) if k.startswith("cost_")):
        _dataset(arch, key, [r.probe.extras.get(key, np.nan) for r in records], np.float64)
    _dataset(arch, "layer_ptr", np.concatenate([[0], np.cumsum([len(r.probe.layer_names) for r in records])]), np.int64)
    _dataset(arch, "param_ptr", np.concatenate([[0], np.cumsum([len(r.probe.param_names) for r in records])]), np.int64)

    layer = f.create_group("layer")
    stats = np.concatenate([r.probe.layer_stats for r in records]) if records else np.zeros((0, 3))
    shapes = np.concatenate([r.probe.layer_shapes for r in records]) if records else np.zeros((0, 3), np.int32)
    for name, values in (
        ("name", [n for r in records for n in r.probe.layer_names]),
        ("kind", [k for r in records for k in r.probe.layer_kinds]),
    ):
        codes, table = _codes(values)
        _dataset(layer, name, codes, np.int32)
        _strings(layer, f"{name}_table", table)
    _dataset(layer, "shape", shapes, np.int32)
    _dataset(layer, "trace", stats[:, 0], np.float64)
    _dataset(layer, "trace_sq", stats[:, 1], np.float64)
    _dataset(layer, "dim", stats[:, 2], np.float64)
    _dataset(layer, "pr", participation_ratio(stats[:, 0], stats[:, 1], stats[:, 2]), np.float64)

    param = f.create_group("param")
    pstats = np.concatenate([r.probe.param_stats for r in records]) if records else np.zeros((0, 2))
    for name, values in (
        ("name", [n for r in records for n in r.probe.param_names]),
        ("kind", [k for r in records for k in r.probe.param_kinds]),
    ):
        codes, table = _codes(values)
        _dataset(param, name, codes, np.int32)
        _strings(param, f"{name}_table", table)
    _dataset(param, "numel", np.concatenate([r.probe.param_numel for r in records]) if records else [], np.int64)
    _dataset(param, "std", pstats[:, 0], np.float64)
    _dataset(param, "maxabs", pstats[:, 1], np.float64)
    _dataset(param, "health", gradient_health(pstats[:, 0], pstats[:, 1]), np.float64)

    proxy = f.create_group("proxy")
    names = list(records[0].proxies) if records else list(proxy_meta)
    for pname in names:
        g = proxy.create_group(pname)
        for k, v in (proxy_meta.get(pname) or {}).items():
            g.attrs[k] = json.dumps(v) if isinstance(v, (list, dict)) else v
        comps = (
            list(records[0].proxies[pname])
            if records
            else list((proxy_meta.get(pname) or {}).get("components", ["score"]))
        )
        for comp in comps:
            _dataset(g, comp, [r.proxies[pname][comp] for r in records], np.float64)


# ----------------------------------------------------------------------------- reading


def open_artifact(path: str | os.PathLike[str], check: bool = True) -> h5py.File:
    """Open an artifact for reading, with an error naming the file when it is unusable.

    With ``check`` (the default) the layout is checked against the schema in the module
    docstring before anything is read from it (`check_layout`).
    """
    path = Path(path)
    if not path.exists():
        raise ArtifactError(f"{path}: no such artifact")
    if not path.is_file():  # a FIFO would block the reader forever, a directory or device is no artifact
        raise ArtifactError(f"{path}: not a regular file (a directory, FIFO or device); refusing to read it")
    problem = sealed.verify(path)  # before HDF5 sees the bytes: a damaged file can hang the library
    if problem:
        raise ArtifactError(f"{path}: corrupt or truncated HDF5 file ({problem}); delete it and rerun its job")
    try:
        f = h5py.File(path, "r")
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        raise ArtifactError(f"{path}: corrupt or truncated HDF5 file ({e}); delete it and rerun its job") from e
    try:
        check_self_contained(f, path)  # before any dataset is read: nothing outside the file, sizes bounded
        schema = f.attrs.get("schema")
        version = f.attrs.get("schema_version", -1)
        if schema != SCHEMA:
            raise ArtifactError(f"{path}: not an intrain score artifact (schema attribute missing)")
        try:
            version_ok = int(version) == SCHEMA_VERSION
        except (TypeError, ValueError):
            version_ok = False
        if not version_ok:
            raise ArtifactError(f"{path}: schema_version {version} is not the supported {SCHEMA_VERSION}")
        if check:
            check_layout(f, path)
    except (ArtifactError, UnsafeHDF5Error):
        f.close()
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
        f.close()
        raise ArtifactError(f"{path}: corrupt artifact ({type(e).__name__}: {e}); delete it and rerun its job") from e
    except MemoryError:
        f.close()
        raise _too_large(path) from None
    return f


_INT, _FLOAT = "iu", "f"


def check_layout(f: h5py.File, path: str | os.PathLike[str]) -> None:
    """Refuse an artifact whose datasets are missing, mistyped, misshapen or inconsistent.

    Checks every dataset the readers use: kinds (integer, float, string), shapes (one row per
    architecture, layer or parameter), the CSR offsets (start at 0, non-decreasing, end at the
    row count) and the string-table codes (in range). Raises [`ArtifactError`][intrain.core.artifacts.ArtifactError] naming the
    dataset and what is wrong; the data itself (values, NaN scores) is not judged here.
    """

    @overload
    def ds(
        name: str, kind: str, rows: int | None, width: int | None = None, optional: Literal[False] = False
    ) -> h5py.Dataset: ...
    @overload
    def ds(
        name: str, kind: str, rows: int | None, width: int | None = None, *, optional: bool
    ) -> h5py.Dataset | None: ...
    def ds(
        name: str, kind: str, rows: int | None, width: int | None = None, optional: bool = False
    ) -> h5py.Dataset | None:
        obj = f.get(name)
        if obj is None:
            if optional:
                return None
            raise ArtifactError(f"{path}: dataset /{name} is missing; delete the file and rerun its job")
        if not isinstance(obj, h5py.Dataset):
            raise ArtifactError(f"{path}: /{name} is not a dataset")
        is_str = h5py.check_string_dtype(obj.dtype) is not None
        ok = is_str if kind == "str" else (not is_str and obj.dtype.kind in kind)
        if ok and kind == _FLOAT:  # float16/float128 read back lossy or beyond float64: intrain writes float64
            ok = obj.dtype.itemsize in (4, 8)
        if not ok:
            want = {"str": "strings", _INT: "integers", _FLOAT: "float32 or float64 numbers"}[kind]
            raise ArtifactError(f"{path}: /{name} must hold {want}, has dtype {obj.dtype}")
        shape = (rows,) if width is None else (rows, width)
        if (
            len(obj.shape) != len(shape)
            or (rows is not None and obj.shape[0] != rows)
            or (width is not None and obj.shape[1] != width)
        ):
            want = "x".join("?" if d is None else str(d) for d in shape)
            raise ArtifactError(f"{path}: /{name} has shape {obj.shape}, expected ({want})")
        return obj

    _check_root_attrs(f, path)
    index = ds("arch/index", _INT, None)
    n = index.shape[0]
    scored = _unique_ids(index, path)
    ds("arch/arch", "str", n)
    ds("arch/flags", _INT, n)
    for name in ("seconds", "loss"):
        ds(f"arch/{name}", _FLOAT, n)
    ds("arch/pass_seconds", _FLOAT, n, optional=True)
    arch = f["arch"]
    for name in arch:
        if name.startswith("cost_"):
            ds(f"arch/{name}", _FLOAT, n)
    for group, ptr_name, float_cols in (
        ("layer", "layer_ptr", ("trace", "trace_sq", "dim", "pr")),
        ("param", "param_ptr", ("std", "maxabs", "health")),
    ):
        ptr = ds(f"arch/{ptr_name}", _INT, n + 1)[()]
        rows = ds(f"{group}/name", _INT, None).shape[0]
        if ptr[0] != 0 or np.any(np.diff(ptr) < 0) or ptr[-1] != rows:
            raise ArtifactError(
                f"{path}: /arch/{ptr_name} is not a valid offset array (must start at 0, never "
                f"decrease and end at the {rows} rows of /{group})"
            )
        for name in ("name", "kind"):
            codes = ds(f"{group}/{name}", _INT, rows)[()]
            table = ds(f"{group}/{name}_table", "str", None)
            if len(codes) and (codes.min() < 0 or codes.max() >= table.shape[0]):
                raise ArtifactError(f"{path}: /{group}/{name} has codes outside its {table.shape[0]}-entry table")
        for name in float_cols:
            ds(f"{group}/{name}", _FLOAT, rows)
        if group == "layer":
            ds("layer/shape", _INT, rows, 3)
        else:
            ds("param/numel", _INT, rows)
    proxy = f.get("proxy")
    if not isinstance(proxy, h5py.Group):
        raise ArtifactError(f"{path}: group /proxy is missing")
    for pname, g in proxy.items():
        if not isinstance(g, h5py.Group):
            raise ArtifactError(f"{path}: /proxy/{pname} is not a group")
        for comp in g:
            try:  # the names become columns: no reserved column, no markup (intrain.core.names)
                check_proxy_name(pname, f"{path}: /proxy/{pname[:80]}")
                check_component_name(comp, f"{path}: /proxy/{pname[:80]}/{comp[:80]}")
            except InputError as e:
                raise ArtifactError(str(e)) from None
            ds(f"proxy/{pname}/{comp}", _FLOAT, n)
    if "members" in f:
        members = ds("members/index", _INT, None)
        m = members.shape[0]
        _unique_ids(members, path)
        ds("members/arch", "str", m)
        rep = ds("members/representative", _INT, m)[()]
        if not np.isin(rep, scored).all():
            raise ArtifactError(f"{path}: /members/representative names architectures that were not scored")


def _unique_ids(dset: h5py.Dataset, path: str | os.PathLike[str]) -> np.ndarray:
    """The ids of ``dset`` (``/arch/index``, ``/members/index``); refused when one appears twice, since
    every reader joins on them (a duplicate would count one architecture twice in every correlation)."""
    ids = np.asarray(dset[()])
    ordered = np.sort(ids, kind="stable")
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(twice):
        raise ArtifactError(
            f"{path}: {dset.name} lists architecture {int(twice[0])} more than once ({len(ids) - len(np.unique(ids))} "
            "duplicate rows); each id must appear once, refusing to read it"
        )
    return ids


#: Root attributes every reader uses, and must find as one string each.
_REQUIRED_TEXT_ATTRS = ("space", "dataset")
#: Root or proxy-group attributes read as one string where present.
_OPTIONAL_TEXT_ATTRS = ("settings", "input", "provenance")
#: Keys of the ``settings`` attribute read as strings (`intrain.analysis.correlate.variant_suffix`).
_SETTINGS_TEXT = ("protocol", "layers")


def _attr_text(obj: h5py.HLObject, name: str, path: str | os.PathLike[str], where: str) -> str | None:
    """Attribute ``name`` of ``obj`` as one string (``None`` when absent); refused in words when it is
    an array or a number, before any reader reads it (an array of shared heap strings is a memory bomb)."""
    if name not in obj.attrs:
        return None
    space = obj.attrs.get_id(name).get_space()
    dtype = obj.attrs.get_id(name).dtype
    if space.get_simple_extent_type() != h5py.h5s.SCALAR or h5py.check_string_dtype(dtype) is None:
        raise ArtifactError(
            f"{path}: attribute {name!r} of {where} must be one string, has dtype {str(dtype)[:40]} and shape "
            f"{space.shape}; refusing to read it"
        )
    value = obj.attrs[name]
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    except UnicodeDecodeError:
        raise ArtifactError(f"{path}: attribute {name!r} of {where} is not UTF-8 text; refusing to read it") from None


def _check_root_attrs(f: h5py.File, path: str | os.PathLike[str]) -> None:
    """The attributes readers take as strings are present (``space``, ``dataset``) and are strings;
    where ``settings`` parses as a JSON object, its ``protocol`` and ``layers`` are strings."""
    for name in _REQUIRED_TEXT_ATTRS:
        if _attr_text(f, name, path, "/") is None:
            raise ArtifactError(f"{path}: attribute {name!r} is missing; not a complete intrain score artifact")
    for name in _OPTIONAL_TEXT_ATTRS:
        text = _attr_text(f, name, path, "/")
        if name == "settings" and text is not None:
            try:  # unparseable settings read as none (correlate._settings_of); parsed ones are used
                settings = load_json(text, f"{path}: attribute 'settings'")
            except ValueError:
                settings = None
            for key in _SETTINGS_TEXT:
                value = settings.get(key) if isinstance(settings, dict) else None
                if value is not None and not isinstance(value, str):
                    raise ArtifactError(
                        f"{path}: attribute 'settings' has {key} {str(value)[:40]!r}, which must be a string"
                    )
    proxy = f.get("proxy")
    if isinstance(proxy, h5py.Group):
        for pname, g in proxy.items():
            for name in ("input", "population"):
                _attr_text(g, name, path, f"/proxy/{pname[:80]}")


def _reading(path: str | os.PathLike[str], fn: Callable[..., _T], *args: Any) -> _T:
    """Run a reader; I/O or decoding failures inside the file become [`ArtifactError`][intrain.core.artifacts.ArtifactError]."""
    try:
        with open_artifact(path) as f:
            try:
                return fn(f, *args)
            except IntrainError:  # worded already (a bound of h5safety, a missing index)
                raise
            except (OSError, RuntimeError, ValueError, TypeError, IndexError, UnicodeDecodeError) as e:
                raise ArtifactError(
                    f"{path}: corrupt artifact ({type(e).__name__}: {e}); delete it and rerun its job"
                ) from e
    except MemoryError:  # numpy's _ArrayMemoryError included; nothing above is kept
        raise _too_large(path) from None


def _too_large(path: str | os.PathLike[str]) -> ArtifactError:
    return ArtifactError(
        f"{path}: reading it needs more memory than this process may use (its datasets expand beyond what "
        "the file holds, or the machine is short of memory); refusing to read it"
    )


def read_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    return _reading(path, lambda f: {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()})


def _str_list(ds: h5py.Dataset) -> list[str]:
    return read_strings(ds, ds.file.filename)


def read_scores(path: str | os.PathLike[str], expand: bool = True) -> pd.DataFrame:
    """One row per architecture: index, arch, flags, seconds, loss and ``<proxy>[.<comp>]``.

    With ``expand`` (merged files), every selected architecture gets a row with the values of
    its scored representative (column ``representative``).
    """
    return _reading(path, _read_scores, expand)


def _read_scores(f: h5py.File, expand: bool) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "arch_index": f["arch/index"][()],
            "arch": _str_list(f["arch/arch"]),
            "flags": f["arch/flags"][()],
            "seconds": f["arch/seconds"][()],
            # optional: files written before it existed read as NaN
            "pass_seconds": f["arch/pass_seconds"][()]
            if "arch/pass_seconds" in f
            else np.full(len(f["arch/index"]), np.nan),
            "loss": f["arch/loss"][()],
        }
    )
    for pname, g in f["proxy"].items():
        for comp, ds in g.items():
            df[pname if comp == "score" else f"{pname}.{comp}"] = ds[()]
    if expand and "members" in f:
        members = pd.DataFrame(
            {"arch_index": f["members/index"][()], "representative": f["members/representative"][()]}
        )
        scored = df.rename(columns={"arch_index": "representative", "arch": "representative_arch"})
        df = members.merge(scored, on="representative", how="left")
        arch_of = dict(zip(f["members/index"][()], _str_list(f["members/arch"])))
        df.insert(1, "arch", df["arch_index"].map(arch_of))
    elif expand:
        df["representative"] = df["arch_index"]
    return df


def _ragged(f: h5py.File, group: str, ptr_name: str, index: int | None, columns: dict[str, str]) -> pd.DataFrame:
    ptr = f[f"arch/{ptr_name}"][()]
    idx = f["arch/index"][()]
    if index is None:
        lo, hi, owners = 0, int(ptr[-1]), np.repeat(idx, np.diff(ptr))
    else:
        pos = np.flatnonzero(idx == index)
        if len(pos) == 0 and "members" in f:
            rep = f["members/representative"][()][f["members/index"][()] == index]
            pos = np.flatnonzero(idx == rep[0]) if len(rep) else pos
        if len(pos) == 0:
            raise IntrainError(f"{f.filename}: architecture index {index} is not in this artifact")
        lo, hi = int(ptr[pos[0]]), int(ptr[pos[0] + 1])
        owners = np.full(hi - lo, idx[pos[0]])
    g = f[group]
    out = {"arch_index": owners}
    for col, ds in columns.items():
        data = g[ds][lo:hi]
        if ds in ("name", "kind"):
            table = _str_list(g[f"{ds}_table"])
            data = [table[c] for c in data]
        out[col] = data
    df = pd.DataFrame({k: v for k, v in out.items() if k != "shape"})
    if "shape" in columns:
        shape = g["shape"][lo:hi]
        df["channels"], df["height"], df["width"] = shape[:, 0], shape[:, 1], shape[:, 2]
    return df


def read_population_rules(path: str | os.PathLike[str]) -> dict[str, PopulationRule]:
    """How each population-ranked proxy of the artifact combines its components (recorded by the scorer).

    Artifacts written before the rule was recorded get none here; the analysis then falls back to
    `intrain.core.ranking.BUILTIN_RULES`.
    """
    from intrain.core.ranking import PopulationRule

    rules: dict[str, PopulationRule] = {}
    with open_artifact(path) as f:
        for name, group in f["proxy"].items() if "proxy" in f else []:
            text = group.attrs.get("population")
            if text is not None:
                try:
                    text = text if isinstance(text, str) else text.decode()
                    load_json(text, f"{path}: /proxy/{name}")  # bounded depth and numbers before the rule parses it
                    rules[name] = PopulationRule.from_json(text)
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise ArtifactError(f"{path}: proxy {name!r} has an unreadable population rule ({e})") from None
    return rules


def read_proxy_inputs(path: str | os.PathLike[str]) -> dict[str, str]:
    """The input each proxy of the artifact was scored on (``gaussian``, ``natural:…``, ``file:…``),
    where the scorer recorded it per proxy (the reference protocol mixes inputs in one artifact);
    files written before fall back to the artifact-wide ``input`` attribute."""
    with open_artifact(path) as f:
        default = _text(f.attrs.get("input", "gaussian"))
        if "proxy" not in f:
            return {}
        return {name: _text(group.attrs.get("input", default)) for name, group in f["proxy"].items()}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_layers(path: str | os.PathLike[str], index: int | None = None) -> pd.DataFrame:
    """Per-layer statistics (all architectures, or the one with benchmark ``index``)."""
    cols = {
        "name": "name",
        "kind": "kind",
        "shape": "shape",
        "pr": "pr",
        "trace": "trace",
        "trace_sq": "trace_sq",
        "dim": "dim",
    }
    return _reading(path, _ragged, "layer", "layer_ptr", index, cols)


def read_params(path: str | os.PathLike[str], index: int | None = None) -> pd.DataFrame:
    """Per-parameter gradient statistics (all architectures, or one)."""
    cols = {"name": "name", "kind": "kind", "numel": "numel", "std": "std", "maxabs": "maxabs", "health": "health"}
    return _reading(path, _ragged, "param", "param_ptr", index, cols)


# ----------------------------------------------------------------------------- merging


def merge_shards(
    shards: Sequence[str | os.PathLike[str]],
    dest: str | os.PathLike[str],
    members: pd.DataFrame | None = None,
    expected_hash: str | None = None,
) -> None:
    """Concatenate shards into one file; refuse corrupt shards and mixed configurations.

    ``members`` (columns ``arch_index``, ``arch``, ``representative``) lists every selected
    architecture; each representative must have been scored by exactly one shard.
    """
    if not shards:
        raise ArtifactError("merge: no shard files given")
    parts = []
    ref_attrs: dict[str, Any] | None = None
    for path in shards:
        with open_artifact(path) as f:
            attrs = dict(f.attrs)
            h = attrs.get("config_hash")
            if expected_hash is not None and h != expected_hash:
                raise ArtifactError(
                    f"{path}: written under config hash {h}, expected {expected_hash}; "
                    "delete it (or the results folder) and rerun rather than mixing configurations"
                )
            if ref_attrs is None:
                ref_attrs = attrs
            elif h != ref_attrs.get("config_hash"):
                raise ArtifactError(
                    f"{path}: config hash {h} differs from {shards[0]}'s {ref_attrs.get('config_hash')}"
                )
            try:
                parts.append(_load_all(f))
            except IntrainError:
                raise
            except (OSError, KeyError, ValueError, RuntimeError, TypeError) as e:
                raise ArtifactError(f"{path}: corrupt shard ({e}); delete it and rerun its job") from e
            except MemoryError:
                raise _too_large(path) from None
    assert ref_attrs is not None
    records = _concat(parts)
    if members is not None:
        scored = set(records["arch/index"].tolist())
        needed = set(members["representative"].astype(int))
        missing = needed - scored
        if missing:
            raise ArtifactError(
                f"merge: {len(missing)} representatives were not scored by any shard, e.g. {sorted(missing)[:5]}"
            )
    if len(np.unique(records["arch/index"])) != len(records["arch/index"]):
        raise ArtifactError("merge: an architecture appears in more than one shard")
    attrs = {k: v for k, v in ref_attrs.items() if k not in ("shard",)}
    attrs["merged_from"] = json.dumps([Path(p).name for p in shards])
    with atomic_h5(dest) as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        _write_arrays(f, records)
        if members is not None:
            m = f.create_group("members")
            _dataset(m, "index", members["arch_index"].to_numpy(np.int64), np.int64)
            _strings(m, "arch", members["arch"].tolist())
            _dataset(m, "representative", members["representative"].to_numpy(np.int64), np.int64)


def _load_all(f: h5py.File) -> _Arrays:
    out: _Arrays = {}

    def visit(name: str, obj: h5py.HLObject) -> None:
        if isinstance(obj, h5py.Dataset):  # strings in bounded blocks: shared heap objects (h5safety)
            is_str = h5py.check_string_dtype(obj.dtype) is not None
            out[name] = np.array(read_strings(obj, f.filename), dtype=object) if is_str else obj[()]
            if name.startswith("proxy/"):
                out[f"@{name.rsplit('/', 1)[0]}"] = dict(f[name.rsplit("/", 1)[0]].attrs)

    f.visititems(visit)
    n = len(out["arch/index"])
    for key in ("arch/layer_ptr", "arch/param_ptr"):
        if len(out[key]) != n + 1:
            raise ValueError(f"{key} has {len(out[key])} entries for {n} architectures")
    return out


def _concat(parts: list[_Arrays]) -> _Arrays:
    """Concatenate shard arrays, re-basing CSR offsets and re-coding string tables."""
    keys = list(dict.fromkeys(k for p in parts for k in p))
    for p in parts:  # a shard with no architectures may lack optional datasets (costs, components)
        empty = len(p["arch/index"]) == 0
        for key in keys:
            if key in p:
                continue
            if not empty or key.endswith("_ptr"):
                raise ArtifactError(f"merge: shards disagree on dataset {key!r}")
            if not (key.startswith("@") or key.endswith("_table")):
                p[key] = np.zeros(0)
    out: _Arrays = {}
    for key in keys:
        if key.startswith("@"):
            out[key] = next(p[key] for p in parts if key in p)
            continue
        if key.endswith("_table"):
            continue
        if key in ("arch/layer_ptr", "arch/param_ptr"):
            ptrs, base = [np.zeros(1, np.int64)], 0
            for p in parts:
                ptr = np.asarray(p[key])
                ptrs.append(ptr[1:] + base)
                base += int(ptr[-1])
            out[key] = np.concatenate(ptrs)
        elif key.rsplit("/", 1)[-1] in ("name", "kind") and key.split("/")[0] in ("layer", "param"):
            table: dict[str, int] = {}
            coded = []
            for p in parts:
                local = [s.decode() if isinstance(s, bytes) else s for s in p.get(f"{key}_table", [])]
                remap = np.array([table.setdefault(s, len(table)) for s in local], dtype=np.int32)
                coded.append(remap[np.asarray(p[key])] if len(local) else np.asarray(p[key], np.int32))
            out[key] = np.concatenate(coded)
            out[f"{key}_table"] = list(table)
        else:
            out[key] = np.concatenate([np.asarray(p[key]) for p in parts])
    # sort architectures by index, permuting ragged rows with them
    order = np.argsort(out["arch/index"], kind="stable")
    if not np.all(order == np.arange(len(order))):
        for ptr_key, group in (("arch/layer_ptr", "layer/"), ("arch/param_ptr", "param/")):
            ptr = out[ptr_key]
            rows = np.concatenate([np.arange(ptr[i], ptr[i + 1]) for i in order]) if len(order) else np.zeros(0, int)
            for key in list(out):
                if key.startswith(group) and not key.endswith("_table"):
                    out[key] = np.asarray(out[key])[rows]
            out[ptr_key] = np.concatenate([[0], np.cumsum(np.diff(ptr)[order])])
        for key in list(out):
            if (key.startswith("arch/") and not key.endswith("_ptr")) or key.startswith("proxy/"):
                out[key] = np.asarray(out[key])[order]
    return out


def _write_arrays(f: h5py.File, arrays: _Arrays) -> None:
    for key, value in arrays.items():
        if key.startswith("@"):
            continue
        group_name, name = key.rsplit("/", 1)
        group = f.require_group(group_name)
        if key.endswith("_table") or key == "arch/arch":
            _strings(group, name, [s.decode() if isinstance(s, bytes) else s for s in value])
        else:
            _dataset(group, name, value)
    for key, attrs in arrays.items():
        if key.startswith("@"):
            for k, v in attrs.items():
                f[key[1:]].attrs[k] = v
