"""Fuzz targets shared by tests/test_fuzz.py (fixed, seeded budget) and benchmarks/fuzz.py (larger runs).

Every target is a hypothesis strategy of hostile inputs (random bytes, truncations, bit flips,
overwrites of a valid seed file, and structured damage: wrong dtypes, shapes, fields) and a
``run`` that feeds one input to the loader or parser. :func:`outcome` classifies the result:

- ``"valid"``: the loader returned an object, and it round-trips (written back and re-read, or
  re-parsed from its canonical form, it is equal);
- ``"refused"``: an :class:`intrain.core.errors.IntrainError` with a non-empty message, and no output
  file (partial or temporary) left behind.

Any other exception propagates: it is a bug (a "foreign" exception).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import yaml
from hypothesis import strategies as st

from intrain.core.errors import IntrainError

REPO = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- byte mutations


def _flip(seed: bytes, bits: list[int]) -> bytes:
    b = bytearray(seed)
    for bit in bits:
        b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


def _overwrite(seed: bytes, at: int, junk: bytes) -> bytes:
    return seed[:at] + junk + seed[at + len(junk) :]


def mutated_bytes(seed: bytes, max_random: int = 256) -> st.SearchStrategy[bytes]:
    """Random bytes, truncations, bit flips and overwrites of ``seed`` (and ``seed`` itself)."""
    n = len(seed)
    return st.one_of(
        st.just(seed),
        st.binary(max_size=max_random),
        st.integers(0, max(0, n - 1)).map(lambda k: seed[:k]),
        st.lists(st.integers(0, 8 * n - 1), min_size=1, max_size=8).map(lambda bits: _flip(seed, bits)),
        st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=32)).map(lambda a: _overwrite(seed, *a)),
    )


def mutated_text(seed: str, alphabet: str = "") -> st.SearchStrategy[str]:
    """Text versions: byte mutations decoded leniently, and character-level edits."""
    chars = st.sampled_from(sorted(set(seed + alphabet + "|~+-,:{}[]\"'\\ \n\t0123456789²٣\x00")))
    edits = st.lists(
        st.tuples(st.integers(0, len(seed)), st.integers(0, 3), st.text(chars, max_size=4)), min_size=1, max_size=4
    )

    def apply(ed):
        s = seed
        for at, drop, ins in ed:
            s = s[:at] + ins + s[at + drop :]
        return s

    return st.one_of(
        mutated_bytes(seed.encode()).map(lambda b: b.decode("utf-8", "replace")),
        edits.map(apply),
        st.text(max_size=80),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(obj, prefix=()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


def _replace(obj, path, value, delete=False):
    if not path:
        return value
    obj = json.loads(json.dumps(obj))
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    if delete:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return obj


def damaged_json(seed) -> st.SearchStrategy[Any]:
    """``seed`` with one field replaced by a random JSON value or deleted."""
    paths = _paths(seed)
    return st.tuples(st.sampled_from(paths), json_values, st.booleans()).map(
        lambda a: _replace(seed, a[0], a[1], delete=a[2] and len(a[0]) > 0)
    )


# ----------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    strategy: Callable[[], st.SearchStrategy]
    run: Callable[[Any, Path], None]  # raises IntrainError to refuse; asserts the round trip when valid
    outputs: Callable[[Path], list[Path]] = lambda d: []  # files that must not exist after a refusal


def outcome(target: Target, value: Any) -> str:
    """ "valid" or "refused"; a foreign exception (a bug) propagates."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            target.run(value, tmp)
        except IntrainError as e:
            assert str(e).strip(), f"{target.name}: {type(e).__name__} without a message"
            left = [p for p in target.outputs(tmp) if p.exists()]
            left += [p for p in tmp.rglob("*") if p.name.endswith((".tmp", ".part"))]
            assert not left, f"{target.name}: a refusal left {left}"
            return "refused"
    return "valid"


# NB201 arch strings ------------------------------------------------------------

NB201_SEED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"


def _nb201_structured():
    from intrain.spaces.nb201.encoding import OPS

    op = st.sampled_from(list(OPS) + ["conv", "", "none ", "NONE"])
    src = st.sampled_from(["0", "1", "2", "3", "", "x", "01", "²"])
    group = st.lists(st.tuples(op, src), min_size=0, max_size=4).map(
        lambda items: "|" + "|".join(f"{o}~{s}" for o, s in items) + "|"
    )
    return st.lists(group, min_size=1, max_size=4).map("+".join)


def run_nb201(text, tmp):
    from intrain.spaces.nb201.encoding import Cell, parse_arch

    cell = parse_arch(text)
    assert parse_arch(cell.to_str()) == cell and Cell.from_code(cell.code) == cell


# NB101 arch strings ------------------------------------------------------------

NB101_SEED = "0110000-0010001-0001000-0000100-0000010-0000001-0000000|conv3x3,conv1x1,maxpool3x3,conv3x3,conv1x1"


def _nb101_structured():
    n = st.integers(1, 8)
    return n.flatmap(
        lambda k: st.tuples(
            st.lists(st.text("01", min_size=k, max_size=k), min_size=k, max_size=k),
            st.lists(st.sampled_from(["conv3x3", "conv1x1", "maxpool3x3", "conv5x5", ""]), min_size=0, max_size=k),
        ).map(lambda a: "-".join(a[0]) + "|" + ",".join(a[1]))
    )


def run_nb101(text, tmp):
    from intrain.spaces.nb101.encoding import module_hash, parse_arch

    spec = parse_arch(text)
    again = parse_arch(spec.to_str())
    assert again == spec and module_hash(again) == module_hash(spec)


