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
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "intrain" / "data" / "config.schema.yaml"
NDS = ["amoeba", "darts", "enas", "nasnet", "pnas", "resnext_a", "resnext_b"]
#: Sphinx roles, which Markdown shows as text (the package's docstrings use mkdocstrings links)
ROLE = re.compile(r":(func|class|meth|attr|mod|data|exc|obj|const):<code>")


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
    raw = node.get("items")
    items = _deref(raw, root) if isinstance(raw, dict) else None
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
        "references/index.html",
    ]:
        assert (site / page).is_file(), page


def test_config_reference_lists_every_schema_key(site):
    root = yaml.safe_load(SCHEMA.read_text())
    keys = schema_keys(root, root)
    assert len(keys) > 50 and "scoring.proxies" in keys and "imports[].file" in keys
    page = (site / "reference" / "config" / "index.html").read_text().replace("<wbr>", "")
    assert "<!-- generated" not in page
    # a block of identical sibling sections is shown once: "<code>P</code> stands for each of <code>M1</code>, ..."
    groups = [
        (html.unescape(placeholder), [html.unescape(m) for m in re.findall(r"<code>(.*?)</code>", members)])
        for placeholder, members in re.findall(r"<code>([^<]*)</code> stands for each of (.*?): they take", page)
    ]
    assert ("spaces.nds_<space>", [f"spaces.nds_{s}" for s in NDS]) in groups, groups

    def shown(key: str) -> bool:
        if f"<code>{html.escape(key, quote=False)}</code>" in page:
            return True
        for placeholder, members in groups:
            for m in members:
                if key == m or key.startswith((m + ".", m + "[]")):
                    alias = placeholder + key[len(m) :]
                    return f"<code>{html.escape(alias, quote=False)}</code>" in page
        return False

    missing = [k for k in keys if not shown(k)]
    assert not missing, f"keys of {SCHEMA.name} missing from the configuration reference: {missing}"
    assert page.count("<code>spaces.nds_&lt;space&gt;.sample</code>") == 1  # once, not seven times


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
        "intrain.proxies.base.Collector",
        "intrain.proxies.base.register_pass",
        "intrain.proxies.base.register_collector",
        "intrain.proxies.base.PassContext",
        "intrain.spaces.get_space",
        "intrain.spaces.list_spaces",
        "intrain.spaces.base.Space",
        "intrain.spaces.base.DatasetSpec",
        "intrain.spaces.peers.Encoding",
        "intrain.core.artifacts.read_scores",
        "intrain.proxies.synflow.Synflow",
        "intrain.proxies.intrain.InTrain",
    ]:
        assert f'id="{name}"' in page, name


def _objects(page: str) -> dict[str, str]:
    """Rendered object id -> its HTML up to the next object's heading."""
    parts = re.split(r'<h[2-6] id="(intrain\.[\w.]+)"', page)
    return dict(zip(parts[1::2], parts[2::2]))


def test_api_reference_shows_examples_as_code_and_links_not_roles(site):
    """Docstrings rendered without Sphinx roles as text, and ``>>>`` examples as highlighted code
    rather than a quoted paragraph (checked on the core and spaces objects; the whole page's roles
    are checked below)."""
    page = (site / "reference" / "api" / "index.html").read_text()
    objects = _objects(page)
    mine = {k: v for k, v in objects.items() if k.startswith(("intrain.spaces", "intrain.core"))}
    assert len(mine) > 20
    with_roles = sorted(k for k, v in mine.items() if ROLE.search(v))
    assert not with_roles, f"raw Sphinx roles rendered as text in {with_roles}"
    quoted = sorted(k for k, v in mine.items() if "<blockquote>" in v)
    assert not quoted, f">>> examples rendered as block quotes in {quoted}"
    spaces = objects["intrain.spaces"]  # its module docstring: an Examples section and links
    assert '<span class="gp">&gt;&gt;&gt; </span>' in spaces  # a highlighted pycon block
    links = re.findall(r'<a class="autorefs autorefs-internal"[^>]*href="([^"]+)"', spaces)
    assert "#intrain.spaces.base.Space" in links and "#intrain.spaces.register_space" in links, links


def test_api_reference_has_no_raw_roles_anywhere(site):
    page = (site / "reference" / "api" / "index.html").read_text()
    assert not ROLE.search(page)


def _reference_rows() -> dict[str, str]:
    """Proxy name -> the anchor its row on docs/references.md links (``flops``/``params``: none)."""
    rows = {}
    for line in (REPO / "docs" / "references.md").read_text().splitlines():
        m = re.match(r"\| (`[^|]+) \| (.*) \|$", line)
        if m:
            anchor = re.search(r"\(#(ref-[\w-]+)\)", m[2])
            for name in re.findall(r"`(\w+)`", m[1]):
                rows[name] = anchor[1] if anchor else ""
    return rows


def test_references_page_has_an_entry_for_every_builtin_proxy(site):
    from intrain.proxies import BUILTIN

    rows = _reference_rows()
    assert set(BUILTIN) <= set(rows), f"built-in proxies without a row on references.md: {set(BUILTIN) - set(rows)}"
    page = (site / "references" / "index.html").read_text()
    for name, anchor in rows.items():
        if name in ("flops", "params"):
            continue
        assert anchor, f"{name}: no entry linked"
        assert f'id="{anchor}"' in page, f"{name}: #{anchor} is not a heading of the references page"
        entry = page.split(f'id="{anchor}"', 1)[1].split("<h3", 1)[0]
        assert "@inproceedings" in entry or "@misc" in entry or "@article" in entry, f"#{anchor} has no BibTeX entry"


def test_every_builtin_proxy_docstring_links_its_paper():
    from intrain.proxies import BUILTIN, proxy_class

    rows = _reference_rows()
    missing = [n for n in BUILTIN if rows.get(n) and f"][{rows[n]}]" not in (proxy_class(n).__doc__ or "")]
    assert not missing, f"proxy docstrings without their reference link: {missing}"


@pytest.mark.slow
def test_every_built_page_passes_render_check_at_1280_and_800_px(site):
    """The report's own checker on the docs site: no horizontal overflow outside a scroll wrapper,
    no broken images or empty tables, every image captioned (docs images carry no text record)."""
    from intrain.analysis.render import render_check

    from .helpers import browser_or_skip

    browser_or_skip()
    pages = sorted(p for p in site.rglob("index.html") if p.parent.name != "search")
    assert len(pages) > 15
    failed = {
        str(p.relative_to(site)): v["problems"]
        for p in pages
        if (v := render_check(p, unrecorded="skip"))["status"] != "ok"
    }
    assert not failed, failed
