"""One escaping rule per sink, for strings that come from artifacts, configs and imported files.

- **HTML** (`html_text`): every such string in a report goes through ``html.escape`` with
  quotes, in element text and attribute values alike.
- **CSV/Parquet** (`neutralise_frame` / `restore_frame`, `write_csv` /
  `read_csv`): a spreadsheet runs a cell that starts with ``= + - @``, tab or CR as a
  formula (OWASP "CSV injection"). Every *string* cell, and every column name, that starts with
  one of `CSV_TRIGGERS` **or with** ``'`` gets one ``'`` prepended; reading strips exactly
  one leading ``'`` from string cells and names, so every string reads back unchanged (the ``'``
  case makes the rule reversible). Numeric columns are never touched: ``-1.5`` stays a number.
- **Matplotlib text** (`plot_text`): ``$`` is escaped so names never switch on mathtext
  (``$\\frac{`` crashes the layout), and length is bounded by `MAX_PLOT_TEXT`.
- **File names** (`slug`): ASCII letters, digits, ``_`` and ``-`` only, at most
  `MAX_SLUG` characters, with a short hash when anything was changed so distinct names
  never share a file.

Examples:
    >>> html_text('"><b>x</b>')
    '&quot;&gt;&lt;b&gt;x&lt;/b&gt;'
    >>> neutralise_cell("=HYPERLINK(1)"), restore_cell("'=HYPERLINK(1)"), neutralise_cell("intrain")
    ("'=HYPERLINK(1)", '=HYPERLINK(1)', 'intrain')
    >>> plot_text("$\\\\frac{$")
    '\\\\$\\\\frac{\\\\$'
    >>> slug("naswot"), slug("../../etc/passwd")[:14]
    ('naswot', '______etc_pass')
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is handled (the CLI starts without it)
    import pandas as pd

__all__ = [
    "CSV_TRIGGERS",
    "MAX_PLOT_TEXT",
    "MAX_SLUG",
    "csv_text",
    "html_text",
    "neutralise_cell",
    "neutralise_frame",
    "plot_text",
    "read_csv",
    "restore_cell",
    "restore_frame",
    "slug",
    "write_csv",
]

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV-injection guidance).
CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Characters of a name shown in a plot (title, label, legend).
MAX_PLOT_TEXT = 80
#: Characters of a file-name part derived from a name.
MAX_SLUG = 64
_SLUG_BAD = re.compile(r"[^A-Za-z0-9_-]")
_DOLLAR = re.compile(r"(?<!\\)\$")


def html_text(value: Any) -> str:
    """The one HTML rule: text and attribute values alike, quotes included."""
    return html.escape(str(value), quote=True)


def neutralise_cell(value: Any) -> Any:
    """A string that starts with a formula trigger or ``'`` gets a ``'`` prepended; others as they are."""
    if isinstance(value, str) and value and (value[0] in CSV_TRIGGERS or value[0] == "'"):
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """Inverse of `neutralise_cell` for what a reader gets back (one leading ``'`` removed)."""
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value


def _text_columns(df: pd.DataFrame) -> list[Any]:
    import pandas as pd

    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)]


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose string cells and column names are neutralised; numeric columns untouched."""
    out = df.copy()
    for c in _text_columns(out):
        out[c] = out[c].map(neutralise_cell)
    out.columns = [neutralise_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def restore_frame(df: pd.DataFrame, label: str | os.PathLike[str] = "table") -> pd.DataFrame:
    """Inverse of `neutralise_frame` on a frame read back from CSV or Parquet.

    A file with both ``x`` and ``'x`` columns was not written by intrain: restored, they would be two
    columns of one name (which pandas then reads as a frame, not a column), so it is refused
    ([`InputError`][intrain.core.errors.InputError] naming ``label`` and the column).
    """
    from intrain.core.errors import InputError

    names = [restore_cell(c) if isinstance(c, str) else c for c in df.columns]
    seen: set[Any] = set()
    for name in names:
        if name in seen:
            shown = str(name)[:80]
            raise InputError(
                f"{label}: columns {shown!r} and {chr(39) + shown!r} both read as {shown!r} once the leading "
                "' (added against spreadsheet formulas) is removed; not a file intrain wrote"
            )
        seen.add(name)
    out = df.copy()
    for c in _text_columns(out):
        out[c] = out[c].map(restore_cell)
    out.columns = names
    return out


def csv_text(df: pd.DataFrame) -> str:
    """``df`` neutralised, as CSV text. pandas never quotes a lone CR, which a reader takes for a line
    break, so a frame with a CR in any string is written with every string quoted."""
    import csv

    out = neutralise_frame(df)
    texts = [out[c] for c in _text_columns(out)]
    has_cr = any(isinstance(c, str) and "\r" in c for c in out.columns) or any(
        col.map(lambda v: isinstance(v, str) and "\r" in v).any() for col in texts
    )
    text: str = out.to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL)
    return text


def write_csv(df: pd.DataFrame, out: str | os.PathLike[str]) -> None:
    """``df`` neutralised, written to a temporary file beside ``out`` and renamed into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    try:
        tmp.write_text(csv_text(df), encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_csv(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """A CSV that intrain wrote (`write_csv`), string cells restored."""
    import pandas as pd

    return restore_frame(pd.read_csv(path, **kwargs), path)


def plot_text(value: Any, limit: int = MAX_PLOT_TEXT) -> str:
    """A name shown literally by matplotlib: ``$`` escaped (no mathtext), at most ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _DOLLAR.sub(r"\\$", text)  # only unescaped ones: applying it twice changes nothing


def slug(value: Any, limit: int = MAX_SLUG) -> str:
    """A file-name part from a name: safe characters only, bounded, distinct names kept distinct."""
    text = str(value)
    safe = _SLUG_BAD.sub("_", text)
    if safe == text and 0 < len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe[: limit - 11]}-{digest}"
