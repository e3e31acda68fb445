"""InTrain on NAS-Bench-101: input resolution, layer choice and the ground truth's training noise.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/nb101_resolution.py \
        --records $INTRAIN_MIRROR/nb101/nb101_30archs_3runs.json --out benchmarks/nb101_resolution.md

The InTrain paper reports τ .56 on NB101 (B = 64, R = 64, post-activation features, presumably
the benchmark's mean over its three training runs); intrain's default run gives about .50 at
R = 32 on conv outputs against one run per cell. This scores the 30 mirrored NB101 cells that
carry all three runs under the four combinations of R ∈ {32, 64} and layers ∈ {conv, relu}, and
correlates each with the three-run mean and with each single run. Paired Δτ CIs compare each
setting with the default (R = 32, conv) on the same cells. With 30 cells the intervals are wide:
this bounds the effects, it does not pin them down.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import emit

from intrain.analysis.stats import correlate, kendall, paired_tau_difference

SETTINGS = ((32, "conv"), (32, "relu"), (64, "conv"), (64, "relu"))


def arch_string(record: dict) -> str:
    rows = "-".join("".join(str(v) for v in row) for row in record["adjacency"])
    return f"{rows}|{','.join(op.replace('-bn-relu', '') for op in record['operations'][1:-1])}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", required=True, help="nb101_30archs_3runs.json")
    ap.add_argument(
        "--settings",
        nargs="+",
        default=[f"{r}:{lay}" for r, lay in SETTINGS],
        metavar="R:LAYERS",
        help="resolution:layers pairs to score (the first is the baseline of the Δ column)",
    )
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import torch

    from intrain.core.records import ScoreSettings
    from intrain.scoring.scorer import Scorer

    torch.set_num_threads(1)
    records = json.loads(Path(args.records).read_text())
    archs = [arch_string(r) for r in records]
    runs = np.array([r["test_accuracy_runs"] for r in records], dtype=float)  # (cells, 3)
    mean = runs.mean(axis=1)
    scores, walls = {}, {}
    settings = [(int(r), lay) for r, _, lay in (spec.partition(":") for spec in args.settings)]
    for res, layers in settings:
        s = Scorer("nb101", "cifar10", ScoreSettings(resolution=res, layers=layers), device="cpu")
        t0 = time.perf_counter()
        scores[(res, layers)] = np.array([s.score(i, a).proxies["intrain"]["score"] for i, a in enumerate(archs)])
        walls[(res, layers)] = time.perf_counter() - t0
    base = scores[settings[0]]
    lines = [
        f"# InTrain on {len(archs)} NAS-Bench-101 cells with three training runs each "
        "(B = 64, Gaussian input, 1 CPU thread)",
        "",
        f"| R | layers | wall | τ vs 3-run mean [95% CI] | τ vs run 1 / 2 / 3 | Δ vs R={settings[0][0]} {settings[0][1]}, paired (mean) [CI] |",
        "|---|---|---|---|---|---|",
    ]
    for (res, layers), v in scores.items():
        c = correlate(v, mean, n_boot=args.n_boot)
        singles = " / ".join(f"{kendall(v, runs[:, k]):.3f}" for k in range(3))
        d = paired_tau_difference(v, base, mean, n_boot=args.n_boot)
        delta = "–" if (res, layers) == settings[0] else f"{d.delta:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"
        lines.append(
            f"| {res} | {layers} | {walls[(res, layers)]:.0f} s | {c.kendall:.3f} "
            f"[{c.kendall_lo:.3f}, {c.kendall_hi:.3f}] | {singles} | {delta} |"
        )
    between = [kendall(runs[:, a], runs[:, b]) for a, b in ((0, 1), (0, 2), (1, 2))]
    to_mean = [kendall(runs[:, k], mean) for k in range(3)]
    lines += [
        "",
        f"Training noise of the ground truth on these cells: τ between single runs "
        f"{' / '.join(f'{t:.3f}' for t in between)}; τ of each run with the mean "
        f"{' / '.join(f'{t:.3f}' for t in to_mean)}.",
    ]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
