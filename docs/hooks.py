"""mkdocs hooks: generate the configuration and CLI references at build time.

A page that contains the line ``<!-- generated: config-schema -->`` gets a table of every key of
``intrain/data/config.schema.yaml`` (type, default, description) in its place; one with
``<!-- generated: cli -->`` gets the help of every ``intrain`` subcommand from
``intrain.cli.build_parser()``. Sibling sections with identical keys (the seven NDS spaces) are
shown once, with a line naming each key they stand for; key names wrap only after a dot
(``<wbr>``; docs/assets/extra.css keeps them whole). Nothing is copied by hand, so the pages cannot drift from the
schema or the parser; tests/test_docs.py checks both against their sources. A missing schema or
parser fails the build (mkdocs reports the exception), never a silently empty page.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "intrain" / "data" / "config.schema.yaml"
MARK_CONFIG = "<!-- generated: config-schema -->"
MARK_CLI = "<!-- generated: cli -->"


# ----------------------------------------------------------------------------- configuration schema


def _resolve(node: Any, root: dict) -> Any:
    """Follow a local ``$ref`` (``#/$defs/...``) to the node it names."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"{SCHEMA}: only local $refs are supported, got {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{text}`" if "`" not in text else f"<code>{html.escape(text)}</code>"


def _type(node: dict, root: dict) -> str:
    """The accepted values of a schema node, in words."""
    node = _resolve(node, root)
    if "const" in node:
        return _code(node["const"])
    if "enum" in node:
        return "one of " + ", ".join(_code(v) for v in node["enum"])
    for combo in ("oneOf", "anyOf"):
        if combo in node:
            return " or ".join(_type(alt, root) for alt in node[combo])
    kinds = node.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    words = []
    for kind in kinds:
        word = str(kind)
        if kind in ("integer", "number"):
            lo = node.get("minimum", node.get("exclusiveMinimum"))
            hi = node.get("maximum")
            op = ">" if "exclusiveMinimum" in node and "minimum" not in node else "≥"
            if lo is not None and hi is not None:
                word += f" {lo}–{hi}"
            elif lo is not None:
                word += f" {op} {lo}"
        elif kind == "array" and isinstance(node.get("items"), dict):
            items = _resolve(node["items"], root)
            if "properties" not in items:
                word = f"list of {_type(items, root)}"
            else:
                word = "list of objects"
        elif kind == "string" and "pattern" in node and len(node["pattern"]) <= 40 and "|" not in node["pattern"]:
            word += f" matching {_code(node['pattern'])}"
        words.append(word)
    return " or ".join(words)


def schema_rows(node: dict, root: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """(dotted key, node) for every key of the schema, depth first in the schema's order.

    Objects recurse into ``properties``; an object whose ``additionalProperties`` is a schema adds
    ``<prefix>.<name>`` rows (any name); an array of objects adds ``<prefix>[].<key>`` rows.
    """
    node = _resolve(node, root)
    for key, child in (node.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        child = _resolve(child, root)
        yield path, child
        yield from schema_rows(child, root, path)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        path = f"{prefix}.<name>" if prefix else "<name>"
        extra = _resolve(extra, root)
        yield path, extra
        yield from schema_rows(extra, root, path)
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict):
        items = _resolve(items, root)
        if items.get("properties"):
            yield from schema_rows(items, root, f"{prefix}[]")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _cells(node: dict, root: dict, path: str) -> tuple[str, str, str]:
    """(type, default, description) of one key, as table cells."""
    default = _code(node["default"]) if "default" in node else ("required" if _required(root, path) else "—")
    desc = node.get("description") or ("section (keys below)" if "properties" in node else "")
    return _cell(_type(node, root)), _cell(default), _cell(desc)


def _key(path: str) -> str:
    """A key cell that wraps only after a dot (``<wbr>``), never inside a name."""
    return "<code>" + ".<wbr>".join(html.escape(part, quote=False) for part in path.split(".")) + "</code>"


def _row(path: str, cells: tuple[str, str, str]) -> str:
    return f"| {_key(path)} | {' | '.join(cells)} |"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "[]"))


