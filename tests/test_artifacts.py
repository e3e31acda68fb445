"""HDF5 artifacts: round trip, merge, atomicity, corrupt and mismatched shards."""

import os

import h5py
import numpy as np
import pandas as pd
import pytest

from intrain.core.artifacts import (
    ArtifactError,
    merge_shards,
    read_attrs,
    read_layers,
    read_params,
    read_scores,
    write_shard,
)
from intrain.core.records import ScoreSettings
from intrain.core.trainability import intrain_from_stats
from intrain.scoring.scorer import Scorer

ARCHS = {
    3: "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    5: "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|skip_connect~2|",
    9: "|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    11: "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
}


@pytest.fixture(scope="module")
def records():
    s = Scorer("nb201", "ImageNet16-120", ScoreSettings(batch_size=8), "cpu")
    return {i: s.score(i, a) for i, a in ARCHS.items()}


def attrs(h="abc", shard=0):
    return {
        "space": "nb201",
        "dataset": "ImageNet16-120",
        "shard": shard,
        "n_shards": 2,
        "config_hash": h,
        "settings": {"batch_size": 8},
        "seed": 0,
        "batch_size": 8,
        "resolution": 16,
        "device": "cpu",
    }


def test_round_trip_keeps_every_statistic(tmp_path, records):
    path = tmp_path / "s.h5"
    write_shard(path, [records[5], records[3]], attrs())
    df = read_scores(path)
    assert df["arch_index"].tolist() == [3, 5]  # sorted by index
    assert df["intrain"].tolist() == [records[3].proxies["intrain"]["score"], records[5].proxies["intrain"]["score"]]
    layers = read_layers(path, 5)
    np.testing.assert_array_equal(layers["trace"], records[5].probe.layer_stats[:, 0])
    assert layers["name"].tolist() == records[5].probe.layer_names
    assert layers[["channels", "height", "width"]].to_numpy().tolist() == records[5].probe.layer_shapes.tolist()
    params = read_params(path, 3)
    np.testing.assert_array_equal(params["maxabs"], records[3].probe.param_stats[:, 1])
    a = read_attrs(path)
    assert a["schema"] == "intrain.scores" and a["config_hash"] == "abc" and a["torch_version"]


def test_score_recomputed_from_stored_statistics(tmp_path, records):
    path = tmp_path / "s.h5"
    write_shard(path, list(records.values()), attrs())
    df = read_scores(path)
    layers, params = read_layers(path), read_params(path)
    for idx in ARCHS:
        l, p = layers[layers.arch_index == idx], params[params.arch_index == idx]
        again = intrain_from_stats(
            l.trace.to_numpy(), l.trace_sq.to_numpy(), l.dim.to_numpy(), p["std"].to_numpy(), p["maxabs"].to_numpy()
        )
        assert again["score"] == df.loc[df.arch_index == idx, "intrain"].item()


def test_merge_reorders_and_expands_members(tmp_path, records):
    write_shard(tmp_path / "a.h5", [records[9], records[3]], attrs(shard=0))
    write_shard(tmp_path / "b.h5", [records[5], records[11]], attrs(shard=1))
    members = pd.DataFrame(
        {"arch_index": [3, 4, 5, 9, 11], "arch": ["x3", "x4", "x5", "x9", "x11"], "representative": [3, 3, 5, 9, 11]}
    )
    merge_shards([tmp_path / "a.h5", tmp_path / "b.h5"], tmp_path / "m.h5", members=members, expected_hash="abc")
    df = read_scores(tmp_path / "m.h5")
    assert df["arch_index"].tolist() == [3, 4, 5, 9, 11]
    assert df.loc[df.arch_index == 4, "intrain"].item() == df.loc[df.arch_index == 3, "intrain"].item()
    for idx in ARCHS:  # ragged rows follow their architecture through the reorder
        np.testing.assert_array_equal(
            read_layers(tmp_path / "m.h5", idx)["pr"],
            read_layers(tmp_path / ("a.h5" if idx in (3, 9) else "b.h5"), idx)["pr"],
        )
    assert read_layers(tmp_path / "m.h5", 4)["arch_index"].unique().tolist() == [3]
    assert len(read_scores(tmp_path / "m.h5", expand=False)) == 4


def test_merge_refuses_other_configs_and_missing_representatives(tmp_path, records):
    write_shard(tmp_path / "a.h5", [records[3]], attrs("abc"))
    write_shard(tmp_path / "b.h5", [records[5]], attrs("zzz", shard=1))
    with pytest.raises(ArtifactError, match="b.h5.*config hash"):
        merge_shards([tmp_path / "a.h5", tmp_path / "b.h5"], tmp_path / "m.h5")
    with pytest.raises(ArtifactError, match="a.h5: written under config hash abc, expected other"):
        merge_shards([tmp_path / "a.h5"], tmp_path / "m.h5", expected_hash="other")
    members = pd.DataFrame({"arch_index": [3, 7], "arch": ["a", "b"], "representative": [3, 7]})
    with pytest.raises(ArtifactError, match="not scored"):
        merge_shards([tmp_path / "a.h5"], tmp_path / "m.h5", members=members)
    assert not (tmp_path / "m.h5").exists()


