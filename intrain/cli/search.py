"""Commands of InTrain-NAS: Algorithm 1 searches and the NB201 pick-the-top table."""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from intrain.cli.common import SETTINGS_HELP, settings_from, write_csv

log = logging.getLogger("intrain")


def cmd_evolve(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from intrain.core.errors import InputError
    from intrain.search.evolution import MAX_BATCH, evolve
    from intrain.search.problems import make_problem, proxy_score, trajectory_plot
    from intrain.search.workers import MAX_LOCAL, parse_workers
    from intrain.spaces import get_space

    parse_workers(args.workers)  # a bad spec is refused before anything starts
    if not 1 <= args.batch <= MAX_BATCH:
        raise InputError(f"--batch {args.batch}: a round holds 1 to {MAX_BATCH:,} children (built in memory)")
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: a search seed is a non-negative integer")
    if not 1 <= args.threads <= MAX_LOCAL:
        raise InputError(f"--threads {args.threads}: CPU threads per scorer, 1 to {MAX_LOCAL}")

    space = get_space(args.space)
    settings = settings_from(args)
    defaults = {k: v for k, v in space.search_settings.items() if getattr(settings, k) is None}
    settings = replace(settings, **defaults)  # the space's search defaults (zennas: resolution 64), where unset
    problem = make_problem(args.space, args.budget)
    meta = {
        "space": args.space,
        "dataset": args.dataset,
        "budget": args.budget,
        "proxy": args.proxy,
        "settings": settings.as_dict(),
    }
    score: Callable[[str], float]
    if args.scores_from:  # a lookup: nothing is scored (intrain.search.lookup)
        from intrain.search.lookup import LookupScore, artifact_identity, space_archs

        sha = artifact_identity(args.scores_from)  # its content, not its spelling, defines the search
        # scores of another dataset are no answer to this search: refused naming both
        lookup = LookupScore(args.scores_from, args.proxy, args.space, sha256=sha, dataset=args.dataset)
        archs = space_archs(args.space)
        if archs is not None:
            lookup.check_covers(archs)  # once, up front: not when the first missing one is drawn
        score = lookup
        meta["scores_from_sha256"] = sha
    else:
        score = proxy_score(args.space, args.dataset, settings, args.proxy, args.device)
    start = time.perf_counter()
    result = evolve(
        problem,
        score,
        args.iterations,
        k=args.k,
        seed=args.seed,
        log_path=args.log,
        meta=meta,
        checkpoint_every=args.checkpoint_every,
        progress=not args.no_progress,
        batch=args.batch,
        workers=args.workers,
        count_rejected=args.count_rejected,
        threads=args.threads,
    )
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        **meta,
        **({"scores_from": str(args.scores_from)} if args.scores_from else {}),
        "threads": args.threads,
        "k": args.k,
        "seed": args.seed,
        "batch": args.batch,
        "count_rejected": args.count_rejected,
        "iterations": result.iterations,
        "n_evaluated": result.n_evaluated,
        "best_iteration": result.best_iteration,
        "best_score": result.best_score,
        "best_arch": result.best_arch,
        "log": str(args.log),
        **problem.describe(result.best_arch),
        "seconds_this_run": round(time.perf_counter() - start, 1),
    }
    if space.search_note:
        summary["note"] = space.search_note
    if args.groundtruth:
        from intrain.analysis.groundtruth import GroundTruths, accuracy_column

        gt = GroundTruths(args.groundtruth).table(args.space)
        row = gt[gt["arch"] == result.best_arch]
        acc = accuracy_column(args.dataset)
        summary["best_accuracy"] = float(row[acc].iloc[0]) if len(row) else None
        summary["space_best_accuracy"] = float(gt[acc].max())
    (out / "best.json").write_text(json.dumps(summary, indent=1) + "\n")
    trajectory_plot(result.history, out / "trajectory.png")
    print(json.dumps(summary, indent=1))


