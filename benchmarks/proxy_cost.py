"""Seconds per architecture of each proxy scored alone, and of all of them fused.

    python benchmarks/proxy_cost.py --n 10 --dataset cifar10 --threads 2 --out results/benchmarks/proxy_cost.csv

    python benchmarks/proxy_cost.py --before-after --n 5 --dataset cifar10 --threads 1 \
        --proxies tenas grasp vkdnw az_nas --protocol reference --out benchmarks/heavy_cost_cifar10_ref.csv

Each proxy is scored on its own (so its cost includes the shared InTrain probe pass, which
every job runs), on the same seeded NB201 sample; the last row scores all proxies in one
fused job, which shows what sharing passes saves. Not a test: numbers depend on the machine.

``--before-after`` (issue 31) scores each proxy with its fast paths off ("before": the original
code paths, kept behind module switches) and on ("after"), alternating on each architecture so
both see the same machine load; it reports wall and process-CPU seconds per architecture (CPU
seconds are the steadier figure on a shared machine) and the ratio. No fused row in this mode.

``--vkdnw-paths`` (issue 29) times each VKDNW Jacobian path (``intrain.proxies.vkdnw.PATHS``)
forced in turn, alternating on each architecture, with the score each gives (the forward/reverse
crossover in ``benchmarks/heavy_full.md``):

    python benchmarks/proxy_cost.py --vkdnw-paths fast reverse forward forward-loop --n 3 \
        --dataset cifar10 --threads 1 --out benchmarks/vkdnw_paths_cifar10.csv
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from intrain.core.records import ScoreSettings
from intrain.proxies import gradient, list_proxies, vkdnw
from intrain.scoring.scorer import Scorer
from intrain.spaces.nb201.encoding import all_cells

#: The module switches that select each heavy proxy's original path (False) or fast path (True).
FAST_SWITCHES: dict[str, list[tuple[object, str]]] = {
    "vkdnw": [(vkdnw, "FAST")],
    "grasp": [(gradient, "GRASP_ONE_FORWARD")],
}


@contextlib.contextmanager
def fast_paths(proxy: str, on: bool) -> Iterator[None]:
    """Set ``proxy``'s fast-path switches to ``on`` for the block, then restore them."""
    switches = FAST_SWITCHES.get(proxy, [])
    saved = [getattr(m, a) for m, a in switches]
    for m, a in switches:
        setattr(m, a, on)
    try:
        yield
    finally:
        for (m, a), v in zip(switches, saved):
            setattr(m, a, v)


def before_after(args: argparse.Namespace, archs: list[str]) -> list[dict]:
    """Each proxy's seconds per architecture with its fast paths off, then on, alternating per architecture."""
    rows = []
    for proxy in args.proxies:
        settings = ScoreSettings(proxies=(proxy,), protocol=args.protocol)
        scorer = Scorer("nb201", args.dataset, settings, device=args.device)
        scorer.score(0, archs[0])  # warm-up
        wall = {False: 0.0, True: 0.0}
        cpu = {False: 0.0, True: 0.0}
        for i, arch in enumerate(archs):
            for on in (False, True):
                with fast_paths(proxy, on):
                    w, c = time.perf_counter(), time.process_time()
                    scorer.score(i, arch)
                    wall[on] += time.perf_counter() - w
                    cpu[on] += time.process_time() - c
        n = len(archs)
        rows.append(
            {
                "proxy": proxy,
                "protocol": args.protocol,
                "passes": "+".join(scorer.passes) or "probe",
                "fast_path": "yes" if proxy in FAST_SWITCHES else "no",
                "wall_before": wall[False] / n,
                "wall_after": wall[True] / n,
                "cpu_before": cpu[False] / n,
                "cpu_after": cpu[True] / n,
                "cpu_speedup": cpu[False] / cpu[True],
                "dataset": args.dataset,
                "threads": args.threads,
                "n": n,
            }
        )
        r = rows[-1]
        print(
            f"{proxy:8s} cpu {r['cpu_before']:7.2f} -> {r['cpu_after']:7.2f} s/arch ({r['cpu_speedup']:.2f}x), "
            f"wall {r['wall_before']:7.2f} -> {r['wall_after']:7.2f}",
            flush=True,
        )
    return rows


