"""NB201 ground truth: the NATS-Bench topology table (and optional validation tables) normalised."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from intrain.spaces.base import GroundTruthError
from intrain.spaces.nb201.encoding import ArchStringError, canonical_form, normalize_arch
from intrain.spaces.tables import float_column, read_csv

#: Dataset -> the test-accuracy column of the benchmark export (200-epoch runs).
TEST_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}


def _archs(path: Path, values) -> list[str]:
    """Every arch string normalised; a bad one is refused naming its row."""
    out = []
    for k, a in enumerate(values):
        try:
            out.append(normalize_arch(a))
        except ArchStringError as e:
            raise GroundTruthError(f"{path}: row {k}: {e}") from None
    return out


def read_groundtruth(test_csv: str | Path, valid_csvs: Mapping[str, str | Path] | None = None) -> pd.DataFrame:
    """The benchmark CSV in the normalised format (benchmark row order = ``arch_index``).

    ``valid_csvs`` maps a dataset to a NASGraph-style table (``arch str``, ``validation accuracy``)
    whose values become ``valid_<dataset>``.
    """
    path = Path(test_csv)
    if not path.exists():
        raise FileNotFoundError(f"NB201 ground-truth file {path} does not exist (run the download step)")
    raw = read_csv(path)
    missing = [c for c in [*TEST_COLUMNS.values(), "ArchitectureString"] if c not in raw.columns]
    if missing:
        raise GroundTruthError(f"{path}: missing columns {missing}")
    if raw.empty:
        raise GroundTruthError(f"{path}: the table has a header but no architectures")
    table = pd.DataFrame({"arch_index": range(len(raw)), "arch": _archs(path, raw["ArchitectureString"])})
    table["canonical"] = [canonical_form(a) for a in table["arch"]]
    for ds, col in TEST_COLUMNS.items():
        table[f"acc_{ds}"] = float_column(path, raw, col)
    for ds, vpath in (valid_csvs or {}).items():
        v = read_csv(Path(vpath))
        if "arch str" not in v.columns or "validation accuracy" not in v.columns:
            raise GroundTruthError(f"{vpath}: expected columns 'arch str' and 'validation accuracy'")
        valid = dict(zip(_archs(Path(vpath), v["arch str"]), float_column(Path(vpath), v, "validation accuracy")))
        table[f"valid_{ds}"] = table["arch"].map(valid)
    return table
