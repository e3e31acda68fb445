"""A toy search space as a plugin: plain CNNs written as stage widths, e.g. `"8-16-32"`.

A space subclasses `intrain.spaces.Space` and implements `normalize` (validate and spell
canonically), `network` (the torch module; import torch inside so that parsing stays
torch-free) and `groundtruth` (the benchmark table in intrain's normalised columns). Its ground
truth here, `toy_groundtruth.csv`, is made-up: accuracies generated from the widths plus seeded
noise, for exercising the workflow, not a benchmark.

The optional hooks make it take part in interop like a built-in space: `encodings` adds a
spelling (`width_ids`, each stage's index in `WIDTHS`, written as a CSV export column and
usable with `intrain convert --from width_ids`) and `peer_codec` lets `intrain export` /
`intrain import` write and read it in the peers' score-file layouts (a NASLib-style JSON keyed
by the `width_ids` tuple; zero-cost-nas's pickled records keyed by arch string and index).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from intrain.core.errors import InputError
from intrain.spaces import DatasetSpec, Space
from intrain.spaces.peers import ArchRecord, Encoding, PeerCodec, TupleKey, check_ints

WIDTHS = (8, 16, 32)
MAX_STAGES = 3
TABLE = Path(__file__).with_name("toy_groundtruth.csv")


class ToyArchError(InputError):
    """A toy architecture string that is not 1-3 stage widths from 8, 16, 32 joined by '-'."""


class WidthIds(Encoding):
    """Each stage's index in `WIDTHS`, e.g. `8-16-32` -> `(0, 1, 2)`.

    Examples:
        >>> WidthIds().encode("32-8"), WidthIds().decode("(2, 0)")
        ((2, 0), '32-8')
    """

    name = "width_ids"
    guess = r"[\(\[].*"
    exported = True

    def encode(self, arch: str) -> tuple[int, ...]:
        return tuple(WIDTHS.index(int(w)) for w in ToyCNNSpace().normalize(arch).split("-"))

    def decode(self, value: Any) -> str:
        ids = check_ints(value, None, "toy_cnn width ids", len(WIDTHS))
        return ToyCNNSpace().normalize("-".join(str(WIDTHS[i]) for i in ids))


class ToyCNNSpace(Space):
    """Stages of conv3x3-BN-ReLU (stride 2 after the first), global pool, linear classifier.

    Examples:
        >>> space = ToyCNNSpace()
        >>> space.normalize(" 8-16 ")
        '8-16'
        >>> space.normalize("8-12")
        Traceback (most recent call last):
        ...
        intrain_example.space.ToyArchError: toy_cnn architecture '8-12': stage 2 has width 12; widths are 8, 16, 32
    """

    name = "toy_cnn"
    datasets: ClassVar[dict[str, DatasetSpec]] = {"toy10": DatasetSpec("toy10", 10, 16)}

    def normalize(self, arch: str) -> str:
        parts = str(arch).strip().split("-")
        if not 1 <= len(parts) <= MAX_STAGES:
            raise ToyArchError(f"toy_cnn architecture {arch!r}: {len(parts)} stages; expected 1 to {MAX_STAGES}")
        for i, p in enumerate(parts, start=1):
            if not p.isdigit() or int(p) not in WIDTHS:
                raise ToyArchError(
                    f"toy_cnn architecture {arch!r}: stage {i} has width {p}; widths are {', '.join(map(str, WIDTHS))}"
                )
        return "-".join(str(int(p)) for p in parts)

    def encodings(self) -> dict[str, Encoding]:
        return {"width_ids": WidthIds()}

    def peer_codec(self, fmt: str) -> PeerCodec | None:
        if fmt == "naslib-zc":
            return TupleKey(WidthIds())
        return ArchRecord(self) if fmt == "zero-cost-nas" else None

    def network(self, arch: str, dataset: str, **options: Any):
        from .network import ToyCNN

        return ToyCNN([int(w) for w in self.normalize(arch).split("-")], self.dataset(dataset).num_classes)

    def groundtruth(self, table: str | Path | None = None, valid: Mapping[str, str | Path] | None = None):
        import pandas as pd

        path = Path(table) if table else TABLE
        raw = pd.read_csv(path)
        if not {"arch", "accuracy"} <= set(raw.columns):
            raise InputError(f"{path}: a toy_cnn table needs columns 'arch' and 'accuracy', has {list(raw.columns)}")
        archs = [self.normalize(a) for a in raw["arch"]]
        return pd.DataFrame(
            {
                "arch_index": range(len(raw)),
                "arch": archs,
                "canonical": archs,
                "acc_toy10": raw["accuracy"].astype(float),
            }
        )
