"""Hand-made artifacts with known values, for tests of the aggregation code."""

from __future__ import annotations

import numpy as np

from intrain.core.artifacts import write_shard
from intrain.core.records import ArchRecord
from intrain.core.trainability import intrain_from_stats
from intrain.engine.probe import ProbeResult


def fake_record(
    index: int,
    layer_stats: list[tuple[float, float, float]],
    param_stats: list[tuple[float, float]],
    seconds: float = 0.1,
) -> ArchRecord:
    ls = np.asarray(layer_stats, dtype=np.float64)
    ps = np.asarray(param_stats, dtype=np.float64)
    probe = ProbeResult(
        layer_names=[f"l{i}" for i in range(len(ls))],
        layer_kinds=["Conv2d"] * len(ls),
        layer_shapes=np.tile([[int(ls[0, 2]), 1, 1]], (len(ls), 1)).astype(np.int32),
        layer_stats=ls,
        param_names=[f"p{i}" for i in range(len(ps))],
        param_kinds=["Conv2d"] * len(ps),
        param_numel=np.full(len(ps), 9, np.int64),
        param_stats=ps,
        loss=1.0,
        extras={"pass_seconds": seconds / 2},
    )
    values = {"intrain": intrain_from_stats(ls[:, 0], ls[:, 1], ls[:, 2], ps[:, 0], ps[:, 1])}
    return ArchRecord(index, f"arch{index}", probe, values, seconds)


def fake_artifact(path, records, dataset="cifar10", batch_size=64, seed=0, config_hash="h"):
    write_shard(
        path,
        records,
        {
            "space": "nb201",
            "dataset": dataset,
            "shard": 0,
            "n_shards": 1,
            "config_hash": config_hash,
            "settings": {},
            "seed": seed,
            "batch_size": batch_size,
            "resolution": 32,
            "device": "cpu",
        },
    )
    return path


def ladder(n: int, rng: np.random.Generator) -> list[ArchRecord]:
    """n records whose InTrain score grows with the index (more dimensions per layer)."""
    out = []
    for i in range(n):
        d = 2.0 + i
        layers = [(d, d * d / (1.0 + i * 0.5), 16.0), (d, d, 16.0)]
        params = [(0.1 + 0.01 * i, 1.0), (0.2, 1.0)]
        out.append(fake_record(i, layers, params, seconds=0.01 * (i + 1)))
    return out


def kill_after_logged(proc, log, at_least: int, timeout: float) -> int:
    """SIGKILL ``proc``'s process group once its search log records ``at_least`` finished
    iterations (or at ``timeout``); returns how many it had recorded."""
    import os
    import signal
    import time

    import h5py

    done, deadline = 0, time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with h5py.File(log, "r") as f:
                done = int(f.attrs.get("n_done", 0))
        except (OSError, KeyError):
            done = 0
        if done >= at_least:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return done


def browser_or_skip() -> None:
    """Skip a test that needs headless Chromium where none is installed, except in CI, which must
    have it (scripts/setup.sh installs Debian's chromium)."""
    import os

    import pytest

    from intrain.analysis.render import find_browser

    if find_browser() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (scripts/setup.sh installs Debian's chromium)")
        pytest.skip("no Chromium here; scripts/setup.sh installs it")
