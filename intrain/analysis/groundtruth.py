"""Normalise benchmark tables into one ground-truth table per space, and read them back.

The normalised table (CSV) has one row per architecture: ``arch_index`` (the benchmark's own
index), ``arch`` (canonical spelling), ``canonical`` (isomorphism-class key) and one
``acc_<dataset>`` column per dataset (test accuracy, %); ``valid_<dataset>`` where a validation
table was given. Every later step reads this format only. Each space reads its own benchmark
export ([`intrain.spaces.Space.groundtruth`][intrain.spaces.base.Space.groundtruth]); this module dispatches to it by space name,
so a new space (a plugin too) brings its reader with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from intrain.core.errors import InputError
from intrain.spaces import get_space
from intrain.spaces.base import GroundTruthError
from intrain.spaces.tables import read_csv

__all__ = ["GroundTruthError", "GroundTruths", "accuracy_column", "load_groundtruth_csv", "normalize"]


def normalize(space: str, table: str | Path, valid: Mapping[str, str | Path] | None = None) -> pd.DataFrame:
    """``table`` (the space's benchmark export) in the normalised format, by the space's own reader.

    Examples:
        >>> normalize("nb201", "missing.csv")
        Traceback (most recent call last):
        ...
        FileNotFoundError: NB201 ground-truth file missing.csv does not exist (run the download step)
    """
    return get_space(space).groundtruth(table, valid)


def load_groundtruth_csv(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ground-truth table {path} does not exist")
    from intrain.core.sinks import restore_frame

    df = restore_frame(read_csv(path))  # written by `intrain groundtruth` (write_csv): neutralised cells restored
    for col in ("arch_index", "arch", "canonical"):
        if col not in df.columns:
            raise GroundTruthError(f"{path}: not a normalised ground-truth table (no {col!r} column)")
    return df


class GroundTruths:
    """Normalised tables by space, from CLI values ``SPACE=CSV`` (or one bare ``CSV`` for any space).

    Artifacts record their space, so correlation and report code asks for the table of each
    artifact's space instead of assuming there is only one.
    """

    def __init__(self, values: str | Sequence[str]):
        values = [values] if isinstance(values, (str, Path)) else list(values)
        self.paths: dict[str | None, str] = {}
        for v in map(str, values):
            space, sep, path = v.partition("=")
            key, path = (space, path) if sep and not Path(v).exists() else (None, v)
            if key in self.paths:
                raise InputError(f"ground truth for {key or 'every space'!r} given twice")
            self.paths[key] = path
        self._tables: dict[str, pd.DataFrame] = {}

    @classmethod
    def of(cls, groundtruth: str | Sequence[str] | GroundTruths) -> GroundTruths:
        """``groundtruth`` as GroundTruths: a table path, ``SPACE=CSV`` values, or an instance."""
        return groundtruth if isinstance(groundtruth, GroundTruths) else cls(groundtruth)

    def path(self, space: str) -> str:
        path = self.paths.get(space, self.paths.get(None))
        if path is None:
            raise InputError(f"no ground-truth table for space {space!r}; give --groundtruth {space}=CSV")
        return path

    def table(self, space: str) -> pd.DataFrame:
        path = self.path(space)
        if path not in self._tables:
            self._tables[path] = load_groundtruth_csv(path)
        return self._tables[path]


def accuracy_column(dataset: str, metric: str = "test") -> str:
    return f"{'acc' if metric == 'test' else 'valid'}_{dataset}"
