"""Helpers the command groups share: settings JSON, NAME=VALUE pairs, atomic CSV writes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SETTINGS_HELP = 'JSON object of ScoreSettings fields, e.g. \'{"batch_size": 64, "proxies": ["intrain"]}\''


def settings_from(args: argparse.Namespace):
    from intrain.core.records import ScoreSettings

    raw = json.loads(args.settings) if args.settings else {}
    if not isinstance(raw, dict):
        raise ValueError("--settings must be a JSON object")
    try:
        return ScoreSettings.from_dict(raw)
    except ValueError as e:
        raise ValueError(f"--settings: {e}") from None


def pairs(items: list[str] | None, flag: str, what: str) -> dict[str, str]:
    """Parse repeated ``--flag NAME=VALUE`` options into a dict."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{flag} expects {what}, got {item!r}")
        out[key] = value
    return out


def write_csv(table, out: str) -> None:
    """Write a table to ``out`` through a temporary file, so no half-written CSV is left."""
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(out_path)
