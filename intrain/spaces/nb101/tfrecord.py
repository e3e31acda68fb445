"""Read the official NAS-Bench-101 ``.tfrecord`` without TensorFlow.

Each record of ``nasbench_full.tfrecord`` / ``nasbench_only108.tfrecord`` is a JSON list
``[module_hash, epochs, adjacency digits, "op,op,...", base64(ModelMetrics protobuf)]``. Only two
small formats are involved, so they are decoded here directly: TFRecord framing (little-endian
uint64 length, 4-byte CRC, payload, 4-byte CRC; CRCs are not checked, the JSON parse and the
length framing catch truncation) and the protobuf wire format of ``ModelMetrics``
(nasbench/lib/model_metrics.proto: ``repeated EvaluationData evaluation_data = 1``, ``int32
trainable_parameters = 2``; EvaluationData: doubles ``current_epoch = 1`` ...
``test_accuracy = 5``).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from pathlib import Path

from intrain.core.errors import InputError


class RecordError(InputError):
    pass


def iter_records(path: str | Path) -> Iterator[bytes]:
    """Payloads of a TFRecord file, in order."""
    with open(path, "rb") as f:
        offset = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise RecordError(f"{path}: truncated record header at byte {offset}")
            (length,) = struct.unpack("<Q", header[:8])
            payload = f.read(length)
            if len(payload) < length or len(f.read(4)) < 4:
                raise RecordError(f"{path}: truncated record at byte {offset} (expected {length} bytes)")
            offset += 16 + length
            yield payload


def write_records(path: str | Path, payloads: list[bytes]) -> None:
    """The inverse of `iter_records` (CRCs zeroed); used to build test fixtures."""
    with open(path, "wb") as f:
        for p in payloads:
            f.write(struct.pack("<Q", len(p)) + b"\0" * 4 + p + b"\0" * 4)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(buf):
            raise RecordError("truncated protobuf varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def parse_message(buf: bytes) -> dict[int, list]:
    """Field number -> values (varints as int, fixed64 as double, length-delimited as bytes)."""
    fields: dict[int, list] = {}
    i = 0
    value: int | float | bytes
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            (value,) = struct.unpack("<d", buf[i : i + 8])
            i += 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value = buf[i : i + n]
            i += n
        elif wire == 5:
            (value,) = struct.unpack("<f", buf[i : i + 4])
            i += 4
        else:
            raise RecordError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def final_metrics(metrics_b64: str) -> dict[str, float]:
    """Test/validation accuracy of the last evaluation in a ModelMetrics message, and the params."""
    msg = parse_message(base64.b64decode(metrics_b64))
    evals = msg.get(1, [])
    if not evals:
        raise RecordError("ModelMetrics without evaluation data")
    last = parse_message(evals[-1])
    out = {"test_accuracy": last[5][0], "validation_accuracy": last[4][0]}
    if 2 in msg:
        out["trainable_parameters"] = float(msg[2][0])
    return out


def encode_metrics(test_accuracy: float, validation_accuracy: float, params: int) -> str:
    """A minimal ModelMetrics message (one evaluation) in base64, for test fixtures."""
    ev = struct.pack("<Bd", (4 << 3) | 1, validation_accuracy) + struct.pack("<Bd", (5 << 3) | 1, test_accuracy)
    msg = bytes([(1 << 3) | 2, len(ev)]) + ev + bytes([(2 << 3) | 0])
    v = params
    while True:
        b = v & 0x7F
        v >>= 7
        msg += bytes([b | (0x80 if v else 0)])
        if not v:
            break
    return base64.b64encode(msg).decode()


def iter_nasbench(path: str | Path, epochs: int = 108) -> Iterator[dict]:
    """One dict per training run at ``epochs``: hash, matrix, ops, final test/valid accuracy, params."""
    for k, payload in enumerate(iter_records(path)):
        try:
            module_hash, run_epochs, raw_adj, raw_ops, raw_metrics = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as e:
            raise RecordError(f"{path}: record {k} is not a NAS-Bench-101 row ({e})") from None
        if int(run_epochs) != epochs:
            continue
        dim = int(round(len(raw_adj) ** 0.5))
        if dim * dim != len(raw_adj):
            raise RecordError(f"{path}: record {k} has a non-square adjacency ({len(raw_adj)} digits)")
        matrix = [[int(raw_adj[i * dim + j]) for j in range(dim)] for i in range(dim)]
        yield {"hash": module_hash, "matrix": matrix, "ops": raw_ops.split(","), **final_metrics(raw_metrics)}