# Zen-NAS structure strings -----------------------------------------------------

ZENNAS_SEED = (
    "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE6K3(8,32,2,8,1)SuperResIDWE2K5(32,48,2,24,2)SuperConvK1BNRELU(48,2048,1,1)"
)


def _zennas_structured():
    block = st.sampled_from(
        [
            "SuperConvK3BNRELU",
            "SuperResIDWE6K3",
            "SuperResIDWE1K7",
            "SuperResIDWE3K3",
            "SuperConvK1BNRELU",
            "SuperFoo",
            "",
        ]
    )
    arg = st.one_of(st.integers(-2, 64).map(str), st.sampled_from(["", "x", "1.5", "s|3"]))
    term = st.tuples(block, st.lists(arg, min_size=0, max_size=6)).map(lambda t: f"{t[0]}({','.join(t[1])})")
    return st.lists(term, min_size=0, max_size=5).map("".join)


def run_zennas(text, tmp):
    from intrain.spaces.zennas import format_structure, parse_structure

    structure = parse_structure(text)
    assert parse_structure(format_structure(structure)) == structure


# NDS records -------------------------------------------------------------------

NDS_CELL = {
    "aux": False,
    "depth": 3,
    "drop_prob": 0.0,
    "width": 8,
    "genotype": {
        "normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["max_pool_3x3", 2], ["none", 1]],
        "normal_concat": [2, 3],
        "reduce": [["avg_pool_3x3", 0], ["dil_conv_3x3", 1], ["conv_7x1_1x7", 2], ["skip_connect", 0]],
        "reduce_concat": [2, 3],
    },
}
NDS_RESNEXT = {
    "block_type": "res_bottleneck_block",
    "ds": [1, 1],
    "ws": [64, 32],
    "ss": [8, 2],
    "bot_muls": [1.0, 0.5],
    "num_gs": [1, 4],
}


def run_nds(value, tmp):
    from intrain.spaces.nds.encoding import normalize_arch, parse_net

    spec = parse_net(value)
    text = normalize_arch(value)
    assert parse_net(text) == spec and normalize_arch(text) == text


# Config overlays ---------------------------------------------------------------

_BASE_CONFIG = None


def base_config() -> dict:
    global _BASE_CONFIG
    if _BASE_CONFIG is None:
        _BASE_CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    return _BASE_CONFIG


def _config_structured():
    """An overlay setting one existing key (or a new one) to a random value, as YAML text."""
    base = base_config()
    paths = [p for p in _paths(base) if p and all(isinstance(k, str) for k in p)]
    values = json_values | st.sampled_from(
        [
            0,
            -1,
            1,
            "all",
            "cpu",
            "cuda:x",
            [],
            ["cifar10"],
            ["mnist"],
            {"enabled": False},
            None,
            True,
            1e9,
            ["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
            [NB201_SEED],
            ["0|"],
            [NB101_SEED],
        ]
    )
    archs_key = st.sampled_from(
        [("spaces", "nb201", "archs"), ("spaces", "nb101", "archs"), ("spaces", "nds_darts", "archs")]
    )
    key = st.sampled_from(paths) | archs_key | st.tuples(st.text(max_size=6))

    def overlay(kv):
        path, value = kv
        out: Any = value
        for k in reversed(path):
            out = {k: out}
        return yaml.safe_dump(out)

    return st.tuples(key, values).map(overlay)


def run_config(text, tmp):
    from intrain.planning.configcheck import check_config, load_overlay, merge_overlay

    overlay = load_overlay(text, "overlay.yaml")
    config = merge_overlay(base_config(), overlay)
    check_config(config)
    again = merge_overlay(base_config(), load_overlay(yaml.safe_dump(overlay)))
    assert again == config
    check_config(again)


# Download catalog --------------------------------------------------------------


def run_catalog(text, tmp):
    from intrain.core.download import parse_catalog

    entries = parse_catalog(text)
    dumped = yaml.safe_dump(
        {
            k: {
                f: getattr(e, f)
                for f in ("url", "mirror_path", "sha256", "description", "size", "rows", "space")
                if getattr(e, f) is not None
            }
            for k, e in entries.items()
        }
    )
    assert parse_catalog(dumped) == {k: e for k, e in entries.items()}


DOWNLOAD_SEED = b"arch,acc\n" + b"".join(f"a{i},{i}.5\n".encode() for i in range(40))


def run_download(data: bytes, tmp: Path):
    """A mirror file with these bytes fetched against the seed's sha256: only the exact bytes land."""
    import hashlib

    from intrain.core.download import BenchmarkFile, fetch

    (tmp / "mirror").mkdir()
    (tmp / "mirror" / "t.csv").write_bytes(data)
    entry = BenchmarkFile(
        "t",
        "https://example.invalid/t.csv",
        "t.csv",
        hashlib.sha256(DOWNLOAD_SEED).hexdigest(),
        size=len(DOWNLOAD_SEED),
    )
    dest = fetch(entry, tmp / "out" / "t.csv", mirror=str(tmp / "mirror"))
    assert dest.read_bytes() == DOWNLOAD_SEED == data


# Benchmark tables --------------------------------------------------------------

NB201_TABLE_SEED = (
    "ArchitectureString,CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs\n"
    + "".join(
        f"{a},{90 + i}.5,{70 + i}.25,{40 + i}.0\n"
        for i, a in enumerate(
            [
                NB201_SEED,
                "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
                "|skip_connect~0|+|nor_conv_1x1~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
            ]
        )
    )
).encode()
NB101_TABLE_SEED = json.dumps(
    [
        [
            [
                [
                    [0, 1, 1, 0, 0, 0, 0],
                    [0, 0, 1, 0, 0, 0, 1],
                    [0, 0, 0, 1, 0, 0, 0],
                    [0, 0, 0, 0, 1, 0, 0],
                    [0, 0, 0, 0, 0, 1, 0],
                    [0, 0, 0, 0, 0, 0, 1],
                    [0, 0, 0, 0, 0, 0, 0],
                ],
                [
                    "input",
                    "conv3x3-bn-relu",
                    "conv1x1-bn-relu",
                    "maxpool3x3",
                    "conv3x3-bn-relu",
                    "conv1x1-bn-relu",
                    "output",
                ],
            ],
            [0.91, 0.92, 0.93],
        ],
        {
            "adjacency": [[0, 1, 0], [0, 0, 1], [0, 0, 0]],
            "operations": ["input", "conv3x3-bn-relu", "output"],
            "test_accuracy": 0.8,
            "validation_accuracy": 0.81,
        },
    ]
).encode()
NDS_TABLE_SEED = json.dumps(
    [
        {"net": NDS_RESNEXT, "test_ep_top1": [60.0, 40.5], "params": 1000, "flops": 20000},
        {"net": NDS_CELL, "test_ep_top1": [70.0, 50.0, 45.0], "params": 2000, "flops": 30000},
    ]
).encode()


def _table_run(normalize, suffix):
    def run(data: bytes, tmp: Path):
        from intrain.analysis.groundtruth import load_groundtruth_csv

        path = tmp / f"table{suffix}"
        path.write_bytes(data)
        table = normalize(path)
        assert list(table.columns[:3]) == ["arch_index", "arch", "canonical"] and len(table) > 0
        table.to_csv(tmp / "gt.csv", index=False)
        again = load_groundtruth_csv(tmp / "gt.csv")
        assert list(again["arch"]) == list(table["arch"]) and list(again["arch_index"]) == list(table["arch_index"])

    return run


def _nb201_table(path):
    from intrain.analysis.groundtruth import normalize

    return normalize("nb201", path)


def _nb101_table(path):
    from intrain.analysis.groundtruth import normalize

    return normalize("nb101", path)


def _nds_table(path):
    from intrain.spaces.nds.groundtruth import read_groundtruth

    return read_groundtruth(path)


# CIFAR python batches and .npz files -------------------------------------------


def cifar_seed() -> bytes:
    rng = np.random.default_rng(0)
    return pickle.dumps(
        {
            b"data": rng.integers(0, 256, (6, 3 * 4 * 4), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, 6)],
            b"batch_label": b"x",
        },
        protocol=2,
    )


