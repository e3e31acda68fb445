"""Zoo ground truth: timm's ImageNet-1k results table, in1k-only rows, one per (architecture, recipe).

The table lists some models twice, at two evaluation sides; the row with the higher top-1 is kept.

Columns: ``arch_index`` (row order of the kept rows), ``arch`` (the timm name without its tag),
``canonical`` (= ``arch``: recipes of one architecture share one network, so scoring builds it
once and every recipe row takes its scores), ``recipe`` (the pretrained tag), ``family``,
``acc_imagenet`` (top-1, %), ``top5``, ``params_m`` (the table's ``param_count``, millions),
``eval_img_size``, ``crop_pct``. Analyses group by ``recipe`` or keep one row per architecture
(`intrain.analysis.zoo.one_per_arch`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from intrain.spaces.base import GroundTruthError
from intrain.spaces.tables import read_csv
from intrain.spaces.zoo.names import ZooNameError, check_arch, family, is_in1k_only, split_name

__all__ = ["REQUIRED_COLUMNS", "in1k_rows", "read_groundtruth"]

REQUIRED_COLUMNS = ("model", "top1", "top5", "param_count", "img_size", "crop_pct")


def _number(value: object) -> float:
    """A table number; ``param_count`` prints thousands with a comma (``"1,014.45"``)."""
    return float(str(value).replace(",", ""))


def in1k_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a results table whose model was trained on ImageNet-1k alone (`.names.is_in1k_only`)."""
    return table[table["model"].astype(str).map(is_in1k_only)]


def read_groundtruth(path: str | Path, valid: object = None) -> pd.DataFrame:
    """The normalised zoo ground truth of a timm ``results-imagenet.csv`` (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"timm results table {path} does not exist (run the download step: intrain download timm_imagenet)"
        )
    if valid:
        raise GroundTruthError("the timm results table has no separate validation accuracy; drop --valid")
    raw = read_csv(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise GroundTruthError(f"{path}: not a timm results table: missing column(s) {missing}")
    rows = []
    for k, rec in enumerate(in1k_rows(raw).itertuples(index=False)):
        name = str(rec.model)
        try:
            arch = check_arch(name)
            rows.append(
                {
                    "arch_index": k,
                    "arch": arch,
                    "canonical": arch,
                    "recipe": split_name(name)[1],
                    "family": family(arch),
                    "acc_imagenet": _number(rec.top1),
                    "top5": _number(rec.top5),
                    "params_m": _number(rec.param_count),
                    "eval_img_size": int(_number(rec.img_size)),
                    "crop_pct": _number(rec.crop_pct),
                }
            )
        except ZooNameError as e:
            raise GroundTruthError(f"{path}: row {name!r}: {e}") from None
        except ValueError as e:
            raise GroundTruthError(
                f"{path}: row {name!r} has a non-numeric top1/top5/param_count/img_size ({e})"
            ) from None
    if not rows:
        raise GroundTruthError(f"{path}: no row was trained on ImageNet-1k alone (tags ending in in1k)")
    # A model evaluated at two input sizes has two rows (e.g. 224 and 288): keep its best top-1,
    # the number the authors quote, and the side it was measured at (``eval_img_size``).
    table = pd.DataFrame(rows).sort_values(["acc_imagenet", "arch_index"], ascending=[False, True])
    table = table.drop_duplicates(["arch", "recipe"]).sort_values("arch_index").reset_index(drop=True)
    table["arch_index"] = range(len(table))
    return table