def cmd_search_table(args: argparse.Namespace) -> None:
    from intrain.search.problems import nb201_pick_table, summarize_picks

    picks = nb201_pick_table(args.scores, args.groundtruth, args.n, args.seeds)
    table = summarize_picks(picks)
    write_csv(table, args.out)
    print(table.to_string(index=False, float_format="%.2f"))


def cmd_search_summary(args: argparse.Namespace) -> None:
    import os

    import pandas as pd

    from intrain.core.bounded import load_json
    from intrain.core.errors import InputError

    folder = os.path.abspath(Path(args.out).parent)
    rows = []
    for path in args.best:
        best = load_json(Path(path), path)  # shared files: size, depth and numbers bounded
        if not isinstance(best, dict) or "best_arch" not in best:
            raise InputError(f"{path}: not a search result (a JSON object with best_arch, as intrain evolve writes)")
        arch = best["best_arch"]
        if "log" in best:  # the report opens it relative to this table's folder (report.search_log_path)
            if not isinstance(best["log"], str) or not best["log"]:
                raise InputError(f"{path}: log {str(best['log'])[:80]!r} is not the path of a search log")
            best["log"] = os.path.relpath(os.path.abspath(best["log"]), folder)
        rows.append(
            {k: v for k, v in best.items() if not isinstance(v, (dict, list))}
            | {"best_arch": arch if isinstance(arch, str) else json.dumps(arch, sort_keys=True)}
        )
    table = pd.DataFrame(rows).drop(columns=["note", "settings"], errors="ignore")
    write_csv(table, args.out)
    print(table.drop(columns=["best_arch"]).to_string(index=False))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this group's subcommands on the top-level parser."""
    p = sub.add_parser("evolve", help="Algorithm 1: evolutionary search with a proxy (resumable HDF5 log)")
    p.add_argument("--space", required=True, help="a space with a search problem (nb201, zennas, a plugin's)")
    p.add_argument(
        "--dataset",
        required=True,
        help="one of the space's datasets (nb201: cifar10, cifar100, ImageNet16-120; zennas: imagenet)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help="a FLOPs budget for spaces that take one (zennas: Zen-NAS get_FLOPs at 224x224, e.g. 450e6)",
    )
    p.add_argument(
        "--iterations",
        type=int,
        default=100_000,
        help="T, architectures visited in total (default: the paper's 100,000)",
    )
    p.add_argument("--k", type=int, default=10, help="parents are drawn from the top k of the history")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy", default="intrain")
    p.add_argument("--settings", default=None, help=SETTINGS_HELP)
    p.add_argument("--device", default="auto")
    p.add_argument("--log", required=True, help="HDF5 search log; an existing one is resumed")
    p.add_argument("--checkpoint-every", type=int, default=25)
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        help="b children per round from one history snapshot, scored together (1: Algorithm 1 itself)",
    )
    p.add_argument(
        "--workers",
        default="1",
        help="who scores a round: N local processes, auto (one per GPU), dask:<scheduler>, slurm:<jobs>;"
        " the history does not depend on it",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads of each scorer, here and in every worker (scores depend on it; default 1)",
    )
    p.add_argument(
        "--count-rejected",
        action="store_true",
        help="Zen-NAS's counting: a child over the budget or layer cap still spends an iteration"
        " (default: T counts scored architectures, as Algorithm 1 is written)",
    )
    p.add_argument(
        "--scores-from",
        default=None,
        metavar="ARTIFACT",
        help="look scores up in a score artifact of the whole space instead of scoring (nb201)",
    )
    p.add_argument("--groundtruth", action="append", default=None, help="report the pick's accuracy (nb201)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out-dir", required=True, help="best.json and trajectory.png go here")
    p.set_defaults(func=cmd_evolve)

    p = sub.add_parser("search-table", help="NB201 pick-the-top protocol from stored scores")
    p.add_argument("scores", nargs="+")
    p.add_argument("--groundtruth", required=True, action="append", metavar="[SPACE=]CSV")
    p.add_argument("--n", type=int, required=True, help="architectures sampled per seed (paper: 5,000)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_search_table)

    p = sub.add_parser("search-summary", help="one CSV row per search (its best.json)")
    p.add_argument("best", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_search_summary)
