"""Reading benchmark tables defensively: every failure is a [`GroundTruthError`][intrain.spaces.base.GroundTruthError] naming the file.

A benchmark export may be truncated, binary junk or hand-edited; the space readers use these
helpers so that such a file is refused in words instead of surfacing a parser's own exception.

Examples:
    >>> from pathlib import Path
    >>> mean_accuracy([93.0, 94.0])
    93.5
    >>> mean_accuracy("93")
    Traceback (most recent call last):
    ...
    intrain.spaces.base.GroundTruthError: an accuracy must be a number or a non-empty list of numbers, got '93'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from intrain.spaces.base import GroundTruthError

__all__ = ["float_column", "mean_accuracy", "read_csv", "read_json"]


def read_csv(path: Path):
    """A CSV table, with parse failures (binary junk, bad quoting, no columns) as GroundTruthError."""
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OverflowError) as e:
        raise GroundTruthError(f"{path}: not a readable CSV table ({type(e).__name__}: {e})") from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise GroundTruthError(f"{path}: not valid JSON ({type(e).__name__}: {e})") from None


def float_column(path: Path, raw, col: str):
    """``raw[col]`` as floats, or a GroundTruthError naming the column."""
    import pandas as pd

    try:
        return pd.to_numeric(raw[col], errors="raise").astype(float)
    except (ValueError, TypeError) as e:
        raise GroundTruthError(f"{path}: column {col!r} must hold numbers ({e})") from None


def mean_accuracy(value: Any) -> float:
    """A single accuracy or the mean of several runs' (NB101 has three per cell)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise GroundTruthError(f"an accuracy must be a number or a non-empty list of numbers, got {value!r:.80}")
    return sum(float(v) for v in values) / len(values)
