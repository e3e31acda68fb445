"""NDS ground truth: one row per record of a design space's JSON list."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from intrain.spaces.base import GroundTruthError
from intrain.spaces.nds.encoding import NDSRecordError, normalize_arch
from intrain.spaces.tables import read_json


def read_groundtruth(records: str | Path, valid_csvs: dict | None = None) -> pd.DataFrame:
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
    data = read_json(path)
    if isinstance(data, dict):  # some exports split the list into 'top' and 'mid' halves
        if not all(isinstance(part, list) for part in data.values()):
            raise GroundTruthError(f"{path}: a JSON object of NDS records must map each part to a list of records")
        data = [r for part in data.values() for r in part]
    if not isinstance(data, list) or not data:
        raise GroundTruthError(f"{path}: expected a non-empty JSON list of NDS records")
    rows = []
    for k, rec in enumerate(data):
        try:
            arch = normalize_arch(rec["net"])
            errors = rec["test_ep_top1"]
            rows.append(
                {
                    "arch_index": k,
                    "arch": arch,
                    "canonical": arch,
                    "acc_imagenet": 100.0 - float(errors[-1]),
                    "best_acc_imagenet": 100.0 - float(min(errors)),
                    "params": int(rec["params"]),
                    "flops": int(rec["flops"]),
                }
            )
        except NDSRecordError as e:
            raise GroundTruthError(f"{path}: record {k}: {e}") from None
        except KeyError as e:
            raise GroundTruthError(
                f"{path}: record {k} lacks a usable {e!s} field (need net, test_ep_top1, params, flops)"
            ) from None
        except (TypeError, IndexError, ValueError) as e:
            raise GroundTruthError(
                f"{path}: record {k} has an unusable test_ep_top1/params/flops value ({e})"
            ) from None
    return pd.DataFrame(rows)