def group_siblings(rows: list[tuple[str, tuple[str, str, str]]]) -> tuple[list[tuple[str, tuple]], list[str]]:
    """Fold sibling sections that take identical keys (the seven NDS spaces) into one block.

    Three or more children of one parent whose rows are equal apart from their own name become
    one block ``parent.<common prefix><label>`` (label: the parent's name in the singular); the
    returned notes list which keys each block stands for, so every key stays findable.
    """
    paths = [p for p, _ in rows]
    children: dict[str, list[str]] = {}
    for p in paths:
        parent, _, name = p.rpartition(".")
        if parent and "[" not in name and "<" not in name:
            children.setdefault(parent, []).append(p)
    replace: dict[str, str] = {}  # member prefix -> placeholder prefix
    notes = []
    for parent, kids in children.items():
        sig: dict[tuple, list[str]] = {}
        for kid in kids:
            body = tuple((p[len(kid) :], c) for p, c in rows if _under(p, kid))
            sig.setdefault(body, []).append(kid)
        for members in sig.values():
            if len(members) < 3:
                continue
            names = [m.rpartition(".")[2] for m in members]
            common = names[0]
            for n in names[1:]:
                while not n.startswith(common):
                    common = common[:-1]
            label = parent.rpartition(".")[2].removesuffix("s") or "name"
            placeholder = f"{parent}.{common}<{label}>"
            for m in members:
                replace[m] = placeholder
            listed = ", ".join(f"<code>{html.escape(m, quote=False)}</code>" for m in members)
            notes.append(f"{_key(placeholder)} stands for each of {listed}: they take the same keys.")
    out, seen = [], set()
    for p, c in rows:
        member = next((m for m in replace if _under(p, m)), None)
        if member is None:
            out.append((p, c))
            continue
        q = replace[member] + p[len(member) :]
        if q not in seen:
            seen.add(q)
            out.append((q, c))
    return out, notes


def config_reference(schema_path: Path = SCHEMA) -> str:
    """Markdown: the scalar top-level keys in one table, then one table per section."""
    if not schema_path.exists():
        raise FileNotFoundError(f"the configuration reference needs {schema_path}")
    root = yaml.safe_load(schema_path.read_text())
    header = ["| key | type | default | description |", "|---|---|---|---|"]
    top, sections = [], []
    for key, node in (root.get("properties") or {}).items():
        node = _resolve(node, root)
        rows = [(p, _cells(n, root, p)) for p, n in schema_rows(node, root, key)]
        if not rows:
            top.append(_row(key, _cells(node, root, key)))
            continue
        rows, notes = group_siblings(rows)
        sections += ["", f"## `{key}`", ""]
        if node.get("description"):
            sections += [_cell(node["description"]), ""]
        sections += [*notes, ""] if notes else []
        sections += header + [_row(key, _cells(node, root, key))] + [_row(p, c) for p, c in rows]
    if not top and not sections:
        raise ValueError(f"{schema_path}: no keys found under `properties`")
    return "\n".join(["## Top-level keys", "", *header, *top, *sections]) + "\n"


def _required(root: dict, path: str) -> bool:
    return "." not in path and path in (root.get("required") or [])


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """``intrain.cli.build_parser()``: the one entry point to the CLI's argparse tree."""
    sys.path.insert(0, str(ROOT))
    try:
        from intrain import cli
    finally:
        sys.path.pop(0)
    fn = getattr(cli, "build_parser", None)
    if not callable(fn):
        raise TypeError(
            "the CLI reference needs intrain.cli.build_parser() (returning the argparse parser); "
            f"{cli.__name__} has no such function"
        )
    return fn()


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Subcommand name -> its parser, in the order they were added."""
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise RuntimeError("intrain.cli.build_parser() has no subcommands")


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def cli_reference() -> str:
    parser = build_parser()
    subs = subcommands(parser)
    width = {"COLUMNS": "100"}
    import os

    old = {k: os.environ.get(k) for k in width}
    os.environ.update(width)
    try:
        out = ["```text", parser.format_help().rstrip(), "```", "", "| command | what it does |", "|---|---|"]
        out += [f"| [`intrain {name}`](#intrain-{name}) | {_cell(_help_of(parser, name))} |" for name in subs]
        for name, sub in subs.items():
            out += [
                "",
                f"## `intrain {name}` {{ #intrain-{name} }}",
                "",
                _cell(_help_of(parser, name)),
                "",
                "```text",
                sub.format_help().rstrip(),
                "```",
            ]
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- mkdocs events


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARK_CONFIG in markdown:
        markdown = markdown.replace(MARK_CONFIG, config_reference())
    if MARK_CLI in markdown:
        markdown = markdown.replace(MARK_CLI, cli_reference())
    return markdown
