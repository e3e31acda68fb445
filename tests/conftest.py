"""Shared fixtures. Benchmark files come from the mirror (INTRAIN_MIRROR or ../shared/benchmarks),
never from the repository."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mirror_dir() -> Path:
    env = os.environ.get("INTRAIN_MIRROR")
    return Path(env) if env else REPO.parent / "shared" / "benchmarks"


@pytest.fixture(scope="session")
def mirror() -> Path:
    path = mirror_dir()
    if not (path / "nb201" / "nats_tss_200ep_test_acc.csv").exists():
        pytest.fail(f"benchmark mirror not found at {path}; set INTRAIN_MIRROR to the shared/benchmarks folder")
    return path


@pytest.fixture(scope="session")
def nb201_table(mirror):
    import pandas as pd

    return pd.read_csv(mirror / "nb201" / "nats_tss_200ep_test_acc.csv")


@pytest.fixture(scope="session")
def groundtruth_csv(mirror, tmp_path_factory) -> Path:
    from intrain.groundtruth import normalize_nb201

    out = tmp_path_factory.mktemp("gt") / "nb201.csv"
    normalize_nb201(mirror / "nb201" / "nats_tss_200ep_test_acc.csv").to_csv(out, index=False)
    return out
