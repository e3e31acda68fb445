"""Algorithm 1 steps per second on the Zen-NAS space, before and after the cheap step (issue 30).

Per FLOPs budget (450M, 600M, 1000M; each search starts from ZiCo's published network of that
budget, so the networks scored are budget-sized from the first step) and per configuration:

* ``today``: the code before the cheap step, imported from ``--before`` (a copy of the package
  taken before the change; omitted when not given);
* ``cheap``: this tree, one process (``search.batch = 1``, ``search.workers = 1``);
* ``cheap_2workers``: this tree, ``search.batch = 2``, ``search.workers = 2`` (local processes);
* ``fast`` and ``fast_2workers``: the same two at the search protocol ``--fast B:R``
  (``config/search_fast.yaml``, chosen by ``benchmarks/search_protocol.py``) instead of the
  paper's B = 64, 64x64; skipped without ``--fast``.

Every scorer uses one torch thread. Each configuration runs in a subprocess of its own (so the
package it imports is the one asked for) as ``evolve(..., iterations=steps + 1)``: the start plus
``steps`` children, InTrain at B = 64, 64x64, seed 0; the scorer and the worker processes are
warmed first. In one process, each scored network's bare forward + backward (same batch and
resolution, no hooks) and its score are timed again after the search, alternately, for the
overhead ratio (the first `PAIRED` scored networks). Children take two edits from the first one
on (``edits_after=0``), the search's steady state. Writes ``<out>.csv``
and ``<out>.md`` (machine, load averages at the start and end, the command).

    OMP_NUM_THREADS=1 python benchmarks/search_throughput.py --steps 4 --before /path/to/old/copy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BUDGETS = {"450M": (450e6, "zico_450M"), "600M": (600e6, "zico_600M"), "1000M": (1e9, "zico_1G")}
#: name -> (uses the --before copy, search.batch, search.workers, scored at the --fast protocol)
CONFIGS = {
    "today": (True, 1, 1, False),
    "cheap": (False, 1, 1, False),
    "cheap_2workers": (False, 2, 2, False),
    "fast": (False, 1, 1, True),
    "fast_2workers": (False, 2, 2, True),
}
PAPER = (64, 64)  # the paper's (B, R)
T_PAPER = 100_000
PAIRED = 2  # networks timed again, score against bare forward + backward
HERE = Path(__file__).resolve().parent


def _paired_seconds(score, archs: list[str], batch: int, resolution: int, repeats: int = 2) -> tuple[float, float]:
    """Mean over ``archs`` of (InTrain score seconds, bare forward + backward seconds), each the
    minimum of ``repeats`` runs taken alternately, so a load change hits both alike. Bare: the
    network built from the same seed, no hooks, the same batch and resolution: its own work."""
    import torch

    from intrain.spaces.zennas import build_network

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, resolution, resolution, generator=gen)
    y = torch.randint(0, 1000, (batch,), generator=gen)
    scored, bare = [], []
    for arch in archs:
        s_best = b_best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            score(arch)
            s_best = min(s_best, time.perf_counter() - t0)
            torch.manual_seed(0)
            model = build_network(arch).train()
            t0 = time.perf_counter()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            b_best = min(b_best, time.perf_counter() - t0)
        scored.append(s_best)
        bare.append(b_best)
    return sum(scored) / len(scored), sum(bare) / len(bare)


def run_one(config: str, budget_name: str, steps: int, fast: tuple[int, int] | None = None) -> dict:
    """One configuration at one budget, in this process (the package on ``sys.path``)."""
    import torch

    import intrain
    from intrain.core.records import ScoreSettings
    from intrain.search.evolution import evolve
    from intrain.search.problems import ProxyScore
    from intrain.search.workers import LocalProcesses
    from intrain.spaces.zennas.mutation import ZenSearch
    from intrain.spaces.zennas.published_structures import PUBLISHED

    torch.set_num_threads(1)
    _, batch, workers, is_fast = CONFIGS[config]
    budget, start = BUDGETS[budget_name]
    if is_fast and fast is None:
        raise SystemExit(f"{config}: needs --fast B:R")
    b_in, r_in = fast if is_fast and fast else PAPER
    settings = ScoreSettings(batch_size=b_in, resolution=r_in, seed=0, proxies=("intrain",))
    # two edits from the first child on (Algorithm 1's steady state once the history has 10
    # members): a published network sits at the layer cap and near the budget, so about half of
    # its one-edit children are the parent itself (a head edit, or nothing else fits)
    problem = ZenSearch(budget, initial=PUBLISHED[start].structure, edits_after=0)
    score = ProxyScore("zennas", "imagenet", settings)
    pool = LocalProcesses(score, workers, threads=1) if workers > 1 else None
    warm = [problem.initial] * workers
    _ = pool.map(warm) if pool else score(warm[0])  # scorer built, batch drawn, workers spawned
    t0 = time.perf_counter()
    result = evolve(problem, score, iterations=steps + 1, k=10, seed=0, batch=batch, workers=pool or 1)
    wall = time.perf_counter() - t0
    if pool:
        pool.close()
    new = result.history[result.history["new"] == 1]["arch"].tolist()
    score_s, bare_s = _paired_seconds(score, new[:PAIRED], b_in, r_in) if workers == 1 else (None, None)
    per_scored = wall / len(new)
    return {
        "budget": budget_name,
        "config": config,
        "B": b_in,
        "R": r_in,
        "batch": batch,
        "workers": workers,
        "threads": 1,
        "iterations": steps + 1,
        "scored": len(new),
        "wall_s": round(wall, 2),
        "s_per_step": round(wall / (steps + 1), 2),
        "steps_per_s": round((steps + 1) / wall, 4),
        "s_per_scored": round(per_scored, 2),
        "scored_per_s": round(1 / per_scored, 4),
        "T100k_hours": round(T_PAPER * per_scored / 3600, 1),
        "score_s": round(score_s, 2) if score_s else None,
        "bare_fwd_bwd_s": round(bare_s, 2) if bare_s else None,
        "score_over_bare": round(score_s / bare_s, 2) if score_s and bare_s else None,
        "package": "before" if CONFIGS[config][0] else "this tree",
        "package_dir": str(Path(intrain.__file__).parent.parent),
    }


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=4, help="children scored per configuration (after the start)")
    ap.add_argument("--before", help="root of a copy of the package before the change (measures 'today')")
    ap.add_argument("--budgets", nargs="+", default=list(BUDGETS), choices=list(BUDGETS))
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--out", default=str(HERE / "search_throughput"))
    ap.add_argument("--fast", metavar="B:R", help="the search protocol of the fast configurations (e.g. 16:32)")
    ap.add_argument("--one", nargs=2, metavar=("CONFIG", "BUDGET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    fast: tuple[int, int] | None = None
    if args.fast:
        try:
            fb, fr = (int(v) for v in args.fast.split(":"))
        except ValueError:
            ap.error(f"--fast {args.fast!r}: expected B:R, two integers (e.g. 16:32)")
        if fb < 2 or fr < 8:
            ap.error(f"--fast {args.fast!r}: B must be >= 2 and R >= 8")
        fast = (fb, fr)
    if args.steps < 1:
        ap.error(f"--steps {args.steps}: at least one child per configuration")
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.steps, fast)))
        return
    if fast is None and any(CONFIGS[c][3] for c in args.configs):
        print("no --fast B:R given: the fast configurations are skipped", file=sys.stderr)
        args.configs = [c for c in args.configs if not CONFIGS[c][3]]
    if "today" in args.configs and not args.before:
        print("no --before copy given: the 'today' configuration is skipped", file=sys.stderr)
        args.configs = [c for c in args.configs if c != "today"]
    if args.before and not (Path(args.before) / "intrain" / "__init__.py").is_file():
        ap.error(f"--before {args.before}: no intrain package there (give the directory that holds intrain/)")
    import pandas as pd

    load_start, started = _load(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for budget in args.budgets:
        for config in args.configs:
            root = args.before if CONFIGS[config][0] else str(HERE.parent)
            env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            cmd = [sys.executable, str(Path(__file__).resolve()), "--one", config, budget, "--steps", str(args.steps)]
            cmd += ["--fast", args.fast] if fast else []
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{config} at {budget} failed:\n{done.stderr[-3000:]}")
            row = json.loads(done.stdout.strip().splitlines()[-1])
            if not row["package_dir"].startswith(str(Path(root).resolve())):
                sys.exit(f"{config} imported intrain from {row['package_dir']}, not {root}")
            rows.append(row)
            print(row, flush=True)
    load_end = _load()
    df = pd.DataFrame(rows).drop(columns=["package_dir"])
    out = Path(args.out)
    df.to_csv(out.with_suffix(".csv"), index=False)
    command = (
        f"OMP_NUM_THREADS=1 nice -n 10 python benchmarks/search_throughput.py --steps {args.steps} "
        f"--budgets {' '.join(args.budgets)} --configs {' '.join(args.configs)}"
        + (f" --fast {args.fast}" if fast else "")
        + (" --before <copy of the package before the change>" if args.before else "")
    )
    text = (
        "# Search throughput (Algorithm 1 on the Zen-NAS space, InTrain at the paper's B = 64, 64x64 and at `--fast`)\n\n"
        f"Machine: {platform.machine()} {os.cpu_count()}-core CPU VM ({platform.platform(terse=True)}), "
        f"torch {__import__('torch').__version__} CPU, one torch thread per scorer, run under `nice -n 10`.  \n"
        f"Started {started}; load average (1, 5, 15 min) at the start {load_start}, at the end {load_end} "
        "(a shared machine: other jobs ran meanwhile, so the times are upper bounds).  \n"
        f"Command: `{command}` (`--before` names a copy of the package taken before the change).\n\n"
        f"{df.to_markdown(index=False)}\n\n"
        "`s_per_step`: the search's wall time (warm-up excluded) over its iterations, the start included; "
        "`s_per_scored`: over the networks it scored (a child equal to an earlier one is not rescored); "
        "`T100k_hours` projects T = 100,000 iterations at `s_per_scored` (an upper bound: every "
        f"iteration scoring a new network). In one process, `score_s` and `bare_fwd_bwd_s` are the mean over the first {PAIRED} "
        "scored networks of an InTrain score and of the network's bare forward + backward (same batch and "
        "resolution, no hooks), each the best of 2 runs taken alternately; `score_over_bare` is their ratio "
        "(the issue's goal: <= 1.5).\n"
    )
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
