"""Shared fixtures. Benchmark files come from the mirror (INTRAIN_MIRROR or ../shared/benchmarks),
never from the repository."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# CLI calls (`intrain`, `snakemake` in subprocesses) use this interpreter's environment, also
# when it is a virtual environment that was not activated (`.venv/bin/python -m pytest`).
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


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
    from intrain.analysis.groundtruth import normalize_nb201

    out = tmp_path_factory.mktemp("gt") / "nb201.csv"
    normalize_nb201(mirror / "nb201" / "nats_tss_200ep_test_acc.csv").to_csv(out, index=False)
    return out


SCONTROL_SHIM = """#!/bin/sh
# Test shim (tests/conftest.py): the real scontrol when a Slurm controller runs, else fail at once.
if ! command -v pgrep >/dev/null 2>&1 || pgrep -x slurmctld >/dev/null 2>&1; then exec {real} "$@"; fi
echo "scontrol (test shim): no slurmctld running" >&2
exit 1
"""


@pytest.fixture(scope="session", autouse=True)
def fast_scontrol_without_a_controller(tmp_path_factory):
    """snakemake-executor-plugin-slurm runs ``scontrol show config`` whenever snakemake is imported.
    With slurm-wlm installed (scripts/setup.sh does, for the Slurm test) but no controller running,
    that call blocks for ~9 s, on every snakemake start of the suite. The shim answers "unavailable"
    at once in that case (the plugin then uses its default) and defers to the real scontrol while a
    cluster is up, so the Slurm test is unaffected."""
    real = shutil.which("scontrol")
    if real is None:
        yield
        return
    shim_dir = tmp_path_factory.mktemp("scontrol-shim")
    shim = shim_dir / "scontrol"
    shim.write_text(SCONTROL_SHIM.format(real=real))
    shim.chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{shim_dir}{os.pathsep}{old}"
    try:
        yield
    finally:
        os.environ["PATH"] = old
