"""What batching costs: regret of InTrain-NAS on NB201 against T, for several round sizes b, paired across seeds.

    PYTHONPATH=$PWD python benchmarks/search_regret.py \\
        --scores results/nb201/cifar10/scores.h5 --groundtruth results/groundtruth/nb201.csv \\
        --dataset cifar10 --batches 1 4 16 64 --seeds 100 --T 10 25 50 100 250 500 1000 \\
        --out benchmarks/search_regret.csv --markdown benchmarks/search_regret.md

Every search looks its scores up in a score artifact of the whole space (``search.scores_from``,
:class:`intrain.search.lookup.LookupScore`), so nothing is scored. The computation is
:mod:`intrain.search.regret` (also ``intrain search-regret``, which the workflow runs): regret at T
= (best accuracy in the space) - (accuracy of the architecture the search returns after T
iterations), one search of T_max per (b, seed) giving every T <= T_max. Seeds are paired: seed s
runs with every b; the table gives per (b, T) the mean regret with a bootstrap band, the paired
difference to b = 1 and to random search with as many distinct evaluations on the same seed (each
with a seeded bootstrap 95 % interval over seeds, 2,000 resamples), and the proxy ceiling (regret
of the best-by-score architecture of the whole space). ``<out>.runs.csv`` holds every (b, seed, T).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from intrain.search.lookup import artifact_identity  # noqa: E402
from intrain.search.regret import DEFAULT_T, RegretSpace, paired_table, regret_runs, table_markdown  # noqa: E402

MACHINE = "2-core CPU VM, torch 2.13 CPU"


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scores", required=True, help="a score artifact of the whole NB201 space (merged)")
    ap.add_argument("--groundtruth", required=True, action="append", metavar="[SPACE=]CSV")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--metric", choices=["test", "valid"], default="test", help="the accuracy regret is measured in")
    ap.add_argument("--proxy", default="intrain")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--T", type=int, nargs="+", default=list(DEFAULT_T), dest="ts")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/search_regret.csv")
    ap.add_argument("--markdown", default=None, help="also write the table as markdown here")
    args = ap.parse_args(argv)
    if min(args.batches) != 1:
        ap.error("--batches must include 1 (the paired differences are taken against b = 1)")
    if min(args.ts) < 1 or args.seeds < 1:
        ap.error("--T values and --seeds must be >= 1")
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    space = RegretSpace.load(args.scores, args.groundtruth, args.dataset, args.proxy, args.metric)
    runs = regret_runs(space, args.batches, args.seeds, sorted(set(args.ts)), args.k)
    table = paired_table(runs, space.ceiling())
    seconds = time.perf_counter() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    runs.to_csv(Path(args.out).with_suffix(".runs.csv"), index=False)
    print(table.to_string(index=False, float_format="%.3f"))
    if args.markdown:
        cmd = "python benchmarks/search_regret.py " + " ".join(argv if argv is not None else sys.argv[1:])
        Path(args.markdown).write_text(
            f"Regret (points of {args.metric} accuracy on {args.dataset}; space best {space.best_accuracy:.2f}) of "
            f"InTrain-NAS on NB201 per round size b, {args.seeds} paired seeds, k = {args.k}, proxy {args.proxy}.\n\n"
            + table_markdown(table)
            + f"\nCommand: `{cmd}` ({seconds:.1f} s on a {MACHINE}).\n"
            f"Score artifact: sealed content sha256 `{artifact_identity(args.scores)}` (what a search log "
            f"records, `intrain.search.lookup.artifact_identity`); file sha256 `{sha256_file(args.scores)}`.\n"
        )
    print(f"{len(runs) // len(set(args.ts))} searches in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
