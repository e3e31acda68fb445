"""scripts/setup.sh on a Python that refuses system-wide installs (PEP 668, as on Debian 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def externally_managed_python(root: Path) -> Path:
    """A copy of the base interpreter whose stdlib folder carries an ``EXTERNALLY-MANAGED`` marker.

    The binary is copied (Python finds its prefix from its own location); the stdlib entries are
    symlinked, so the marker affects this copy only.
    """
    base = Path(sys.base_prefix)
    stdlib = Path(sysconfig.get_path("stdlib", vars={"installed_base": str(base), "base": str(base)}))
    exe = base / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (root / "bin").mkdir(parents=True)
    shutil.copy2(exe, root / "bin" / exe.name)
    lib = root / stdlib.relative_to(base)
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        (lib / entry.name).symlink_to(entry)
    for so in (base / "lib").glob("libpython*"):
        (root / "lib" / so.name).symlink_to(so)
    (lib / "EXTERNALLY-MANAGED").write_text("[externally-managed]\nError=this test's Python is managed\n")
    return root / "bin" / exe.name


@pytest.mark.slow
def test_setup_installs_into_a_venv_where_system_pip_is_refused(tmp_path):
    python = externally_managed_python(tmp_path / "py")
    refused = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "--no-deps", "six"], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "externally-managed" in (refused.stdout + refused.stderr)
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": str(python), "INTRAIN_VENV": str(venv), "INTRAIN_SETUP_NO_APT": "1"}
    done = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import intrain, torch, snakemake, h5py; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.startswith("2.13.0")
    assert (venv / "bin" / "intrain").exists() and (venv / "bin" / "snakemake").exists()
