"""Helpers the command groups share: settings JSON, NAME=VALUE pairs, atomic CSV writes."""

from __future__ import annotations

import argparse

from intrain.core.errors import InputError

SETTINGS_HELP = 'JSON object of ScoreSettings fields, e.g. \'{"batch_size": 64, "proxies": ["intrain"]}\''


def settings_from(args: argparse.Namespace):
    from intrain.core.bounded import load_json
    from intrain.core.records import ScoreSettings

    raw = load_json(args.settings, "--settings") if args.settings else {}  # bounded depth and numbers
    if not isinstance(raw, dict):
        raise InputError("--settings must be a JSON object")
    try:
        return ScoreSettings.from_dict(raw)
    except ValueError as e:
        raise InputError(f"--settings: {e}") from None


def pairs(items: list[str] | None, flag: str, what: str) -> dict[str, str]:
    """Parse repeated ``--flag NAME=VALUE`` options into a dict."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"{flag} expects {what}, got {item!r}")
        out[key] = value
    return out


def write_csv(table, out: str) -> None:
    """Write a table to ``out`` through a temporary file, so no half-written CSV is left; string
    cells that a spreadsheet would run as formulas are neutralised (`intrain.core.sinks`;
    read such files back with `intrain.core.sinks.read_csv`)."""
    from intrain.core.sinks import write_csv as write_neutralised

    write_neutralised(table, out)
