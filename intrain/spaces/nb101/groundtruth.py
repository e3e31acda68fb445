"""NAS-Bench-101 ground truth (CIFAR-10, %) from a JSON export or the official tfrecord."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from intrain.spaces.base import GroundTruthError
from intrain.spaces.nb101.encoding import ArchSpecError, make_spec, module_hash
from intrain.spaces.tables import mean_accuracy as _mean
from intrain.spaces.tables import read_json


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
    raw = read_json(path)
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
                rows.append(
                    {
                        "matrix": matrix,
                        "ops": ops,
                        "test": _mean(test),
                        "valid": None if valid is None else _mean(valid),
                        "hash": item.get("hash"),
                    }
                )
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
    from intrain.spaces.nb101.tfrecord import RecordError, iter_nasbench

    runs: dict[str, dict] = {}
    try:
        for run in iter_nasbench(path, epochs=108):
            entry = runs.setdefault(
                run["hash"], {"matrix": run["matrix"], "ops": run["ops"], "test": [], "valid": [], "hash": run["hash"]}
            )
            entry["test"].append(run["test_accuracy"])
            entry["valid"].append(run["validation_accuracy"])
    except RecordError as e:
        raise GroundTruthError(str(e)) from None
    return [{**r, "test": _mean(r["test"]), "valid": _mean(r["valid"])} for r in runs.values()]


READERS: dict[str, Callable[[Path], list[dict]]] = {
    ".json": _nb101_rows_json,
    ".tfrecord": _nb101_rows_tfrecord,
}


def read_groundtruth(table: str | Path, valid_csvs: dict | None = None) -> pd.DataFrame:
    """NB101 ground truth (CIFAR-10, accuracies in %) from any reader in `READERS`.

    Every cell is validated and hashed; a record that carries the benchmark's hash must agree with
    ours, so a mis-parsed export fails here instead of silently pairing scores with wrong rows.
    """
    path = Path(table)
    if not path.exists():
        raise FileNotFoundError(f"NB101 ground-truth file {path} does not exist (run the download step)")
    if valid_csvs:
        raise GroundTruthError("NB101 validation accuracies come from the table itself, not --valid files")
    reader = READERS.get(path.suffix)
    if reader is None:
        raise GroundTruthError(f"{path}: no NB101 reader for {path.suffix!r} files; known: {sorted(READERS)}")
    rows = reader(path)
    archs, hashes = [], []
    for k, row in enumerate(rows):
        try:
            spec = make_spec(row["matrix"], row["ops"])
        except ArchSpecError as e:
            raise GroundTruthError(f"{path}: record {k}: {e}") from None
        h = module_hash(spec)
        if row["hash"] is not None and row["hash"] != h:
            raise GroundTruthError(f"{path}: record {k} says hash {row['hash']} but its cell hashes to {h}")
        archs.append(spec.to_str())
        hashes.append(h)
    out = pd.DataFrame({"arch_index": range(len(rows)), "arch": archs, "canonical": hashes})
    out["acc_cifar10"] = [100.0 * r["test"] for r in rows]
    if any(r["valid"] is not None for r in rows):
        out["valid_cifar10"] = [np.nan if r["valid"] is None else 100.0 * r["valid"] for r in rows]
    return out