class _Evil:
    def __reduce__(self):
        return (os.getcwd, ())


def _cifar_structured():
    arrays = st.sampled_from([np.uint8, np.float32, np.int64, np.bool_, np.complex64, "U3", object]).flatmap(
        lambda dt: st.lists(st.integers(0, 7), min_size=0, max_size=3).map(lambda shape: np.zeros(shape, dtype=dt))
    )
    values = json_values | arrays | st.just(_Evil())
    d = st.dictionaries(
        st.sampled_from([b"data", b"labels", b"fine_labels", "data", "labels", b"x"]), values, max_size=3
    )
    return st.tuples(d, st.sampled_from([0, 2, 4, 5])).map(lambda a: pickle.dumps(a[0], protocol=a[1]))


def _check_batch(path: Path):
    from intrain.engine.inputs import image_batch

    x, y = image_batch(path, batch_size=2, num_classes=10, resolution=8, seed=0)
    x2, y2 = image_batch(path, batch_size=2, num_classes=10, resolution=8, seed=0)
    assert tuple(x.shape) == (2, 3, 8, 8) and tuple(y.shape) == (2,)
    assert bool((x == x2).all()) and bool((y == y2).all()) and bool(x.isfinite().all())


def run_cifar(data: bytes, tmp: Path):
    path = tmp / "data_batch_1"
    path.write_bytes(data)
    _check_batch(path)


def npz_seed() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buf, x=rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8), y=rng.integers(0, 10, 5))
    return buf.getvalue()


def _npz_structured():
    dtypes = st.sampled_from([np.uint8, np.float64, np.int32, np.bool_, "U2", object, np.float16])
    shapes = st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple)

    def make(a):
        (dx, sx), (dy, sy), nan = a
        x = np.zeros(sx, dtype=dx)
        if nan and x.dtype.kind == "f" and x.size:
            x.flat[0] = np.nan
        buf = io.BytesIO()
        np.savez(buf, x=x, y=np.zeros(sy, dtype=dy), allow_pickle=True)
        return buf.getvalue()

    return st.tuples(st.tuples(dtypes, shapes), st.tuples(dtypes, shapes), st.booleans()).map(make)


def run_npz(data: bytes, tmp: Path):
    path = tmp / "batch.npz"
    path.write_bytes(data)
    _check_batch(path)


# HDF5 artifacts ----------------------------------------------------------------

_ARTIFACT = None


def artifact_seed() -> bytes:
    global _ARTIFACT
    if _ARTIFACT is None:
        from .helpers import fake_artifact, ladder

        with tempfile.TemporaryDirectory() as d:
            _ARTIFACT = fake_artifact(Path(d) / "a.h5", ladder(3, np.random.default_rng(0))).read_bytes()
    return _ARTIFACT


