"""What the benchmark scripts share: emitting their Markdown result (stdout and, with --out, a file)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def emit(lines: Sequence[str], out: str | None) -> str:
    """Print the result lines as one Markdown text and write it to ``out`` when given."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)
    return text
