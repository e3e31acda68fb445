"""Artifacts and search logs are self-contained: every reader refuses, before reading any dataset,
what points outside the file (external storage, external/soft links, virtual datasets), declared
sizes the file cannot hold, and object/compound dtypes (intrain.core.h5safety)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from intrain.core import h5safety, sealed
from intrain.core.artifacts import merge_shards, read_attrs, read_layers, read_scores
from intrain.core.errors import IntrainError
from intrain.core.h5safety import UnsafeHDF5Error

from .helpers import fake_artifact, ladder

SENTINEL = b"OUTSIDE-SENTINEL-7f3a"


def _reseal(path: Path) -> None:
    """Recompute the checksum, as an attacker would: the file is then 'validly sealed'."""
    path.write_bytes(sealed.seal(path.read_bytes()))


def _outside(tmp: Path) -> Path:
    out = tmp / "outside.bin"
    out.write_bytes(SENTINEL * 64)
    return out


def _swap_score(f: h5py.File, make) -> None:
    n = f["arch/index"].shape[0]
    del f["proxy/intrain/score"]
    make(f["proxy/intrain"], "score", n)


def _external_storage(tmp):
    out = _outside(tmp)
    return lambda g, name, n: g.create_dataset(name, shape=(n,), dtype="f8", external=[(str(out), 0, n * 8)])


def _external_link(tmp):
    out = tmp / "outside.h5"
    with h5py.File(out, "w") as o:
        o["x"] = np.frombuffer(SENTINEL * 8, dtype="f8")[:12]
    return lambda g, name, n: g.__setitem__(name, h5py.ExternalLink(str(out), "/x"))


def _soft_link(tmp):
    return lambda g, name, n: g.__setitem__(name, h5py.SoftLink("/arch/seconds"))


def _virtual(tmp):
    out = tmp / "outside_v.h5"
    with h5py.File(out, "w") as o:
        o["x"] = np.frombuffer(SENTINEL * 8, dtype="f8")[:12]

    def make(g, name, n):
        layout = h5py.VirtualLayout(shape=(n,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(out), "x", shape=(12,))[:n]
        g.create_virtual_dataset(name, layout, fillvalue=0)

    return make


def _huge(tmp):
    return lambda g, name, n: g.create_dataset(
        name, shape=(1 << 40,), dtype="f8", chunks=(1 << 16,), compression="gzip"
    )


def _compound(tmp):
    dt = np.dtype([("a", "f8"), ("b", "i4")])
    return lambda g, name, n: g.create_dataset(name, data=np.zeros(n, dt))


def _reference(tmp):
    return lambda g, name, n: g.create_dataset(name, shape=(n,), dtype=h5py.ref_dtype)


ATTACKS = {
    "external-storage": _external_storage,
    "external-link": _external_link,
    "soft-link": _soft_link,
    "virtual": _virtual,
    "huge-compressed": _huge,
    "compound": _compound,
    "reference": _reference,
}
NEEDLE = {
    "external-storage": "external file",
    "external-link": "external link",
    "soft-link": "soft link",
    "virtual": "virtual dataset",
    "huge-compressed": "declares",
    "compound": "dtype",
    "reference": "dtype",
}


@pytest.fixture
def crafted(tmp_path):
    def build(kind: str) -> Path:
        path = fake_artifact(tmp_path / f"{kind}.h5", ladder(5, np.random.default_rng(0)))
        with h5py.File(path, "a") as f:
            _swap_score(f, ATTACKS[kind](tmp_path))
        _reseal(path)
        return path

    return build


def _readers(tmp_path):
    from intrain.analysis.inspection import inspect_artifact
    from intrain.interop.export import export

    return {
        "read_scores": read_scores,
        "read_attrs": read_attrs,
        "read_layers": read_layers,
        "inspect": inspect_artifact,
        "merge": lambda p: merge_shards([p], tmp_path / "merged.h5"),
        "export": lambda p: export([str(p)], "csv", tmp_path / "out.csv"),
    }


@pytest.mark.parametrize("kind", sorted(ATTACKS))
def test_every_reader_refuses_naming_file_and_object(crafted, tmp_path, kind):
    path = crafted(kind)
    for name, reader in _readers(tmp_path).items():
        with pytest.raises(UnsafeHDF5Error) as e:
            reader(path)
        assert str(path) in str(e.value) and "/proxy/intrain/score" in str(e.value), (name, e.value)
        assert NEEDLE[kind] in str(e.value), (name, e.value)
    assert not (tmp_path / "merged.h5").exists() and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("kind", ["external-storage", "external-link", "virtual"])
def test_refusal_does_not_read_the_outside_file(crafted, tmp_path, kind):
    path = crafted(kind)
    for outside in tmp_path.glob("outside*"):
        outside.unlink()  # reading it would now fail differently (OSError), not as a clean refusal
    with pytest.raises(UnsafeHDF5Error):
        read_scores(path)


def test_merge_never_copies_outside_bytes(crafted, tmp_path):
    good = fake_artifact(tmp_path / "good.h5", ladder(3, np.random.default_rng(1)))
    bad = crafted("external-storage")
    with pytest.raises(IntrainError):
        merge_shards([good, bad], tmp_path / "m.h5")
    for p in tmp_path.rglob("*"):
        if p.is_file() and not p.name.startswith("outside"):
            assert SENTINEL not in p.read_bytes(), p


@pytest.mark.parametrize("alias", ["cycle", "dataset"])
def test_hard_link_aliases_and_cycles_are_refused(tmp_path, alias):
    """Found by the fuzzer: merge copied an aliased dataset under its other name and wrote a file
    its own reader refused. Every object has one name."""
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(2)))
    with h5py.File(path, "a") as f:
        if alias == "cycle":
            f["arch/loop"] = f["arch"]  # a hard-link cycle: the walk must terminate
        else:
            f["zz/copy"] = f["proxy/intrain/score"]
    _reseal(path)
    with pytest.raises(UnsafeHDF5Error, match="second link"):
        merge_shards([path], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()


def test_size_bound_at_the_limit(tmp_path):
    """Unfiltered: declared bytes up to file size + SLACK_BYTES pass; one element more is refused."""
    path = tmp_path / "bound.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=(1,), dtype="u1")
    size = path.stat().st_size
    limit = size + h5safety.SLACK_BYTES
    for n, ok in ((limit, True), (limit + 1, False)):
        with h5py.File(path, "a") as f:
            del f["x"]
            f.create_dataset("x", shape=(n,), dtype="u1")  # storage not allocated: the file does not grow
        assert path.stat().st_size == size
        with h5py.File(path, "r") as f:
            if ok:
                h5safety.check_self_contained(f, path)
            else:
                with pytest.raises(UnsafeHDF5Error, match="declares"):
                    h5safety.check_self_contained(f, path)


def test_a_120kb_file_declaring_a_huge_dataset_is_refused_fast(tmp_path):
    path = fake_artifact(tmp_path / "big.h5", ladder(5, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        f.create_dataset("arch/cost_big", shape=(10**15,), dtype="f8", chunks=(1 << 20,), compression="gzip")
        f.create_dataset("pad", data=np.frombuffer(np.random.default_rng(0).bytes(100_000), "u1"))
    _reseal(path)
    assert path.stat().st_size < 200_000
    with pytest.raises(UnsafeHDF5Error, match="cost_big"):
        read_scores(path)


def test_search_log_resume_refuses_outside_data(tmp_path):
    from intrain.core.search_log import SearchLog, read_log

    path = tmp_path / "log.h5"
    log = SearchLog(path, {"seed": 0}, [])
    log.append([{"iteration": 0, "arch": "a", "score": 1.0, "new": 1}])
    _, rows = read_log(path)
    assert len(rows) == 1
    out = _outside(tmp_path)
    with h5py.File(path, "a") as f:
        del f["score"]
        f.create_dataset("score", shape=(1,), dtype="f8", external=[(str(out), 0, 8)])
    _reseal(path)
    out.unlink()
    with pytest.raises(UnsafeHDF5Error, match="external file"):
        log.load()


def test_real_artifacts_still_read(tmp_path):
    path = fake_artifact(tmp_path / "ok.h5", ladder(4, np.random.default_rng(0)))
    assert len(read_scores(path)) == 4
    merge_shards([path], tmp_path / "m.h5")
    assert len(read_scores(tmp_path / "m.h5")) == 4
    assert os.path.getsize(tmp_path / "m.h5") > 0


def test_json_in_attributes_is_parsed_with_bounds(tmp_path):
    """Deeply nested JSON in an artifact's attributes (settings, a population rule) or a search log's
    meta is refused in words or shown raw, never a RecursionError traceback."""
    from intrain.analysis.correlate import _settings_of
    from intrain.analysis.inspection import inspect_artifact
    from intrain.core.artifacts import ArtifactError, read_population_rules
    from intrain.core.search_log import SearchLog, SearchLogError, read_log

    deep = "{" + '"a": [' * 5000 + "]" * 5000 + "}"
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        f.attrs["settings"] = deep
        f["proxy/intrain"].attrs["population"] = deep
    _reseal(path)
    assert "settings: {" in inspect_artifact(str(path))
    assert _settings_of({"settings": deep}) == {}
    with pytest.raises(ArtifactError, match="population rule"):
        read_population_rules(path)
    log = tmp_path / "log.h5"
    SearchLog(log, {"seed": 0}, []).append([{"iteration": 0, "arch": "a", "score": 1.0, "new": 1}])
    with h5py.File(log, "a") as f:
        f.attrs["meta"] = deep
    _reseal(log)
    with pytest.raises(SearchLogError, match="meta is not JSON"):
        read_log(log)


@pytest.mark.parametrize("where", ["arch", "proxy"])
def test_a_link_name_that_is_not_utf8_is_refused_in_words(tmp_path, where):
    """h5py hands such names back as bytes; the walk refuses them naming file and group (finding 9)."""
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        f[where].create_group(b"\xff\xfe")
    _reseal(path)
    for reader in _readers(tmp_path).values():
        with pytest.raises(UnsafeHDF5Error, match=rf"a\.h5: /{where} holds a link whose name .* is not UTF-8"):
            reader(path)


def test_an_array_of_strings_as_attribute_is_refused(tmp_path):
    """Variable-length strings of an attribute array can all point at one shared heap object: a few MB
    of file expand to gigabytes when read (finding 6). intrain writes one string per attribute."""
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        f["proxy/intrain"].attrs.create("input", ["x" * 10] * 1000, dtype=h5py.string_dtype())
    _reseal(path)
    for reader in _readers(tmp_path).values():
        with pytest.raises(UnsafeHDF5Error, match=r"attribute 'input' of /proxy/intrain is an array of strings"):
            reader(path)


def test_unwritten_chunks_are_refused(tmp_path):
    """A chunked gzip dataset with no chunks written reads as gigabytes of fill values from a small
    file; the bound is what is stored, and intrain writes every chunk (finding 7)."""
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        n = f["arch/index"].shape[0]
        del f["proxy/intrain/score"]
        ds = f["proxy/intrain"].create_dataset("score", shape=(n,), dtype="f8", chunks=(1,), compression="gzip")
        ds[0] = 1.0  # one chunk of three written
    _reseal(path)
    for reader in _readers(tmp_path).values():
        with pytest.raises(UnsafeHDF5Error, match=r"/proxy/intrain/score has 1 of its 3 chunks written"):
            reader(path)


def test_chunked_declared_size_is_bounded_by_stored_bytes(tmp_path, monkeypatch):
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    monkeypatch.setattr(h5safety, "SLACK_BYTES", 0)
    monkeypatch.setattr(h5safety, "MAX_EXPANSION", 1)  # the real artifact compresses: now over the bound
    with pytest.raises(UnsafeHDF5Error, match=r"stored \(limit"):
        read_scores(path)


def test_shared_heap_strings_are_read_in_small_blocks(tmp_path, monkeypatch):
    """Variable-length strings may all be one heap object as large as the file: blocks are sized so that
    block x file size stays under STRING_BLOCK_BYTES, and the total is bounded (finding 6)."""
    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    blocks = []
    with h5py.File(path, "a") as f:
        del f["layer/name_table"]
        f["layer"].create_dataset("name_table", data=["x" * 1000] * 50, dtype=h5py.string_dtype())
    _reseal(path)
    size = path.stat().st_size
    monkeypatch.setattr(h5safety, "STRING_BLOCK_BYTES", 7 * size)
    real = h5py.Dataset.__getitem__

    def spy(self, key):
        if self.name == "/layer/name_table" and isinstance(key, slice):
            blocks.append(key.stop - key.start)
        return real(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    assert len(read_layers(path)) > 0
    assert blocks and max(blocks) == 7
    for reader in (read_layers, lambda p: merge_shards([p], tmp_path / "m.h5")):
        monkeypatch.setattr(h5safety, "MAX_STRING_BYTES", 20_000)
        with pytest.raises(UnsafeHDF5Error, match=r"/layer/name_table holds more than 20,000 characters"):
            reader(path)


def test_running_out_of_memory_is_a_worded_refusal(tmp_path, monkeypatch):
    from intrain.core import artifacts

    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))

    def exhausted(*_):
        raise MemoryError

    monkeypatch.setattr(artifacts, "_read_scores", exhausted)
    with pytest.raises(artifacts.ArtifactError, match=r"a\.h5: reading it needs more memory"):
        read_scores(path)
    monkeypatch.setattr(artifacts, "_load_all", exhausted)
    with pytest.raises(artifacts.ArtifactError, match=r"a\.h5: reading it needs more memory"):
        merge_shards([path], tmp_path / "m.h5")