def _datasets(data: bytes) -> list[str]:
    names: list[str] = []
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return sorted(names)


def _restructure(data: bytes, name: str, action: str) -> bytes:
    """A copy of an HDF5 file with dataset ``name`` deleted, retyped or reshaped."""
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as f:
        old = f[name][()]
        attrs = dict(f[name].attrs)
        del f[name]
        n = len(old) if np.ndim(old) else 1
        if action == "delete":
            pass
        elif action == "strings":
            new = np.asarray([str(i) for i in range(n)], dtype=object)
            f.create_dataset(name, data=new, dtype=h5py.string_dtype())
        elif action == "floats":
            f.create_dataset(name, data=np.linspace(-1.5, 7.5, n))
        elif action == "ints":
            f.create_dataset(name, data=np.arange(n, dtype=np.int64) * 7 - 3)
        elif action == "longer":
            f.create_dataset(name, data=np.concatenate([np.asarray(old).reshape(n, -1)] * 2).squeeze())
        elif action == "shorter":
            f.create_dataset(name, data=np.asarray(old)[: max(0, n - 1)])
        elif action == "2d":
            f.create_dataset(name, data=np.zeros((n, 2)))
        elif action == "scalar":
            f.create_dataset(name, data=5)
        elif action == "group":
            f.create_group(name)
        for k, v in attrs.items():
            if name in f and isinstance(f[name], h5py.Dataset):
                f[name].attrs[k] = v
    return _reseal(buf.getvalue())


def _reseal(data: bytes) -> bytes:
    """Structured damage as a writer would leave it: with a valid checksum (else every such file
    is refused by the checksum alone and the layout checks behind it go untested)."""
    from intrain.core import sealed

    return sealed.seal(data) if data.startswith(sealed.MAGIC) else data


ACTIONS = ["delete", "strings", "floats", "ints", "longer", "shorter", "2d", "scalar", "group"]


def restructured(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.sampled_from(_datasets(seed)), st.sampled_from(ACTIONS)).map(lambda a: _restructure(seed, *a))


def _attr_damage(seed: bytes) -> st.SearchStrategy[bytes]:
    def damage(a):
        key, value = a
        buf = io.BytesIO(seed)
        with h5py.File(buf, "r+") as f:
            if value is None:
                f.attrs.pop(key, None)
            else:
                f.attrs[key] = value
        return _reseal(buf.getvalue())

    keys = st.sampled_from(["schema", "schema_version", "n_done", "meta", "config_hash", "space"])
    values = (
        st.none()
        | st.sampled_from(["intrain.scores", "intrain.search", "{}", "[1]", "{bad json", "x"])
        | st.integers(-3, 10**6)
        | st.floats(allow_nan=True)
    )
    return st.tuples(keys, values).map(damage)


def run_artifact(data: bytes, tmp: Path):
    from intrain.core.artifacts import merge_shards, read_attrs, read_layers, read_params, read_scores

    path = tmp / "shard-000.h5"
    path.write_bytes(data)
    scores = read_scores(path)
    layers, params = read_layers(path), read_params(path)
    read_attrs(path)
    merged = tmp / "merged.h5"
    merge_shards([path], merged)
    pd.testing.assert_frame_equal(read_scores(merged), scores, check_dtype=False)
    pd.testing.assert_frame_equal(read_layers(merged), layers, check_dtype=False)
    pd.testing.assert_frame_equal(read_params(merged), params, check_dtype=False)


# Search logs -------------------------------------------------------------------

_LOG = None
LOG_META = {"space": "nb201", "k": 3, "seed": 0}


def searchlog_seed() -> bytes:
    global _LOG
    if _LOG is None:
        from intrain.core.search_log import SearchLog

        with tempfile.TemporaryDirectory() as d:
            log = SearchLog(Path(d) / "log.h5", LOG_META, ["flops"])
            log.append(
                [
                    {"iteration": i, "arch": f"a{i % 3}", "score": float(i) / 2, "new": int(i < 3), "flops": 10.0 * i}
                    for i in range(4)
                ]
            )
            log.append([{"iteration": 4, "arch": "a1", "score": 0.5, "new": 0, "flops": 40.0}])
            _LOG = (Path(d) / "log.h5").read_bytes()
    return _LOG


def run_searchlog(data: bytes, tmp: Path):
    from intrain.core.search_log import SearchLog, read_log

    path = tmp / "log.h5"
    path.write_bytes(data)
    meta, rows = read_log(path)
    assert isinstance(meta, dict)
    extra = sorted(set(rows.columns) - {"iteration", "arch", "score", "new"})
    copy = SearchLog(tmp / "copy.h5", meta, extra)
    if len(rows):
        copy.append(rows.to_dict("records"))
        meta2, rows2 = read_log(tmp / "copy.h5")
        assert meta2 == meta
        pd.testing.assert_frame_equal(rows2[list(rows.columns)], rows, check_dtype=False)


# ----------------------------------------------------------------------------- format-aware generators
# Files built from the formats' own features (not mutations of a valid file): HDF5 links, external
# storage, virtual datasets, object/compound dtypes and huge declared shapes; pickle opcodes with
# shared references and numpy reconstructor states; YAML aliases and tags; JSON depth and number
# size; strings with markup, formula prefixes, math text, path separators and 10,000 characters.
# A run raises OutsideRead when anything from the outside file reached a result or an output, and
# Executed when a payload ran (the marker file exists); both are bugs, counted apart.


