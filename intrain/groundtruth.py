"""Normalise benchmark tables into one ground-truth table per space.

The normalised table (CSV) has one row per architecture: ``arch_index`` (the benchmark's own
index), ``arch`` (canonical spelling), ``canonical`` (isomorphism-class key) and one
``acc_<dataset>`` column per dataset (test accuracy, %); ``valid_<dataset>`` where a validation
table was given. Every later step reads this format only, so another benchmark export (or the
full table of a larger benchmark) drops in by writing one more normaliser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .spaces import nb101, nb201, nds
from .errors import InputError

NB201_TEST_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "ImageNet16-120": "ImageNetTestAccuracy200Epochs",
}


class GroundTruthError(InputError):
    """A benchmark or ground-truth table that cannot be read or has unusable rows."""


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV table, with parse failures (binary junk, bad quoting, no columns) as GroundTruthError."""
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OverflowError) as e:
        raise GroundTruthError(f"{path}: not a readable CSV table ({type(e).__name__}: {e})") from None


def _read_json(path: Path):
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise GroundTruthError(f"{path}: not valid JSON ({type(e).__name__}: {e})") from None


def _float_column(path: Path, raw: pd.DataFrame, col: str) -> pd.Series:
    try:
        return pd.to_numeric(raw[col], errors="raise").astype(float)
    except (ValueError, TypeError) as e:
        raise GroundTruthError(f"{path}: column {col!r} must hold numbers ({e})") from None


def _nb201_archs(path: Path, values) -> list[str]:
    out = []
    for k, a in enumerate(values):
        try:
            out.append(nb201.normalize_arch(a))
        except nb201.ArchStringError as e:
            raise GroundTruthError(f"{path}: row {k}: {e}") from None
    return out


def normalize_nb201(test_csv: str | Path, valid_csvs: dict[str, str | Path] | None = None) -> pd.DataFrame:
    path = Path(test_csv)
    if not path.exists():
        raise FileNotFoundError(f"NB201 ground-truth file {path} does not exist (run the download step)")
    raw = _read_csv(path)
    missing = [c for c in [*NB201_TEST_COLUMNS.values(), "ArchitectureString"] if c not in raw.columns]
    if missing:
        raise GroundTruthError(f"{path}: missing columns {missing}")
    if raw.empty:
        raise GroundTruthError(f"{path}: the table has a header but no architectures")
    table = pd.DataFrame({"arch_index": range(len(raw)), "arch": _nb201_archs(path, raw["ArchitectureString"])})
    table["canonical"] = [nb201.canonical_form(a) for a in table["arch"]]
    for ds, col in NB201_TEST_COLUMNS.items():
        table[f"acc_{ds}"] = _float_column(path, raw, col)
    for ds, vpath in (valid_csvs or {}).items():
        v = _read_csv(Path(vpath))
        if "arch str" not in v.columns or "validation accuracy" not in v.columns:
            raise GroundTruthError(f"{vpath}: expected columns 'arch str' and 'validation accuracy'")
        valid = dict(zip(_nb201_archs(Path(vpath), v["arch str"]), _float_column(Path(vpath), v, "validation accuracy")))
        table[f"valid_{ds}"] = table["arch"].map(valid)
    return table


