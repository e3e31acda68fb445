"""The package's layers: import-linter contracts (pyproject.toml) and torch-free entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


def test_import_contracts_hold():
    """No cycle between layers, no upward import, no torch in the core (`lint-imports`)."""
    linter = Path(sys.executable).with_name("lint-imports")
    if not linter.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout or "broken" not in proc.stdout.split("Contracts:")[-1]


@pytest.mark.parametrize(
    "module",
    [
        "intrain.core.artifacts",
        "intrain.core.records",
        "intrain.core.search_log",
        "intrain.planning.selection",
        "intrain.planning.groups",
        "intrain.planning.configcheck",
        "intrain.analysis.correlate",
        "intrain.analysis.report",
        "intrain.analysis.studies",
    ],
)
def test_torch_free_modules_do_not_load_torch(module):
    code = f"import sys, {module}; assert 'torch' not in sys.modules, 'torch was imported'"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_no_module_shadows_the_standard_library():
    names = {p.stem for p in (REPO / "intrain").rglob("*.py")} | {
        p.name for p in (REPO / "intrain").iterdir() if p.is_dir()
    }
    assert not names & set(sys.stdlib_module_names) - {"__init__", "__main__"}
