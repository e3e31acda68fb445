"""Population scores: proxies whose published score ranks each network against all the others.

TE-NAS adds the ranks of its two components; AZ-NAS sums the log of each component's relative
rank. Such a score exists only for a population, so scorers store the components per network and
the analysis combines them here, with numpy alone. What to combine is a [`PopulationRule`][intrain.core.ranking.PopulationRule]
that the scorer records in each artifact (``/proxy/<name>`` attribute ``population``), so the
analysis never needs the proxy's code, nor torch.

Examples:
    >>> import numpy as np, pandas as pd
    >>> rule = PopulationRule("rank_sum", ("a", "b"), (1, -1))
    >>> rule.combine({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([3.0, 2.0, 1.0])}).tolist()
    [2.0, 4.0, 6.0]
    >>> df = pd.DataFrame({"p.a": [1.0, 2.0], "p.b": [2.0, 1.0]})
    >>> add_population_scores(df, {"p": rule})["p"].tolist()
    [2.0, 4.0]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from intrain.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BUILTIN_RULES", "PopulationRule", "add_population_scores", "rank_aggregate", "rank_sum"]


def _ranks(columns: Sequence[np.ndarray], signs: Sequence[int] | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(rows with no NaN in any column, each column's ascending ranks of ``sign * value`` there)."""
    from scipy.stats import rankdata

    cols = [np.asarray(c, dtype=np.float64) for c in columns]
    signs = list(signs) if signs is not None else [1] * len(cols)
    valid = np.ones(len(cols[0]) if cols else 0, dtype=bool)
    for c in cols:
        valid &= ~np.isnan(c)
    return valid, [rankdata(s * c[valid]) for c, s in zip(cols, signs)]


def rank_aggregate(columns: Sequence[np.ndarray], signs: Sequence[int] | None = None) -> np.ndarray:
    """sum_m log(rank_m / n), ranks ascending in ``sign * value`` (AZ-NAS's aggregation).

    NaN entries get NaN. -inf values rank lowest (as the reference's -inf trainability does).

    Examples:
        >>> rank_aggregate([np.array([1.0, 2.0])]).round(3).tolist()
        [-0.693, 0.0]
    """
    valid, ranks = _ranks(columns, signs)
    out = np.full(len(valid), np.nan)
    n = int(valid.sum())
    if n:
        out[valid] = sum(np.log(r / n) for r in ranks)
    return out


def rank_sum(columns: Sequence[np.ndarray], signs: Sequence[int] | None = None) -> np.ndarray:
    """sum_m rank_m, ranks ascending in ``sign * value`` (TE-NAS's combination).

    Examples:
        >>> rank_sum([np.array([3.0, 1.0]), np.array([1.0, 2.0])], signs=[-1, 1]).tolist()
        [2.0, 4.0]
    """
    valid, ranks = _ranks(columns, signs)
    out = np.full(len(valid), np.nan)
    if valid.any():
        out[valid] = sum(ranks)
    return out


_METHODS = {"rank_sum": rank_sum, "rank_aggregate": rank_aggregate}


@dataclass(frozen=True)
class PopulationRule:
    """How a population score is combined: ``method`` over ``components`` with ``signs``."""

    method: str
    components: tuple[str, ...]
    signs: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise InputError(f"unknown population method {self.method!r}; expected one of {sorted(_METHODS)}")
        if self.signs is not None and len(self.signs) != len(self.components):
            raise InputError(f"{len(self.signs)} signs for {len(self.components)} components")

    def combine(self, components: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [c for c in self.components if c not in components]
        if missing:
            raise KeyError(f"population score needs components {missing}")
        return _METHODS[self.method]([components[c] for c in self.components], self.signs)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PopulationRule:
        raw = json.loads(text)
        return cls(
            raw["method"],
            tuple(raw["components"]),
            None if raw.get("signs") is None else tuple(int(s) for s in raw["signs"]),
        )


#: The built-in population proxies' rules, for artifacts written before rules were recorded.
BUILTIN_RULES: dict[str, PopulationRule] = {
    "tenas": PopulationRule("rank_sum", ("ntk_cond", "linear_regions"), (-1, 1)),
    "az_nas": PopulationRule("rank_aggregate", ("expressivity", "progressivity", "trainability", "complexity")),
}


def add_population_scores(
    scores: pd.DataFrame, rules: Mapping[str, PopulationRule] | None = None, proxies: Sequence[str] | None = None
) -> pd.DataFrame:
    """Add the ``<proxy>`` column of every population-ranked proxy to a scores DataFrame (in place).

    ``rules`` defaults to `BUILTIN_RULES`; artifacts carry their own
    (`intrain.core.artifacts.read_population_rules`). A proxy whose column exists already, or whose
    components are absent, is left alone.
    """
    for name, rule in {**BUILTIN_RULES, **(rules or {})}.items():
        if proxies is not None and name not in proxies:
            continue
        cols = {c: f"{name}.{c}" for c in rule.components}
        if name in scores.columns or not all(col in scores.columns for col in cols.values()):
            continue
        scores[name] = rule.combine({c: scores[col].to_numpy() for c, col in cols.items()})
    return scores
