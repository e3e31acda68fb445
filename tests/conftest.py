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


#: A file every mirror has; its absence means "no mirror here".
MIRROR_PROBE = Path("nb201") / "nats_tss_200ep_test_acc.csv"
#: Set to 1 (CI) to fail instead of skip when the mirror is missing.
REQUIRE_MIRROR_ENV = "INTRAIN_REQUIRE_MIRROR"


def mirror_missing() -> str | None:
    """Why the benchmark mirror cannot be used (one message for every skipped test), or None."""
    path = mirror_dir()
    if (path / MIRROR_PROBE).exists():
        return None
    return (
        f"needs the benchmark mirror: {path / MIRROR_PROBE} not found; set INTRAIN_MIRROR to the "
        f"shared/benchmarks folder (or {REQUIRE_MIRROR_ENV}=1 to fail instead of skip)"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_mirror: reads benchmark files from the mirror (INTRAIN_MIRROR); "
        "skipped with one message when it is absent",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that use the ``mirror`` fixture (directly or through another fixture) or carry the
    ``needs_mirror`` mark are skipped before any fixture runs when there is no mirror."""
    reason = mirror_missing()
    if reason is None or os.environ.get(REQUIRE_MIRROR_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "mirror" in getattr(item, "fixturenames", ()) or item.get_closest_marker("needs_mirror"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mirror() -> Path:
    reason = mirror_missing()
    if reason is not None:
        pytest.fail(reason)  # only reached with INTRAIN_REQUIRE_MIRROR=1: the others were skipped at collection
    return mirror_dir()


@pytest.fixture(scope="session")
def nb201_table(mirror):
    import pandas as pd

    return pd.read_csv(mirror / "nb201" / "nats_tss_200ep_test_acc.csv")


@pytest.fixture(scope="session")
def groundtruth_csv(mirror, tmp_path_factory) -> Path:
    from intrain.analysis.groundtruth import normalize

    out = tmp_path_factory.mktemp("gt") / "nb201.csv"
    normalize("nb201", mirror / "nb201" / "nats_tss_200ep_test_acc.csv").to_csv(out, index=False)
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
