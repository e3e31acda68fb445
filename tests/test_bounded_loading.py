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
