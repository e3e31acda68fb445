"""Snakemake workflow conventions (snakemake-workflow-catalog): formatted rules, a LICENSE that
matches the package metadata, catalog metadata, and a config/README.md that covers every file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_rules_are_snakefmt_clean():
    run = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, (
        "rules need formatting: run `snakefmt Snakefile workflow/` "
        f"(line length from pyproject's [tool.snakefmt])\n{run.stdout}\n{run.stderr}"
    )


def test_license_matches_the_package_metadata():
    pyproject = (REPO / "pyproject.toml").read_text()  # tomllib is Python >= 3.11; the package supports 3.10
    assert re.search(r'^license = \{ text = "MIT" \}$', pyproject, re.MULTILINE), "pyproject's license is not MIT"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 the intrain authors" in text


def test_workflow_catalog_metadata():
    meta = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    assert meta["usage"]["software-stack-deployment"]["conda"] is True
    assert meta["usage"]["report"] is True
    env = yaml.safe_load((REPO / "envs" / "intrain.yaml").read_text())  # the env the rules name exists
    assert any(isinstance(d, dict) and "pip" in d for d in env["dependencies"])


def test_config_readme_covers_every_config_file():
    readme = (REPO / "config" / "README.md").read_text()
    missing = [p.name for p in sorted((REPO / "config").glob("*.yaml")) if f"`{p.name}`" not in readme]
    assert not missing, f"config/README.md does not describe {missing}"
    assert "docs/reference/config.md" in readme
