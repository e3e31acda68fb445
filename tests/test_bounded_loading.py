"""Bounded loading: pickles (numpy reconstructor states, shared references, size), YAML overlays
(aliases, depth, size) and JSON (depth, number size); each bound tested at the bound and one over."""

from __future__ import annotations

import io
import pickle
import time

import numpy as np
import pytest

from intrain.core import bounded, safepickle
from intrain.core.errors import InputError, IntrainError, UnsafeInputError
from intrain.planning import configcheck


def _load(data: bytes):
    return safepickle.load(io.BytesIO(data), name="t.pkl")


# ----------------------------------------------------------------------------- pickle


@pytest.mark.parametrize("protocol", range(0, 6))
def test_plain_arrays_dtypes_and_scalars_round_trip(protocol):
    x = {
        b"data": np.arange(12, dtype=np.uint8).reshape(3, 4),
        "f": np.float64(2.5),
        "s": {1, 2},
        "t": (np.arange(3.0).reshape(3, 1, order="F"), np.dtype(">i4")),
        "u": np.array(["ab", "c"]),
    }
    y = _load(pickle.dumps(x, protocol=protocol))
    assert type(y[b"data"]) is np.ndarray and np.array_equal(y[b"data"], x[b"data"])
    assert y["t"][1] == np.dtype(">i4") and np.array_equal(y["t"][0], x["t"][0]) and y["s"] == {1, 2}
    assert type(y["f"]) is np.float64 and y["f"] == 2.5 and np.array_equal(y["u"], x["u"])


def test_python2_style_batch_reads_with_encoding_bytes():
    """A CIFAR-style protocol-2 pickle whose strings are byte strings (as Python 2 wrote them)."""
    data = (
        b"\x80\x02}q\x00U\x04dataq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03"
        b"K\x00\x85U\x01b\x87Rq\x04(K\x01K\x03\x85cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNN"
        b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x03\x01\x02\x03tbs."
    )
    out = safepickle.load(io.BytesIO(data), name="batch", encoding="bytes")
    assert out[b"data"].tolist() == [1, 2, 3] and out[b"data"].dtype == np.uint8