class OutsideRead(AssertionError):
    """A loader returned or wrote bytes of a file outside the one it was given."""


class Executed(AssertionError):
    """A payload in a loaded file ran (it created the marker file)."""


SENTINEL_VALUE = 7.0e-301  # a float no real artifact holds
_OUTSIDE: Path | None = None


def outside_dir() -> Path:
    """Per process: the files crafted inputs point at (sentinel bytes) and the execution marker."""
    global _OUTSIDE
    if _OUTSIDE is None:
        _OUTSIDE = Path(tempfile.mkdtemp(prefix="intrain-fuzz-outside-"))
        sentinel = np.full(4096, SENTINEL_VALUE)
        (_OUTSIDE / "outside.bin").write_bytes(sentinel.tobytes())
        with h5py.File(_OUTSIDE / "outside.h5", "w") as f:
            f["x"] = sentinel
            f["s"] = np.asarray(["outside-sentinel"] * 16, dtype=object).astype(h5py.string_dtype())
    return _OUTSIDE


def marker() -> Path:
    return outside_dir() / "executed"


def _check_executed() -> None:
    if marker().exists():
        marker().unlink()
        raise Executed("a payload ran")


def _check_outside(tmp: Path, *frames) -> None:
    needle = np.float64(SENTINEL_VALUE).tobytes()
    for df in frames:
        for c in df.columns:
            values = df[c].to_numpy()
            if values.dtype.kind == "f" and np.any(values == SENTINEL_VALUE):
                raise OutsideRead(f"column {c} holds the outside file's values")
            if values.dtype == object and any(isinstance(v, str) and "outside-sentinel" in v for v in values):
                raise OutsideRead(f"column {c} holds the outside file's strings")
    for p in tmp.rglob("*"):
        if p.is_file() and (needle * 4 in p.read_bytes() or b"outside-sentinel" in p.read_bytes()):
            raise OutsideRead(f"{p.name} holds the outside file's bytes")


HDF5_ATTACKS = [
    "external_storage",
    "external_link",
    "soft_link",
    "soft_link_dangling",
    "virtual",
    "virtual_self",
    "compound",
    "reference",
    "vlen_int",
    "enum",
    "opaque",
    "huge_chunked",
    "huge_contiguous",
    "hard_cycle",
    "attr_compound",
    "attr_reference",
    "fletcher32",
    "deep_groups",
    "many_links",
]