def _mean(value) -> float:
    """A single accuracy or the mean of several runs' (the benchmark has three per cell)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise GroundTruthError(f"an accuracy must be a number or a non-empty list of numbers, got {value!r:.80}")
    return float(np.mean(values))


def _first(record: dict, *keys: str):
    for key in keys:
        if key in record:
            return record[key]
    return None


def _nb101_rows_json(path: Path) -> list[dict]:
    """Rows from a JSON export: ``[[[matrix, ops], test_acc], ...]`` (the mirrored 2,500-cell
    sample) or a list of records with ``adjacency``/``module_adjacency``, ``operations``/
    ``module_operations``, ``test_accuracy`` (or ``test_accuracy_runs``) and optional
    ``validation_accuracy(_runs)`` and ``hash`` (what the nasbench API's
    ``get_metrics_from_hash`` gives, flattened)."""
    raw = _read_json(path)
    if not isinstance(raw, list) or not raw:
        raise GroundTruthError(f"{path}: expected a non-empty JSON list of NB101 cells")
    rows = []
    for k, item in enumerate(raw):
        if isinstance(item, dict):
            if not isinstance(item.get("hash", ""), (str, type(None))):
                raise GroundTruthError(f"{path}: record {k}: 'hash' must be a string")
            matrix = _first(item, "adjacency", "module_adjacency", "matrix")
            ops = _first(item, "operations", "module_operations", "ops")
            test = _first(item, "test_accuracy", "test_accuracy_runs")
            valid = _first(item, "validation_accuracy", "validation_accuracy_runs")
            if matrix is None or ops is None or test is None:
                raise GroundTruthError(f"{path}: record {k} lacks adjacency, operations or test accuracy")
            try:
                rows.append({"matrix": matrix, "ops": ops, "test": _mean(test),
                             "valid": None if valid is None else _mean(valid), "hash": item.get("hash")})
            except GroundTruthError as e:
                raise GroundTruthError(f"{path}: record {k}: {e}") from None
        elif isinstance(item, list) and len(item) == 2 and isinstance(item[0], list) and len(item[0]) == 2:
            (matrix, ops), test = item
            try:
                rows.append({"matrix": matrix, "ops": ops, "test": _mean(test), "valid": None, "hash": None})
            except GroundTruthError as e:
                raise GroundTruthError(f"{path}: record {k}: {e}") from None
        else:
            raise GroundTruthError(f"{path}: record {k} is neither [[matrix, ops], accuracy] nor a dict")
    return rows


def _nb101_rows_tfrecord(path: Path) -> list[dict]:
    """Rows from the official tfrecord: the 108-epoch runs of each cell, averaged."""
    from .tfrecord import RecordError, iter_nasbench

    runs: dict[str, dict] = {}
    try:
        for run in iter_nasbench(path, epochs=108):
            entry = runs.setdefault(run["hash"], {"matrix": run["matrix"], "ops": run["ops"], "test": [],
                                                  "valid": [], "hash": run["hash"]})
            entry["test"].append(run["test_accuracy"])
            entry["valid"].append(run["validation_accuracy"])
    except RecordError as e:
        raise GroundTruthError(str(e)) from None
    return [{**r, "test": _mean(r["test"]), "valid": _mean(r["valid"])} for r in runs.values()]


NB101_READERS: dict[str, Callable[[Path], list[dict]]] = {
    ".json": _nb101_rows_json,
    ".tfrecord": _nb101_rows_tfrecord,
}


def normalize_nb101(table: str | Path, valid_csvs: dict | None = None) -> pd.DataFrame:
    """NB101 ground truth (CIFAR-10, accuracies in %) from any reader in :data:`NB101_READERS`.

    Every cell is validated and hashed; a record that carries the benchmark's hash must agree with
    ours, so a mis-parsed export fails here instead of silently pairing scores with wrong rows.
    """
    path = Path(table)
    if not path.exists():
        raise FileNotFoundError(f"NB101 ground-truth file {path} does not exist (run the download step)")
    if valid_csvs:
        raise GroundTruthError("NB101 validation accuracies come from the table itself, not --valid files")
    reader = NB101_READERS.get(path.suffix)
    if reader is None:
        raise GroundTruthError(f"{path}: no NB101 reader for {path.suffix!r} files; known: {sorted(NB101_READERS)}")
    rows = reader(path)
    archs, hashes = [], []
    for k, row in enumerate(rows):
        try:
            spec = nb101.make_spec(row["matrix"], row["ops"])
        except nb101.ArchSpecError as e:
            raise GroundTruthError(f"{path}: record {k}: {e}") from None
        h = nb101.module_hash(spec)
        if row["hash"] is not None and row["hash"] != h:
            raise GroundTruthError(f"{path}: record {k} says hash {row['hash']} but its cell hashes to {h}")
        archs.append(spec.to_str())
        hashes.append(h)
    out = pd.DataFrame({"arch_index": range(len(rows)), "arch": archs, "canonical": hashes})
    out["acc_cifar10"] = [100.0 * r["test"] for r in rows]
    if any(r["valid"] is not None for r in rows):
        out["valid_cifar10"] = [np.nan if r["valid"] is None else 100.0 * r["valid"] for r in rows]
    return out


def normalize_nds(records: str | Path, valid_csvs: dict | None = None) -> pd.DataFrame:
    """NDS ground truth: one row per record of a design space's JSON list.

    Accuracy = 100 - the final ``test_ep_top1`` (the records store top-1 *error* per epoch); the
    best-epoch value and the records' ``params``/``flops`` (at 224x224) are kept alongside. Every
    ``net`` is validated, so an unknown op or a malformed genotype fails here, naming the record.
    """
    path = Path(records)
    if not path.exists():
        raise FileNotFoundError(f"NDS ground-truth file {path} does not exist (run the download step)")
    if valid_csvs:
        raise GroundTruthError("NDS records have no separate validation accuracy; drop --valid")
    data = _read_json(path)
    if isinstance(data, dict):  # some exports split the list into 'top' and 'mid' halves
        if not all(isinstance(part, list) for part in data.values()):
            raise GroundTruthError(f"{path}: a JSON object of NDS records must map each part to a list of records")
        data = [r for part in data.values() for r in part]
    if not isinstance(data, list) or not data:
        raise GroundTruthError(f"{path}: expected a non-empty JSON list of NDS records")
    rows = []
    for k, rec in enumerate(data):
        try:
            arch = nds.normalize_arch(rec["net"])
            errors = rec["test_ep_top1"]
            rows.append({"arch_index": k, "arch": arch, "canonical": arch,
                         "acc_imagenet": 100.0 - float(errors[-1]), "best_acc_imagenet": 100.0 - float(min(errors)),
                         "params": int(rec["params"]), "flops": int(rec["flops"])})
        except nds.NDSRecordError as e:
            raise GroundTruthError(f"{path}: record {k}: {e}") from None
        except KeyError as e:
            raise GroundTruthError(f"{path}: record {k} lacks a usable {e!s} field "
                                   "(need net, test_ep_top1, params, flops)") from None
        except (TypeError, IndexError, ValueError) as e:
            raise GroundTruthError(f"{path}: record {k} has an unusable test_ep_top1/params/flops value ({e})") from None
    return pd.DataFrame(rows)


NORMALIZERS: dict[str, Callable[..., pd.DataFrame]] = {"nb201": normalize_nb201, "nb101": normalize_nb101}
NORMALIZERS |= {name: normalize_nds for name in nds.DESIGN_SPACES}


def load_groundtruth_csv(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ground-truth table {path} does not exist")
    df = _read_csv(path)
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
                raise ValueError(f"ground truth for {key or 'every space'!r} given twice")
            self.paths[key] = path
        self._tables: dict[str, pd.DataFrame] = {}

    @classmethod
    def of(cls, groundtruth: "str | Sequence[str] | GroundTruths") -> "GroundTruths":
        """``groundtruth`` as GroundTruths: a table path, ``SPACE=CSV`` values, or an instance."""
        return groundtruth if isinstance(groundtruth, GroundTruths) else cls(groundtruth)

    def path(self, space: str) -> str:
        path = self.paths.get(space, self.paths.get(None))
        if path is None:
            raise ValueError(f"no ground-truth table for space {space!r}; give --groundtruth {space}=CSV")
        return path

    def table(self, space: str) -> pd.DataFrame:
        path = self.path(space)
        if path not in self._tables:
            self._tables[path] = load_groundtruth_csv(path)
        return self._tables[path]


def accuracy_column(dataset: str, metric: str = "test") -> str:
    return f"{'acc' if metric == 'test' else 'valid'}_{dataset}"