def vkdnw_paths(args: argparse.Namespace, archs: list[str]) -> list[dict]:
    """Seconds per architecture and mean score of each forced VKDNW path, alternating per architecture."""
    settings = ScoreSettings(proxies=("vkdnw",), protocol=args.protocol)
    scorer = Scorer("nb201", args.dataset, settings, device=args.device)
    scorer.score(0, archs[0])  # warm-up
    wall = dict.fromkeys(args.vkdnw_paths, 0.0)
    cpu = dict.fromkeys(args.vkdnw_paths, 0.0)
    scores: dict[str, list[float]] = {p: [] for p in args.vkdnw_paths}
    saved = vkdnw.PATH
    try:
        for i, arch in enumerate(archs):
            for path in args.vkdnw_paths:
                vkdnw.PATH = path
                w, c = time.perf_counter(), time.process_time()
                scores[path].append(scorer.score(i, arch).proxies["vkdnw"]["score"])
                wall[path] += time.perf_counter() - w
                cpu[path] += time.process_time() - c
    finally:
        vkdnw.PATH = saved
    n = len(archs)
    rows = [
        {
            "path": p,
            "wall": wall[p] / n,
            "cpu": cpu[p] / n,
            "mean_score": float(np.mean(scores[p])),
            "max_rel_diff_to_first": max(
                abs(a - b) / max(abs(b), 1e-30) for a, b in zip(scores[p], scores[args.vkdnw_paths[0]])
            ),
            "dataset": args.dataset,
            "protocol": args.protocol,
            "threads": args.threads,
            "n": n,
        }
        for p in args.vkdnw_paths
    ]
    for r in rows:
        print(
            f"vkdnw {r['path']:12s} cpu {r['cpu']:7.2f} s/arch, wall {r['wall']:7.2f}, rel diff {r['max_rel_diff_to_first']:.1e}"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10, help="architectures (seeded uniform sample)")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--proxies", nargs="*", default=list_proxies())
    ap.add_argument("--protocol", default="uniform", choices=["uniform", "reference"])
    ap.add_argument("--before-after", action="store_true", help="original vs fast paths, per proxy (issue 31)")
    ap.add_argument("--vkdnw-paths", nargs="*", default=None, help="time these forced VKDNW paths (issue 29)")
    ap.add_argument("--out", default="results/benchmarks/proxy_cost.csv")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cells = [c.to_str() for c in all_cells()]
    archs = [cells[i] for i in np.random.default_rng(args.seed).choice(len(cells), args.n, replace=False)]
    if args.vkdnw_paths:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(vkdnw_paths(args, archs)).to_csv(out, index=False)
        print(f"wrote {out}")
        return
    if args.before_after:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(before_after(args, archs)).to_csv(out, index=False)
        print(f"wrote {out}")
        return
    rows = []
    for label, proxies in [(p, (p,)) for p in args.proxies] + [("all (fused)", tuple(args.proxies))]:
        scorer = Scorer(
            "nb201", args.dataset, ScoreSettings(proxies=proxies, protocol=args.protocol), device=args.device
        )
        scorer.score(0, archs[0])  # warm-up: allocator, kernels, caches
        start = time.perf_counter()
        for i, arch in enumerate(archs):
            scorer.score(i, arch)
        per_arch = (time.perf_counter() - start) / len(archs)
        rows.append(
            {
                "proxy": label,
                "passes": "+".join(scorer.passes) or "probe",
                "seconds_per_arch": per_arch,
                "dataset": args.dataset,
                "device": args.device,
                "threads": args.threads,
                "n": args.n,
            }
        )
        print(f"{label:14s} {per_arch:7.3f} s/arch  passes: {rows[-1]['passes']}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