def _array_pickle(
    dtype_state: bytes, typestr: bytes = b"u1", shape: bytes = b"K\x03\x85", raw: bytes = b"\x01\x02\x03"
):
    """``_reconstruct`` + BUILD with a chosen dtype state, shape and buffer (what an attacker controls)."""
    return (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87R(K\x01"
        + shape
        + b"cnumpy\ndtype\nX"
        + len(typestr).to_bytes(4, "little")
        + typestr
        + b"K\x00K\x01\x87R"
        + dtype_state
        + b"b\x89C"
        + bytes([len(raw)])
        + raw
        + b"tb."
    )


PLAIN_STATE = b"(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"


def test_the_crafted_array_pickle_is_valid_when_honest():
    assert _load(_array_pickle(PLAIN_STATE)).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "case",
    [
        "object-dtype",
        "structured-state",
        "overlapping-fields",
        "short-buffer",
        "long-buffer",
        "huge-shape",
        "negative-shape",
        "elsize-lie",
        "not-ndarray",
    ],
)
def test_numpy_reconstructor_states_that_could_crash_are_refused(case):
    fields = (
        b"(K\x03X\x01\x00\x00\x00|N(X\x01\x00\x00\x00aX\x01\x00\x00\x00bt}(X\x01\x00\x00\x00a"
        b"cnumpy\ndtype\nX\x02\x00\x00\x00f8K\x00K\x01\x87RK\x00\x86X\x01\x00\x00\x00bcnumpy\ndtype\n"
        b"X\x02\x00\x00\x00f8K\x00K\x01\x87RK\x04\x86uK\x0cK\x01K\x10t"
    )
    data = {
        "object-dtype": _array_pickle(PLAIN_STATE, typestr=b"O8"),
        "structured-state": _array_pickle(fields, typestr=b"V12"),
        "overlapping-fields": _array_pickle(fields, typestr=b"u1"),
        "short-buffer": _array_pickle(PLAIN_STATE, raw=b"\x01\x02"),
        "long-buffer": _array_pickle(PLAIN_STATE, raw=b"\x01\x02\x03\x04"),
        "huge-shape": _array_pickle(PLAIN_STATE, shape=b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x01\x85"),
        "negative-shape": _array_pickle(PLAIN_STATE, shape=b"J\xff\xff\xff\xff\x85"),
        "elsize-lie": _array_pickle(b"(K\x03X\x01\x00\x00\x00|NNNK\x40J\xff\xff\xff\xffK\x00t"),
        "not-ndarray": _array_pickle(PLAIN_STATE).replace(b"cnumpy\nndarray\n", b"ccollections\nOrderedDict\n"),
    }[case]
    with pytest.raises(UnsafeInputError, match="t.pkl"):
        _load(data)


def test_object_scalar_is_refused():
    data = (
        b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00O8K\x00K\x01\x87RC\x08AAAAAAAA\x86R."
    )
    with pytest.raises(UnsafeInputError):
        _load(data)


def test_bytearray_is_built_from_bytes_only():
    assert _load(pickle.dumps(bytearray(b"ab"), protocol=2)) == bytearray(b"ab")
    with pytest.raises(UnsafeInputError):
        _load(b"\x80\x02c__builtin__\nbytearray\n\x8a\x05\x00\x00\x00\x00\x01\x85R.")  # bytearray(2**32)


def test_shared_references_are_counted_and_refused_fast():
    a: list = []
    for _ in range(40):
        a = [a, a]
    data = pickle.dumps(a)
    assert len(data) < 1000
    start = time.process_time()
    with pytest.raises(UnsafeInputError, match="shared references"):
        _load(data)
    assert time.process_time() - start < 1.0


def test_self_containing_container_is_refused():
    a: list = []
    a.append(a)
    with pytest.raises(UnsafeInputError, match="contains itself"):
        _load(pickle.dumps(a))


def test_object_count_bound():
    ok = pickle.dumps([0] * (safepickle.MAX_OBJECTS - 1))  # the list itself is the last object
    assert len(_load(ok)) == safepickle.MAX_OBJECTS - 1
    with pytest.raises(UnsafeInputError, match="objects"):
        _load(pickle.dumps([0] * safepickle.MAX_OBJECTS))


def test_depth_bound():
    def nested(depth):
        x: list = []
        for _ in range(depth - 1):
            x = [x]
        return x

    _load(pickle.dumps(nested(safepickle.MAX_DEPTH)))
    with pytest.raises(UnsafeInputError, match="nesting"):
        _load(pickle.dumps(nested(safepickle.MAX_DEPTH + 1)))


def test_built_bytes_bound_counts_each_reference():
    block = b"x" * (1 << 20)
    refs = safepickle.MAX_BUILT_BYTES // len(block)
    assert len(_load(pickle.dumps([block] * refs))) == refs  # exactly the bound, 1 MiB in the file
    with pytest.raises(UnsafeInputError, match="bytes"):
        _load(pickle.dumps([block] * refs + [b"y"]))


def test_messages_never_quote_unbounded():
    with pytest.raises(UnsafeInputError) as e:
        _load(b"\x80\x02c" + b"m" * 100_000 + b"\nx\n.")
    assert len(str(e.value)) < 600


# ----------------------------------------------------------------------------- YAML overlays


def test_yaml_aliases_are_refused():
    lol = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    start = time.process_time()
    with pytest.raises(configcheck.ConfigError, match="aliases"):
        configcheck.load_overlay(lol, "bomb.yaml")
    assert time.process_time() - start < 1.0


def test_yaml_python_tags_are_refused():
    with pytest.raises(configcheck.ConfigError):
        configcheck.load_overlay("a: !!python/object/apply:os.system ['touch /tmp/x']", "tag.yaml")


def test_yaml_depth_bound():
    def doc(depth):
        return "[" * depth + "]" * depth

    configcheck.load_overlay("a: " + doc(configcheck.MAX_OVERLAY_DEPTH - 1), "ok.yaml")  # the mapping is level 1
    with pytest.raises(configcheck.ConfigError, match="nested"):
        configcheck.load_overlay("a: " + doc(configcheck.MAX_OVERLAY_DEPTH), "deep.yaml")


def test_yaml_size_bound(tmp_path):
    text = "a: " + "x" * (configcheck.MAX_OVERLAY_BYTES - 4) + "\n"
    assert len(text.encode()) == configcheck.MAX_OVERLAY_BYTES
    path = tmp_path / "big.yaml"
    path.write_text(text)
    assert len(configcheck.load_overlay(path)["a"]) == configcheck.MAX_OVERLAY_BYTES - 4
    path.write_text(text + "#")
    with pytest.raises(configcheck.ConfigError, match="big.yaml"):
        configcheck.check_configfiles([path])


# ----------------------------------------------------------------------------- JSON


def test_json_depth_bound():
    def doc(depth):
        return "[" * depth + "]" * depth

    bounded.load_json(doc(bounded.MAX_JSON_DEPTH), "ok.json")
    with pytest.raises(InputError, match="deep.json"):
        bounded.load_json(doc(bounded.MAX_JSON_DEPTH + 1), "deep.json")
    with pytest.raises(InputError):
        bounded.load_json("[" * 100_000, "open.json")  # never reaches the recursive parser
    assert bounded.load_json('["[[[[", {"a": "]]"}]', "s.json") == ["[[[[", {"a": "]]"}]  # brackets in strings


def test_json_number_size_bound():
    ok = "1" * bounded.MAX_NUMBER_CHARS
    assert bounded.load_json(f"[{ok}]", "n.json") == [int(ok)]
    with pytest.raises(InputError, match="characters"):
        bounded.load_json(f"[{ok}1]", "n.json")
    with pytest.raises(InputError, match="float64"):
        bounded.load_json("[1e999]", "n.json")


def test_naslib_reader_uses_the_bounds(tmp_path):
    from intrain.interop.naslib_zc import read_zc

    path = tmp_path / "zc.json"
    path.write_text('{"cifar10": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(IntrainError, match="zc.json"):
        read_zc(path, "nb201", "cifar10")


# ----------------------------------------------------------------------------- pickle: bounded while loading
# A pickle is refused *while* it loads, before anything hashes what it built: CPython does not
# cache tuple hashes (t = (t, t) a hundred times costs 2^100 to hash) and hashes nested tuples
# recursively in C (300,000 levels overflow the stack). Only strings, bytes, numbers and None are
# dict keys and set members; every opcode is counted.

_P4 = b"\x80\x04"
_BOMB = b")" + b"\x32\x86" * 100  # EMPTY_TUPLE, then (DUP, TUPLE2) x100: t = (t, t)
_DEEP = b")" + b"\x85" * 300_000  # a tuple nested 300,000 deep
# the attacker's shapes: as a set member (ADDITEMS, FROZENSET, set(...) and frozenset(...) through
# REDUCE), as a dict key (SETITEM, SETITEMS, DICT, OrderedDict(...) through REDUCE)
_KEY_SHAPES = {
    "additems": b"\x8f(" + _BOMB + b"\x90.",
    "setitem": b"}" + _BOMB + b"Ns.",
    "setitems": b"}(" + _BOMB + b"N" + b"u.",
    "dict": b"(" + _BOMB + b"Nd.",
    "frozenset": b"(" + _DEEP + b"\x91.",
    "deep-dictkey": b"}" + _DEEP + b"Ns.",
    "set-reduce": b"c__builtin__\nset\n(" + _BOMB + b"\x85t" + b"R.",
    "frozenset-reduce": b"cbuiltins\nfrozenset\n(" + _DEEP + b"\x85t" + b"R.",
    "ordereddict-reduce": b"ccollections\nOrderedDict\n]" + _BOMB + b"N\x86a\x85R.",
}


def test_hash_bombs_and_deep_keys_are_refused_while_loading():
    """The reproducers' shapes, each in a child with a generous timeout (a regression hangs or crashes)."""
    import subprocess
    import sys

    script = (
        "import io, sys\n"
        "from intrain.core import safepickle\n"
        "from intrain.core.errors import UnsafeInputError\n"
        "data = sys.stdin.buffer.read()\n"
        "try:\n"
        "    safepickle.load(io.BytesIO(data), name='bomb.p')\n"
        "except UnsafeInputError as e:\n"
        "    print(e)\n"
    )
    for case, body in _KEY_SHAPES.items():
        out = subprocess.run(
            [sys.executable, "-c", script], input=_P4 + body, capture_output=True, timeout=120, check=False
        )
        assert out.returncode == 0, (case, out.returncode, out.stderr[-500:])
        assert b"bomb.p: refused: a tuple as a" in out.stdout, (case, out.stdout[:300])
        assert b"dict keys and set members" in out.stdout


@pytest.mark.parametrize("shape", ["dict", "setitems", "set", "frozenset", "set-reduce"])
def test_key_and_member_types_at_the_bound(shape):
    ok = ["a", b"b", 1.5, None, True, safepickle.MAX_KEY_INT, -safepickle.MAX_KEY_INT]
    over = [safepickle.MAX_KEY_INT + 1, ("a",), frozenset({"a"})]

    def build(items):
        if shape == "dict":
            return pickle.dumps({k: 0 for k in items}, protocol=4)
        if shape == "setitems":
            return pickle.dumps({k: 0 for k in items}, protocol=0)
        if shape == "set":
            return pickle.dumps(set(items), protocol=4)
        if shape == "frozenset":
            return pickle.dumps(frozenset(items), protocol=4)
        return pickle.dumps(set(items), protocol=2)  # set([...]) through REDUCE

    out = _load(build(ok))
    assert (set(out) if isinstance(out, dict) else out) == set(ok)
    for bad in over:
        with pytest.raises(UnsafeInputError, match="t.pkl: refused: .*(tuple|frozenset|integer beyond)"):
            _load(build(["a", bad]))


def test_load_operation_bound(monkeypatch):
    import pickletools

    data = pickle.dumps([1, 2, 3], protocol=4)
    ops = sum(1 for _ in pickletools.genops(data))
    monkeypatch.setattr(safepickle, "MAX_LOAD_OPS", ops)
    assert _load(data) == [1, 2, 3]
    monkeypatch.setattr(safepickle, "MAX_LOAD_OPS", ops - 1)
    with pytest.raises(UnsafeInputError, match="pickle operations"):
        _load(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04\x8c\x05numpy\x8c\x07ndarray\x93K\x05\x85R.",  # numpy.ndarray(5): uninitialised, any size
        b"\x80\x04}}b.",  # BUILD on a dict
        b"\x80\x04\x8f]a.",  # APPEND on a set
        b"\x80\x04]K\x01K\x02s.",  # SETITEM on a list
    ],
)
def test_constructors_and_mutations_outside_plain_data_are_refused(data):
    with pytest.raises(UnsafeInputError, match="t.pkl: refused"):
        _load(data)


def test_text_memo_index_bound():
    assert _load(b"(lp4294967295\nI1\na.") == [1]
    with pytest.raises(InputError, match="PUT"):
        _load(b"(lp4294967296\nI1\na.")


# ----------------------------------------------------------------------------- JSON: linear scan


def _reference_depth(data: bytes) -> int:
    """A byte-at-a-time reading of the same rule (a quote is real after an even run of backslashes)."""
    depth = deepest = run = 0
    inside = False
    for c in data:
        if c == ord('"') and run % 2 == 0:
            inside = not inside
        elif not inside and c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif not inside and c in b"]}":
            depth -= 1
        run = run + 1 if c == ord("\\") else 0
    return deepest


def test_json_depth_scan_agrees_across_block_boundaries():
    rng = np.random.default_rng(0)
    alphabet = np.frombuffer(b'[]{}"\\\\\\ax', np.uint8)
    for _ in range(500):
        data = rng.choice(alphabet, rng.integers(0, 40)).tobytes()
        expected = _reference_depth(data)
        for chunk in (1, 2, 3, 7, bounded.SCAN_CHUNK):
            assert bounded.json_depth(data, chunk) == expected, (data, chunk)
    assert bounded.json_depth(b'[["\\\\"], "\\"[", [[[]]]]', 3) == 4


def test_json_escaped_quotes_scan_is_linear():
    """``"`` + ``\\"`` x 1M (2 MB) made the old regex rescan from every quote (about 40 minutes
    per MB); the block scan's work is linear by construction. Run in a child with a generous
    timeout, so a regression fails instead of hanging."""
    import subprocess
    import sys

    script = (
        "from intrain.core import bounded\n"
        "from intrain.core.errors import InputError\n"
        "data = b'[' * 10 + b'\"' + b'\\\\\"' * 1_000_000 + b'\"' + b']' * 10\n"
        "assert bounded.json_depth(data) == 10\n"
        "assert bounded.json_depth(data[10:]) == 0\n"
        "try:\n"
        "    bounded.load_json(data[10:-10] + b'[[', 'redos.json')\n"
        "except InputError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.startswith(b"redos.json: not valid JSON")


def test_json_depth_memory_does_not_grow_with_the_input():
    import tracemalloc

    peaks = []
    for size in (4, 16):
        data = (b'"' + b'\\"' * (size << 19) + b'"')[: size << 20]
        tracemalloc.start()
        bounded.json_depth(data)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert max(peaks) < 64 * bounded.SCAN_CHUNK and peaks[1] < 2 * peaks[0]


# ----------------------------------------------------------------------------- bounded messages from readers


def test_zc_messages_quote_keys_and_entries_bounded(tmp_path):
    from intrain.interop.naslib_zc import read_zc

    path = tmp_path / "zc.json"
    path.write_text('{"cifar10": {"(' + "9, " * 100_000 + '0)": {"nwot": {"score": 1.0}}}}')
    with pytest.raises(InputError, match="zc.json: cifar10 / ") as e:
        read_zc(path, "nb201", "cifar10")
    assert len(str(e.value)) < 600
    path.write_text('{"cifar10": {"(4, 0, 3, 1, 4, 3)": {"' + "z" * 100_000 + '": ["' + "x" * 100_000 + '"]}}}')
    with pytest.raises(InputError, match=r"zc.json: cifar10 / \(4, 0, 3, 1, 4, 3\) / 'zzz.*expected") as e:
        read_zc(path, "nb201", "cifar10")
    assert len(str(e.value)) < 600
    with pytest.raises(InputError, match="no dataset") as e:
        read_zc(path, "nb201", "x" * 100_000)
    assert len(str(e.value)) < 600


def test_pickled_record_messages_name_record_and_field_bounded(tmp_path):
    from intrain.interop.zero_cost_nas import read_stream

    arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    path = tmp_path / "nb2.p"
    path.write_bytes(pickle.dumps({"i": 2**70, "arch": arch, "logmeasures": {"snip": 1.0}}, protocol=4))
    with pytest.raises(InputError, match="nb2.p: record 0 / i: expected an integer architecture id"):
        read_stream(path, "nb201", "cifar10")
    path.write_bytes(pickle.dumps({"i": 1, "arch": arch, "logmeasures": {"z" * 100_000: "x" * 100_000}}))
    with pytest.raises(InputError, match="nb2.p: record 0 / 'zzz") as e:
        read_stream(path, "nb201", "cifar10")
    assert len(str(e.value)) < 600
    path.write_bytes(pickle.dumps({"i": 1, "arch": arch, "logmeasures": {b"snip": 1.0}}))
    with pytest.raises(InputError, match="record 0 / logmeasures: a measure named b'snip', not a string"):
        read_stream(path, "nb201", "cifar10")
