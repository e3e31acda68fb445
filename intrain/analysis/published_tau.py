"""Published correlations shipped with the package (``intrain/data/published.yaml``)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    table: dict[str, Any] = yaml.safe_load(resources.files("intrain.data").joinpath("published.yaml").read_text())
    return table


def published(space: str, metric: str, proxy: str, dataset: str) -> float | None:
    """The published value, or None when the paper gives none for this combination."""
    entry = _table().get(space, {}).get(metric, {}).get(proxy, {})
    value = entry.get(dataset)
    return float(value) if value is not None else None


def source(space: str, metric: str, proxy: str) -> str | None:
    """The paper a published value comes from, or None when the table names none."""
    value = _table().get(space, {}).get(metric, {}).get(proxy, {}).get("source")
    return None if value is None else str(value)
