"""Artifacts written by earlier versions: no checksum user block, no recorded population rule."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd

from intrain.core.artifacts import read_population_rules, read_scores, write_shard
from intrain.core.ranking import BUILTIN_RULES, add_population_scores

from .helpers import ladder


def _with_tenas(records):
    for k, r in enumerate(records):
        r.proxies["tenas"] = {"ntk_cond": float(10 - k), "linear_regions": float(k % 3)}
    return records


def _write(path, records, population: bool):
    meta = {
        "tenas": {
            "components": ["ntk_cond", "linear_regions"],
            **({"population": BUILTIN_RULES["tenas"].to_json()} if population else {}),
        }
    }
    write_shard(
        path,
        records,
        {
            "space": "nb201",
            "dataset": "cifar10",
            "shard": 0,
            "n_shards": 1,
            "config_hash": "h",
            "settings": {},
            "seed": 0,
            "batch_size": 8,
            "resolution": 32,
            "device": "cpu",
        },
        meta,
    )


def _unsealed_copy(src, dest):
    """The same HDF5 content without the 512-byte checksum block (the layout before sealing)."""
    with h5py.File(src, "r") as a, h5py.File(dest, "w", track_order=True) as b:
        for k, v in a.attrs.items():
            b.attrs[k] = v
        for name in a:
            a.copy(a[name], b, name=name)


def test_an_unsealed_artifact_without_population_rules_reads_the_same(tmp_path):
    records = _with_tenas(ladder(6, np.random.default_rng(0)))
    new = tmp_path / "new.h5"
    _write(new, records, population=True)
    old = tmp_path / "old.h5"
    _write(tmp_path / "plain.h5", records, population=False)
    _unsealed_copy(tmp_path / "plain.h5", old)
    assert old.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n" and new.read_bytes()[:8] != b"\x89HDF\r\n\x1a\n"
    assert read_population_rules(new) == {"tenas": BUILTIN_RULES["tenas"]}
    assert read_population_rules(old) == {}
    a = add_population_scores(read_scores(new), read_population_rules(new))
    b = add_population_scores(read_scores(old), read_population_rules(old))  # falls back to the built-in rule
    pd.testing.assert_frame_equal(a, b)
    assert a["tenas"].notna().all()
