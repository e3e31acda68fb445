"""The code-quality gates run by the suite: ruff (lint and format) and mypy, as configured in
pyproject.toml ([tool.ruff], [tool.mypy]) and run by pre-commit (.pre-commit-config.yaml).

Each tool is run from the interpreter's environment; a test skips (naming the tool and the
install command) only when the tool is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: What ruff checks: the package, its tests, the measurement scripts and the example plugin.
RUFF_PATHS = ("intrain", "tests", "benchmarks", "examples")


def _tool(name: str) -> str:
    """The tool's executable beside this interpreter (an unactivated venv), else on PATH, else skip."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: pip install -e '.[test]'")
    return found


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_lint_passes():
    proc = _run(_tool("ruff"), "check", "--no-cache", *RUFF_PATHS)
    assert proc.returncode == 0, (
        f"ruff check found problems (fix them, or `ruff check --fix FILE`):\n{proc.stdout[-6000:]}"
    )


def test_ruff_format_is_applied():
    proc = _run(_tool("ruff"), "format", "--check", "--no-cache", *RUFF_PATHS)
    assert proc.returncode == 0, f"files not in ruff's format (run `ruff format FILE`):\n{proc.stdout[-6000:]}"


def test_mypy_passes_on_the_configured_packages():
    """Strict on intrain.core and intrain.analysis, gradual elsewhere ([tool.mypy] in pyproject.toml)."""
    proc = _run(_tool("mypy"))
    assert proc.returncode == 0, f"mypy found type errors:\n{proc.stdout[-6000:]}{proc.stderr[-2000:]}"
