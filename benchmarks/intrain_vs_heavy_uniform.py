"""InTrain − each heavy proxy, paired over the same networks, under both of the proxy's protocols.

    .venv/bin/python benchmarks/intrain_vs_heavy_uniform.py RESULTS/groundtruth/nb201.csv \
        RESULTS/nb201/ImageNet16-120/{scores,set-heavy,set-heavy_ref}.h5 [more datasets' files]

Why: the protocol table (`intrain protocol-table`) pairs InTrain only with each proxy's variant
(the reference protocol, which the paper's claims are about). Whether a verdict hangs on that
protocol is the same paired bootstrap against the proxy's uniform-protocol scores; this prints
both, as CSV (dataset, proxy, protocol, n, InTrain − proxy, 95 % CI), from the merged artifacts.
Torch-free, like the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intrain.analysis.comparison import _collect, _paired  # the table's own reading and pairing
from intrain.analysis.groundtruth import GroundTruths

HEAVY = ("tenas", "grasp", "vkdnw", "az_nas")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("groundtruth")
    ap.add_argument("scores", nargs="+", help="merged artifacts: scores.h5 (InTrain) and the heavy sets")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()
    print("dataset,proxy,protocol,n,intrain_minus,lo,hi")
    for (_, dataset), (scores, acc) in _collect(args.scores, GroundTruths.of(args.groundtruth), "test").items():
        own = scores.get(("intrain", "uniform"))
        if own is None:
            raise SystemExit(f"{dataset}: no InTrain scores among the files (pass its scores.h5)")
        for proxy in HEAVY:
            for protocol in ("uniform", "reference"):
                theirs = scores.get((proxy, protocol))
                if theirs is not None:
                    d = _paired(own.values, theirs.values, acc, args.n_boot, 0)
                    print(f"{dataset},{proxy},{protocol},{d.n},{d.delta:+.3f},{d.lo:+.3f},{d.hi:+.3f}")


if __name__ == "__main__":
    main()