def _hdf5_attack(seed: bytes, name: str, attack: str, k: int) -> bytes:
    out = outside_dir()
    buf = io.BytesIO(seed)
    with h5py.File(buf, "r+") as f:
        old = f[name]
        n = old.shape[0] if old.shape else 1
        old_dtype = old.dtype
        parent = name.rsplit("/", 1)[0] if "/" in name else "/"
        if attack not in ("hard_cycle", "attr_compound", "attr_reference", "deep_groups", "many_links"):
            data = old[()]
            del f[name]
        if attack == "external_storage":
            f.create_dataset(name, shape=(n,), dtype="f8", external=[(str(out / "outside.bin"), 0, n * 8)])
        elif attack == "external_link":
            f[name] = h5py.ExternalLink(str(out / "outside.h5"), "/x" if k % 2 else "/s")
        elif attack == "soft_link":
            f[name] = h5py.SoftLink("/arch/index" if "arch/index" in f else "/score")
        elif attack == "soft_link_dangling":
            f[name] = h5py.SoftLink("/nowhere")
        elif attack in ("virtual", "virtual_self"):
            layout = h5py.VirtualLayout(shape=(n,), dtype="f8")
            src = (
                h5py.VirtualSource(str(out / "outside.h5"), "x", shape=(4096,))
                if attack == "virtual"
                else h5py.VirtualSource(".", "/arch/seconds" if "arch/seconds" in f else "/score", shape=(n,))
            )
            layout[:] = src[:n]
            f.create_virtual_dataset(name, layout, fillvalue=0)
        elif attack == "compound":
            f.create_dataset(name, data=np.zeros(n, [("a", "f8"), ("b", "i8")]))
        elif attack == "reference":
            f.create_dataset(name, shape=(n,), dtype=h5py.ref_dtype)
        elif attack == "vlen_int":
            f.create_dataset(name, shape=(n,), dtype=h5py.vlen_dtype(np.int64))
        elif attack == "enum":
            f.create_dataset(name, data=np.zeros(n, "i1"), dtype=h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1"))
        elif attack == "opaque":
            f.create_dataset(name, data=np.zeros(n, "V8"))
        elif attack == "huge_chunked":
            f.create_dataset(name, shape=(2**k,), dtype="f8", chunks=(min(2**k, 1 << 16),), compression="gzip")
        elif attack == "huge_contiguous":
            f.create_dataset(name, shape=(2**k,), dtype=old_dtype)
        elif attack == "fletcher32":  # a legitimate filter: the file must still read, values intact
            numeric = np.ndim(data) and np.size(data) and np.asarray(data).dtype.kind in "biuf"
            f.create_dataset(name, data=data, fletcher32=True, chunks=True) if numeric else f.create_dataset(
                name, data=data, dtype=old_dtype
            )
        elif attack == "hard_cycle":
            f[f"{parent}/loop_{k}".replace("//", "/")] = f[parent]
        elif attack == "attr_compound":
            f[name].attrs["c"] = np.zeros(2, [("a", "f8"), ("b", "i8")])
        elif attack == "attr_reference":
            f[name].attrs.create("r", f[name].ref, dtype=h5py.ref_dtype)
        elif attack == "deep_groups":
            g = f.require_group("deep")
            for _ in range(k):
                g = g.create_group("g")
        elif attack == "many_links":
            g = f.require_group("many")
            for i in range(k * 4):
                g[f"l{i}"] = f[name]
    return _reseal(buf.getvalue())


def hdf5_features(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.sampled_from(_datasets(seed)), st.sampled_from(HDF5_ATTACKS), st.integers(8, 56)).map(
        lambda a: _hdf5_attack(seed, *a)
    )


def run_artifact_features(data: bytes, tmp: Path):
    try:
        run_artifact(data, tmp)
    finally:
        from intrain.core.artifacts import read_scores

        try:
            frames = [read_scores(tmp / "shard-000.h5")]
        except IntrainError:
            frames = []
        _check_outside(tmp, *frames)


def run_searchlog_features(data: bytes, tmp: Path):
    from intrain.core.search_log import read_log

    try:
        run_searchlog(data, tmp)
    finally:
        try:
            frames = [read_log(tmp / "log.h5")[1]]
        except IntrainError:
            frames = []
        _check_outside(tmp, *frames)


# Pickles from opcodes -------------------------------------------------------------


def _p(value) -> bytes:
    """Opcodes pushing a plain value (protocol 2, without PROTO/STOP)."""
    return pickle.dumps(value, protocol=2)[2:-1]


def _glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _call(fn: bytes, *args: bytes) -> bytes:
    return fn + _tuple(*args) + b"R"


_TYPESTRS = [
    "u1",
    "f8",
    "i4",
    "b1",
    "c16",
    "f2",
    "S3",
    "U2",
    "O8",
    "O",
    "V8",
    "M8",
    "m8",
    "i8",
    "V",
    "f",
    "",
    "x9",
    "u1" * 40,
    "S999999999999",
]
_DANGER = [
    ("os", "system"),
    ("posix", "system"),
    ("builtins", "open"),
    ("__builtin__", "open"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("subprocess", "check_call"),
    ("numpy", "load"),
    ("numpy", "frombuffer"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("builtins", "getattr"),
    ("copyreg", "_reconstructor"),
    ("numpy.testing._private.utils", "runstring"),
    ("pickle", "loads"),
]


def _dtype_state(order: str, sub, names, fields, elsize: int, align: int, flags: int) -> bytes:
    return _tuple(_p(3), _p(order), sub, names, fields, _p(elsize), _p(align), _p(flags))


def _pickle_program(draw) -> bytes:
    kind = draw(
        st.sampled_from(["shared", "array", "scalar", "frombuffer", "danger", "bytearray", "nested", "recursive"])
    )
    if kind == "shared":  # a = [a, a] d times: tiny file, 2^d objects to anything that walks it
        d = draw(st.integers(0, 70))
        body = b"]"  # EMPTY_LIST
        for _ in range(d):
            body = b"(" + body + b"q\x00h\x00l"  # MARK, obj, PUT 0, GET 0, LIST
        return b"\x80\x02" + body + b"."
    if kind == "recursive":
        return b"\x80\x02]q\x00h\x00a."  # a list that contains itself
    if kind == "nested":
        depth = draw(st.integers(1, 200))
        return b"\x80\x02" + b"(" * depth + b"l" * depth + b"."
    if kind == "danger":
        module, name = draw(st.sampled_from(_DANGER))
        arg = _p(f"touch {marker()}") if name in ("system", "check_call") else _p(str(marker()))
        extra = _p("w") if name == "open" else b""
        return b"\x80\x02" + _call(_glob(module, name), arg, *([extra] if extra else [])) + b"."
    if kind == "bytearray":
        arg = draw(st.sampled_from([_p(2**40), _p(b"ab"), _p("ab"), _p(-1), b"N"]))
        return b"\x80\x02" + _call(_glob("__builtin__", "bytearray"), arg) + b"."
    typestr = draw(st.sampled_from(_TYPESTRS) | st.text(max_size=6))
    fields = draw(
        st.sampled_from(
            [
                b"N",
                _p({"a": 0}),
                b"}" + _p("a") + _tuple(_call(_glob("numpy", "dtype"), _p("f8"), _p(False), _p(True)), _p(4)) + b"s",
            ]
        )
    )
    names = draw(st.sampled_from([b"N", _tuple(_p("a")), _tuple(_p("a"), _p("b"))]))
    sub = draw(
        st.sampled_from([b"N", _tuple(_call(_glob("numpy", "dtype"), _p("f8"), _p(False), _p(True)), _tuple(_p(2)))])
    )
    order = draw(st.sampled_from(["<", ">", "|", "=", "x", ""]))
    elsize = draw(st.sampled_from([-1, 0, 1, 8, 12, 2**40, -5]))
    flags = draw(st.sampled_from([0, 1, 8, 16, 63]))
    structured = draw(st.booleans())
    state = _dtype_state(
        order,
        sub if structured else b"N",
        names if structured else b"N",
        fields if structured else b"N",
        elsize,
        draw(st.sampled_from([-1, 1, 4])),
        flags,
    )
    dtype = _call(_glob("numpy", "dtype"), _p(typestr), _p(False), _p(True)) + (
        state + b"b" if draw(st.booleans()) else b""
    )
    raw = draw(st.binary(max_size=64))
    shape = _p(tuple(draw(st.lists(st.integers(-3, 2**62), max_size=3))))
    if kind == "scalar":
        return b"\x80\x02" + _call(_glob("numpy.core.multiarray", "scalar"), dtype, _p(raw)) + b"."
    if kind == "frombuffer":
        return (
            b"\x80\x02"
            + _call(
                _glob("numpy._core.numeric", "_frombuffer"),
                _p(bytearray(raw)),
                dtype,
                shape,
                _p(draw(st.sampled_from(["C", "F", "K"]))),
            )
            + b"."
        )
    sub_type = draw(st.sampled_from([("numpy", "ndarray"), ("collections", "OrderedDict")]))
    arr = _call(_glob("numpy.core.multiarray", "_reconstruct"), _glob(*sub_type), _p((0,)), _p(b"b"))
    fortran = draw(st.sampled_from([b"\x89", b"\x88", _p(2)]))
    return b"\x80\x02" + arr + _tuple(_p(1), shape, dtype, fortran, _p(raw)) + b"b."


pickle_programs = st.composite(_pickle_program)


def run_pickle_features(data: bytes, tmp: Path):
    from intrain.core.safepickle import load

    try:
        obj = load(io.BytesIO(data), name="crafted.pkl")
        again = load(io.BytesIO(pickle.dumps(obj, protocol=4)), name="again.pkl")  # what we built is plain data
        assert pickle.dumps(again, protocol=4) == pickle.dumps(obj, protocol=4) or _same(again, obj)
    finally:
        _check_executed()


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)


# YAML from aliases and tags ---------------------------------------------------------


def _yaml_program(draw) -> str:
    kind = draw(st.sampled_from(["laughs", "tag", "deep", "merge", "bigint", "plain"]))
    if kind == "laughs":
        levels, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
        return "\n".join(lines) + f"\nscoring: {{proxies: *a{levels - 1}}}\n"
    if kind == "tag":
        tag = draw(
            st.sampled_from(
                [
                    f"!!python/object/apply:os.system ['touch {marker()}']",
                    "!!python/name:os.system",
                    "!!binary aGVsbG8=",
                    "!!set {a, b}",
                    "!!timestamp 2001-12-14",
                    "!foo bar",
                    "!!omap [a: 1]",
                    "!!float .inf",
                    "!!int 0x1f",
                    f"!!python/object/new:builtins.open ['{marker()}', 'w']",
                    "!!str 5",
                    "!!null ''",
                ]
            )
        )
        return f"spaces: {{nb201: {{sample: {tag}}}}}\n"
    if kind == "deep":
        d = draw(st.integers(1, 400))
        return "spaces: {nb201: {archs: " + "[" * d + "]" * d + "}}\n"
    if kind == "merge":
        return "spaces: {nb201: &b {sample: 5}, nb101: {<<: *b}}\n"
    if kind == "bigint":
        return f"spaces: {{nb201: {{sample: {'9' * draw(st.integers(1, 6000))}}}}}\n"
    return f"spaces: {{nb201: {{sample: {draw(st.integers(-5, 5))}}}}}\n"


yaml_programs = st.composite(_yaml_program)


def run_yaml_features(text: str, tmp: Path):
    try:
        run_config(text, tmp)
    finally:
        _check_executed()


# JSON peers' files: depth, number size, ids, names -------------------------------

_NUMBERS = [
    "1",
    "-0",
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "-Infinity",
    "1" * 41,
    "1" * 40,
    "0.1e-400",
    "9" * 400,
    "1.5",
    "-1e8",
    "2147483647",
    "2147483648",
    "-1",
    "true",
    "null",
    '"3"',
    "[]",
    "{}",
]
_NAMES = [
    "nwot",
    "snip",
    "flags",
    "arch_index",
    "acc_cifar10",
    "<script>x</script>",
    "=1+1",
    "$\\frac{",
    "a.b",
    "x" * 10_000,
    "../../etc",
    "time",
    "val_accuracy",
    "id",
    "é",
    "",
]


def _json_program(draw) -> str:
    depth = draw(st.integers(0, 80))
    score = draw(st.sampled_from(_NUMBERS))
    value = "[" * depth + score + "]" * depth if draw(st.booleans()) else score
    name = draw(st.sampled_from(_NAMES))
    ident = draw(st.sampled_from(_NUMBERS))
    rec = f'{{"id": {ident}, {json.dumps(name)}: {{"score": {value}, "time": {draw(st.sampled_from(_NUMBERS))}}}}}'
    return f'{{"cifar10": {{"(4, 0, 3, 1, 4, 3)": {rec}}}}}'


json_programs = st.composite(_json_program)


def run_json_features(text: str, tmp: Path):
    from intrain.core.names import PROXY_NAME_PATTERN, is_reserved
    from intrain.interop.importer import read_peer_file

    path = tmp / "zc_nasbench201.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    table = read_peer_file(path, "naslib-zc", "nb201", "cifar10")
    for p in table.scores:
        assert PROXY_NAME_PATTERN.fullmatch(p) and not is_reserved(p), p
    assert table.index.dtype == np.int64 and all(v.dtype == np.float64 for v in table.scores.values())


# Strings reaching every sink --------------------------------------------------------

SPECIAL_STRINGS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><b>x</b>',
    "'><svg onload=1>",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "'=1",
    "$\\frac{$",
    "$x$",
    "$",
    "\\$",
    "../../etc/passwd",
    "a/b\\c",
    "x" * 10_000,
    "",
    " ",
    "é\u202e",
    "\x00",
    "a\nb",
    "-",
]


def strings() -> st.SearchStrategy[str]:
    pieces = st.sampled_from(SPECIAL_STRINGS) | st.text(max_size=12)
    return st.lists(pieces, min_size=1, max_size=4).map("".join)


def run_string_sinks(text: str, tmp: Path):
    import csv
    import html as _html
    import html.parser

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from intrain.core import names, sinks

    class Tags(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[tuple[str, tuple[str, ...]]] = []

        def handle_starttag(self, tag, attrs):
            self.found.append((tag, tuple(a for a, _ in attrs)))

    parser = Tags()
    h = sinks.html_text(text)
    parser.feed(f'<p title="{h}">{h}</p>')
    assert parser.found == [("p", ("title",))], parser.found
    assert _html.unescape(h) == text.replace("\r\n", "\n") or _html.unescape(h) == text
    df = pd.DataFrame({"name": [text, "ok"], "score": [-1.5, 2.0]})
    sinks.write_csv(df, tmp / "t.csv")
    with open(tmp / "t.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            for cell in row:
                assert not cell.startswith(sinks.CSV_TRIGGERS) or cell == "-1.5", cell
    back = sinks.read_csv(tmp / "t.csv", keep_default_na=False, dtype={"name": str})
    assert back["name"].tolist() == [text, "ok"] and back["score"].tolist() == [-1.5, 2.0]
    fig, ax = plt.subplots(figsize=(2, 1))
    try:
        ax.set_title(sinks.plot_text(text))
        fig.canvas.draw()
    finally:
        plt.close(fig)
    s = sinks.slug(text)
    assert len(s) <= sinks.MAX_SLUG and s and all(c.isascii() and (c.isalnum() or c in "_-") for c in s)
    assert s != sinks.slug(text + "x")
    try:
        names.check_proxy_name(text)
    except IntrainError:
        pass
    else:
        assert names.PROXY_NAME_PATTERN.fullmatch(text) and not names.is_reserved(text)


# ----------------------------------------------------------------------------- registry


def _json_text(seed) -> st.SearchStrategy:
    text = json.dumps(seed)
    return st.one_of(mutated_text(text), damaged_json(seed), damaged_json(seed).map(json.dumps), json_values)


def targets() -> dict[str, Target]:
    catalog_text = (REPO / "intrain" / "data" / "benchmarks.yaml").read_text()
    base_yaml = yaml.safe_dump({"spaces": {"nb201": {"sample": 5, "archs": [NB201_SEED]}}})
    t = [
        Target("nb201_arch", lambda: st.one_of(mutated_text(NB201_SEED), _nb201_structured()), run_nb201),
        Target("nb101_arch", lambda: st.one_of(mutated_text(NB101_SEED), _nb101_structured()), run_nb101),
        Target("zennas_arch", lambda: st.one_of(mutated_text(ZENNAS_SEED), _zennas_structured()), run_zennas),
        Target("nds_record", lambda: st.one_of(_json_text(NDS_CELL), _json_text(NDS_RESNEXT)), run_nds),
        Target(
            "config_overlay",
            lambda: st.one_of(_config_structured(), mutated_text(base_yaml), mutated_bytes(base_yaml.encode())),
            run_config,
        ),
        Target(
            "catalog",
            lambda: st.one_of(
                mutated_text(catalog_text),
                damaged_json(yaml.safe_load(catalog_text)).map(yaml.safe_dump),
                mutated_bytes(catalog_text.encode()[:600]),
            ),
            run_catalog,
        ),
        Target("download", lambda: mutated_bytes(DOWNLOAD_SEED), run_download, lambda d: [d / "out" / "t.csv"]),
        Target("table_nb201", lambda: mutated_bytes(NB201_TABLE_SEED), _table_run(_nb201_table, ".csv")),
        Target(
            "table_nb101",
            lambda: st.one_of(
                mutated_bytes(NB101_TABLE_SEED),
                damaged_json(json.loads(NB101_TABLE_SEED)).map(lambda v: json.dumps(v).encode()),
            ),
            _table_run(_nb101_table, ".json"),
        ),
        Target(
            "table_nds",
            lambda: st.one_of(
                mutated_bytes(NDS_TABLE_SEED),
                damaged_json(json.loads(NDS_TABLE_SEED)).map(lambda v: json.dumps(v).encode()),
            ),
            _table_run(_nds_table, ".json"),
        ),
        Target("cifar_batch", lambda: st.one_of(mutated_bytes(cifar_seed()), _cifar_structured()), run_cifar),
        Target("npz_batch", lambda: st.one_of(mutated_bytes(npz_seed()), _npz_structured()), run_npz),
        Target(
            "hdf5_artifact",
            lambda: st.one_of(
                mutated_bytes(artifact_seed()), restructured(artifact_seed()), _attr_damage(artifact_seed())
            ),
            run_artifact,
            lambda d: [d / "merged.h5"],
        ),
        Target(
            "search_log",
            lambda: st.one_of(
                mutated_bytes(searchlog_seed()), restructured(searchlog_seed()), _attr_damage(searchlog_seed())
            ),
            run_searchlog,
        ),
        Target(
            "hdf5_features", lambda: hdf5_features(artifact_seed()), run_artifact_features, lambda d: [d / "merged.h5"]
        ),
        Target("searchlog_features", lambda: hdf5_features(searchlog_seed()), run_searchlog_features),
        Target("pickle_features", pickle_programs, run_pickle_features),
        Target("yaml_features", yaml_programs, run_yaml_features),
        Target("json_features", json_programs, run_json_features),
        Target("string_sinks", strings, run_string_sinks),
    ]
    return {x.name: x for x in t}
