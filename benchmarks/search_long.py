"""Run InTrain-NAS as long as the machine allows and compare what it finds with the published networks.

Issue 30, part 6. Per FLOPs budget, Algorithm 1 (b = 1, k = 10, seed 0, from the space's initial
structure, T counting scored children as the paper's Algorithm 1 is written) runs ``--iterations``
iterations at the search protocol ``--fast B:R`` (``config/search_fast.yaml``); the log is
resumable, so a longer ``--iterations`` continues it. The found structure (the history's best) is
then scored again at the paper's protocol (InTrain, B = 64, 64x64, seed 0) beside the published
Zen-NAS (ZenNet) and ZiCo structures of the same budget, with their Zen-NAS FLOPs and parameters.
Writes ``<out>/found.csv`` and ``<out>/found.md``.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/search_long.py --fast 16:32 --iterations 1000 \\
        --out benchmarks/search_long
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from intrain.core.records import ScoreSettings  # noqa: E402
from intrain.search.evolution import evolve  # noqa: E402
from intrain.search.problems import proxy_score  # noqa: E402
from intrain.spaces.zennas import flops as zf  # noqa: E402
from intrain.spaces.zennas.mutation import ZenSearch  # noqa: E402
from intrain.spaces.zennas.published_structures import PUBLISHED  # noqa: E402

#: budget -> the published structures searched at it (Zen-NAS's ZenNet, ZiCo's)
PUBLISHED_AT = {450e6: ("zen_400M", "zico_450M"), 600e6: ("zen_600M", "zico_600M"), 1e9: ("zen_900M", "zico_1G")}


def _setting(text: str) -> tuple[int, int]:
    try:
        b, r = (int(v) for v in text.split(":"))
    except ValueError:
        raise SystemExit(f"--fast {text!r}: expected B:R, two integers (e.g. 16:32)") from None
    if b < 2 or r < 8:
        raise SystemExit(f"--fast {text!r}: B must be >= 2 and R >= 8")
    return b, r


def _row(key: str, budget: float, structure: str, paper_score, **extra) -> dict:
    return {
        "budget_M": int(budget / 1e6),
        "network": key,
        "zen_flops_M": round(zf.budget_flops(structure) / 1e6, 1),
        "params_M": round(zf.params(structure) / 1e6, 3),
        "intrain_paper_protocol": paper_score(structure),
        **extra,
        "structure": structure,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fast", required=True, metavar="B:R")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--budgets", type=float, nargs="+", default=list(PUBLISHED_AT))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/search_long"))
    args = ap.parse_args(argv)
    if args.iterations < 1:
        raise SystemExit(f"--iterations {args.iterations}: at least 1")
    unknown = [b for b in args.budgets if b not in PUBLISHED_AT]
    if unknown:
        raise SystemExit(f"--budgets {unknown}: published structures exist for {sorted(PUBLISHED_AT)}")
    fb, fr = _setting(args.fast)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    fast = proxy_score("zennas", "imagenet", ScoreSettings(batch_size=fb, resolution=fr, seed=0, proxies=("intrain",)))
    paper = proxy_score("zennas", "imagenet", ScoreSettings(batch_size=64, resolution=64, seed=0, proxies=("intrain",)))
    rows = []
    for budget in args.budgets:
        t0 = time.perf_counter()
        res = evolve(
            ZenSearch(budget),
            fast,
            iterations=args.iterations,
            k=10,
            seed=0,
            log_path=args.out / f"log-{int(budget)}.h5",
        )
        wall = time.perf_counter() - t0
        rows.append(
            _row(
                "found",
                budget,
                res.best_arch,
                paper,
                T=res.iterations,
                distinct_scored=res.n_evaluated,
                best_iteration=res.best_iteration,
                fast_score=res.best_score,
                wall_s_this_call=round(wall, 1),
            )
        )
        for key in PUBLISHED_AT[budget]:
            rows.append(_row(key, budget, PUBLISHED[key].structure, paper))
        print(rows[-3], flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(args.out / "found.csv", index=False)
    shown = df.drop(columns=["structure"])
    text = (
        f"# InTrain-NAS runs at the fast protocol (B = {fb}, {fr}x{fr}) and the published structures\n\n"
        f"Machine: {platform.machine()} {os.cpu_count()}-core CPU VM, torch {torch.__version__} CPU, one thread.  \n"
        f"Command: `OMP_NUM_THREADS=1 python benchmarks/search_long.py --fast {args.fast} --iterations {args.iterations} "
        f"--budgets {' '.join(f'{b:g}' for b in args.budgets)}` (resumes its logs).  \n"
        "`intrain_paper_protocol`: InTrain at the paper's B = 64, 64x64, seed 0, for every row alike; "
        "`fast_score`: the search's own score of its best; `wall_s_this_call`: this call's search time "
        "(0 when the log already held T iterations).\n\n"
        f"{shown.to_markdown(index=False)}\n"
    )
    (args.out / "found.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
