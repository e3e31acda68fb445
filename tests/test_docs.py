"""The documentation site builds strictly, and its generated references cover their sources.

`mkdocs build --strict` fails on any warning: a broken link or anchor, a page missing from the
nav, a docstring mkdocstrings cannot render, a missing snippet file. The configuration and CLI
references are generated at build time (docs/hooks.py); here every key of the schema and every
subcommand of the parser is looked up in the built HTML, with a walk of the schema written
independently of the generator, so a generator that drops keys fails the test.
"""

from __future__ import annotations

import argparse
import html
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "intrain" / "data" / "config.schema.yaml"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return out


def _deref(node: dict, root: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_keys(node: dict, root: dict, prefix: str = "") -> list[str]:
    """Dotted paths of every key: properties, `<name>` for schema-valued additionalProperties,
    `[]` for the entries of an array of objects."""
    node = _deref(node, root)
    keys = []
    for key, child in (node.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        keys += [path, *schema_keys(child, root, path)]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        path = f"{prefix}.<name>"
        keys += [path, *schema_keys(extra, root, path)]
    items = _deref(node.get("items"), root) if isinstance(node.get("items"), dict) else None
    if items and items.get("properties"):
        keys += schema_keys(items, root, f"{prefix}[]")
    return keys


def test_site_builds_with_every_page(site):
    for page in [
        "index.html",
        "quickstart/index.html",
        "faq/index.html",
        "score-your-model/index.html",
        "write-a-proxy/index.html",
        "add-a-space/index.html",
        "slurm-gpu/index.html",
        "interop/index.html",
        "reproduce/index.html",
        "protocols/index.html",
        "reference/config/index.html",
        "reference/cli/index.html",
        "reference/hdf5/index.html",
        "reference/api/index.html",
    ]:
        assert (site / page).is_file(), page


def test_config_reference_lists_every_schema_key(site):
    root = yaml.safe_load(SCHEMA.read_text())
    keys = schema_keys(root, root)
    assert len(keys) > 50 and "scoring.proxies" in keys and "imports[].file" in keys
    page = (site / "reference" / "config" / "index.html").read_text()
    assert "<!-- generated" not in page
    missing = [k for k in keys if f"<code>{html.escape(k, quote=False)}</code>" not in page]
    assert not missing, f"keys of {SCHEMA.name} missing from the configuration reference: {missing}"


def test_cli_reference_lists_every_subcommand(site):
    sys.path.insert(0, str(REPO))
    from intrain.cli import build_parser

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"score", "merge", "correlate", "report"} <= set(subs)
    page = html.unescape((site / "reference" / "cli" / "index.html").read_text())
    missing = [name for name in subs if f'id="intrain-{name}"' not in page or f"usage: intrain {name}" not in page]
    assert not missing, f"subcommands missing from the CLI reference: {missing}"
    for name, sub in subs.items():  # every option of every subcommand is documented
        for action in sub._actions:
            for flag in action.option_strings:
                assert flag in page, f"intrain {name} {flag} missing from the CLI reference"


def test_api_reference_renders_the_public_functions(site):
    page = (site / "reference" / "api" / "index.html").read_text()
    for name in [
        "intrain.scoring.api.score",
        "intrain.scoring.api.Result",
        "intrain.scoring.api.rank_population",
        "intrain.proxies.base.Proxy",
        "intrain.proxies.base.register_pass",
        "intrain.proxies.base.register_collector",
        "intrain.proxies.base.PassContext",
    ]:
        assert f'id="{name}"' in page, name