def test_truncated_and_foreign_files_are_named(tmp_path, records):
    good = tmp_path / "good.h5"
    write_shard(good, [records[3]], attrs())
    data = good.read_bytes()
    bad = tmp_path / "bad.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="bad.h5: corrupt or truncated"):
        merge_shards([good, bad], tmp_path / "m.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(ArtifactError, match="foreign.h5: not an intrain score artifact"):
        read_scores(tmp_path / "foreign.h5")
    with pytest.raises(ArtifactError, match="no such artifact"):
        read_scores(tmp_path / "missing.h5")


def test_failed_write_leaves_nothing(tmp_path, records):
    class Boom(Exception):
        pass

    class Exploding(dict):
        def items(self):
            raise Boom

    with pytest.raises(Boom):
        write_shard(tmp_path / "s.h5", [records[3]], attrs(), proxy_meta={"intrain": Exploding(version=1)})
    assert os.listdir(tmp_path) == []


def test_files_are_byte_reproducible(tmp_path, records):
    write_shard(tmp_path / "a.h5", [records[3], records[5]], attrs())
    write_shard(tmp_path / "b.h5", [records[3], records[5]], attrs())
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_files_without_pass_seconds_still_read(tmp_path, records):
    path = tmp_path / "old.h5"
    write_shard(path, [records[3]], attrs())
    with h5py.File(path, "a") as f:
        del f["arch/pass_seconds"]
    from intrain.core.sealed import seal

    path.write_bytes(seal(path.read_bytes()))  # edited in place: its checksum is renewed
    df = read_scores(path)
    assert np.isnan(df["pass_seconds"]).all() and df["intrain"].notna().all()


def _tampered(tmp_path, change, n=4):
    """A fake artifact changed by ``change(f)`` and resealed, as an attacker would."""
    from intrain.core import sealed

    from .helpers import fake_artifact, ladder

    path = fake_artifact(tmp_path / "t.h5", ladder(n, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        change(f)
    path.write_bytes(sealed.seal(path.read_bytes()))
    return path


def _replace(f, name, values, dtype=None):
    del f[name]
    f.create_dataset(name, data=values, dtype=dtype)


def test_duplicate_architecture_ids_are_refused_naming_file_and_id(tmp_path):
    """A repeated /arch/index would count one architecture twice in every τ (attack finding 5)."""

    def dup(f):
        idx = f["arch/index"][()]
        idx[1] = idx[0]
        _replace(f, "arch/index", idx)

    path = _tampered(tmp_path, dup)
    with pytest.raises(ArtifactError, match=r"t\.h5: /arch/index lists architecture 0 more than once"):
        read_scores(path)


def test_duplicate_member_ids_are_refused(tmp_path):
    def dup(f):
        idx = f["arch/index"][()]
        m = f.create_group("members")
        m["index"] = np.concatenate([idx, idx[:1]])
        m.create_dataset("arch", data=[str(i) for i in np.concatenate([idx, idx[:1]])], dtype=h5py.string_dtype())
        m["representative"] = np.concatenate([idx, idx[:1]])

    path = _tampered(tmp_path, dup)
    with pytest.raises(ArtifactError, match=r"t\.h5: /members/index lists architecture 0 more than once"):
        read_scores(path)


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
def test_score_datasets_must_be_float32_or_float64(tmp_path, dtype):
    if np.dtype(dtype).itemsize == 8:
        pytest.skip("long double is float64 on this platform")
    path = _tampered(tmp_path, lambda f: _replace(f, "proxy/intrain/score", f["proxy/intrain/score"][()], dtype))
    with pytest.raises(ArtifactError, match=r"/proxy/intrain/score must hold float32 or float64"):
        read_scores(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.attrs.__delitem__("space"), "attribute 'space' is missing"),
        (lambda f: f.attrs.__delitem__("dataset"), "attribute 'dataset' is missing"),
        (lambda f: f.attrs.__setitem__("space", 5), "attribute 'space' of / must be one string"),
        (lambda f: f.attrs.__setitem__("dataset", np.array([1, 2])), "attribute 'dataset' of / must be one string"),
        (lambda f: f.attrs.__setitem__("settings", '{"protocol": 5}'), "'settings' has protocol '5'"),
        (lambda f: f.attrs.__setitem__("settings", '{"layers": ["a"]}'), "'settings' has layers"),
        (
            lambda f: f["proxy/intrain"].attrs.__setitem__("input", np.array([b"a", b"b"])),
            "attribute 'input' of /proxy/intrain is an array of strings",
        ),
    ],
)
def test_missing_or_mistyped_attributes_are_refused_in_words(tmp_path, change, message):
    """Every reader gets the same worded refusal from the layout check, not a KeyError or TypeError (finding 9)."""
    from intrain.core.errors import IntrainError

    path = _tampered(tmp_path, change)
    for reader in (read_scores, read_attrs, read_layers):
        with pytest.raises(IntrainError, match=message) as e:
            reader(path)
        assert str(path) in str(e.value)
