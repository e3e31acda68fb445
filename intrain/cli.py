"""Command-line interface: the stable surface the Snakemake rules call.

    intrain download KEY --out PATH [--mirror DIR|URL]
    intrain groundtruth nb201 --test CSV [--valid DATASET=CSV ...] --out CSV
    intrain groundtruth nb101 --test JSON|TFRECORD --out CSV
    intrain groundtruth nds_darts --test JSON --out CSV        (any of the seven nds_* spaces)
    intrain select --groundtruth CSV --sample N|all --seed S --n-shards K --out CSV
    intrain score --space nb201 --dataset cifar10 --selection CSV --shard I --out H5
    intrain merge --space nb201 --dataset cifar10 --selection CSV --out H5 SHARD.h5 ...
    intrain correlate --groundtruth [SPACE=]CSV ... --out CSV MERGED.h5 ...
    intrain study ablation|topk|stability|batch-size|seeds ... --out CSV
    intrain report --correlations CSV --groundtruth [SPACE=]CSV ... [--study NAME=CSV ...] --out HTML MERGED.h5 ...
    intrain evolve --space zennas --dataset imagenet --budget 450e6 --iterations T --log H5 --out-dir DIR
    intrain describe --space SPACE ARCH [--dataset D] [--json]
    intrain search-table --groundtruth [SPACE=]CSV --n N --out CSV MERGED.h5 ...
    intrain render-check HTML
    intrain inspect ARTIFACT [--arch INDEX]
    intrain export | import | convert | agreement ...        (intrain/interop/cli.py)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from .errors import IntrainError

log = logging.getLogger("intrain")


def _settings(args: argparse.Namespace):
    from .scoring import ScoreSettings

    raw = json.loads(args.settings) if args.settings else {}
    if not isinstance(raw, dict):
        raise ValueError("--settings must be a JSON object")
    try:
        return ScoreSettings.from_dict(raw)
    except ValueError as e:
        raise ValueError(f"--settings: {e}") from None


def _pairs(items: list[str] | None, flag: str, what: str) -> dict[str, str]:
    """Parse repeated ``--flag NAME=VALUE`` options into a dict."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{flag} expects {what}, got {item!r}")
        out[key] = value
    return out


def _write_csv(table, out: str) -> None:
    """Write a table to ``out`` through a temporary file, so no half-written CSV is left."""
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(out_path)


def cmd_download(args: argparse.Namespace) -> None:
    from .download import fetch, get_file

    fetch(get_file(args.key), args.out, mirror=args.mirror, timeout=args.timeout)


def cmd_groundtruth(args: argparse.Namespace) -> None:
    from .groundtruth import NORMALIZERS

    if args.space not in NORMALIZERS:
        raise ValueError(f"no ground-truth normaliser for space {args.space!r}; available: {sorted(NORMALIZERS)}")
    table = NORMALIZERS[args.space](args.test, _pairs(args.valid, "--valid", "DATASET=CSV"))
    _write_csv(table, args.out)
    log.info("wrote %s (%d architectures)", args.out, len(table))


def cmd_select(args: argparse.Namespace) -> None:
    from .groundtruth import load_groundtruth_csv
    from .selection import select

    if (args.sample is None) == (not args.arch):
        raise ValueError("give either --sample or --arch (one or more), not both")
    if args.arch:
        sample = list(args.arch)
    else:
        sample = args.sample if args.sample == "all" else int(args.sample)
    sel = select(load_groundtruth_csv(args.groundtruth), sample, args.seed, args.n_shards,
                 dedup=not args.no_dedup, space=args.space)
    _write_csv(sel, args.out)
    n_rep = int((sel["shard"] >= 0).sum())
    log.info("selected %d architectures (%d to score after dedup) in %d shards -> %s",
             len(sel), n_rep, args.n_shards, args.out)


def cmd_score(args: argparse.Namespace) -> None:
    import pandas as pd
    import torch
    from tqdm import tqdm

    from .allocator import retain_freed_memory
    from .inputs import describe_input
    from .device import describe
    from .io import write_shard
    from .proxies import proxy_class
    from .scoring import Scorer, SharedForwardScorer
    from .selection import settings_hash, shard_items

    if args.threads:
        torch.set_num_threads(args.threads)
    retained = retain_freed_memory()
    settings = _settings(args)
    selection = pd.read_csv(args.selection)
    n_shards = int(selection["shard"].max()) + 1
    if not 0 <= args.shard < max(n_shards, args.shard + 1):
        raise ValueError(f"--shard {args.shard} out of range")
    items = shard_items(selection, args.shard)
    datasets = args.dataset
    if len(args.out) != len(datasets):
        raise ValueError(f"--out needs one file per --dataset: got {len(datasets)} datasets and {len(args.out)} outputs")
    from .device import resolve_device
    from .resources import check_scoring

    check_scoring(args.space, datasets, settings, resolve_device(args.device),
                  [arch for _, arch in items[:1]])  # refuses before any batch or network is allocated
    if len(datasets) > 1:
        scorer = SharedForwardScorer(args.space, datasets, settings, device=args.device)
        first = scorer.scorers[0]
        score_one = scorer.score
    else:
        scorer = first = Scorer(args.space, datasets[0], settings, device=args.device)
        score_one = lambda index, arch: [scorer.score(index, arch)]  # noqa: E731
    log.info("scoring %d architectures of %s/%s shard %d on %s%s", len(items), args.space, "+".join(datasets),
             args.shard, first.device, " (one shared forward per architecture)" if len(datasets) > 1 else "")
    records: list[list] = [[] for _ in datasets]
    start = time.perf_counter()
    for index, arch in tqdm(items, desc=f"{'+'.join(datasets)} shard {args.shard}", unit="arch",
                            disable=args.no_progress, mininterval=2.0):
        for bucket, record in zip(records, score_one(index, arch)):
            bucket.append(record)
    wall = time.perf_counter() - start
    meta = {cls.name: {"higher_is_better": cls.higher_is_better, "version": cls.version,
                       "components": list(cls.components), "reference_input": cls.reference_input,
                       **({"population": cls.population.to_json()} if cls.population else {})}
            for cls in map(proxy_class, settings.proxies)}
    for dataset, bucket, out in zip(datasets, records, args.out):
        attrs = {
            "space": args.space, "dataset": dataset, "shard": args.shard, "n_shards": n_shards,
            "config_hash": settings_hash(args.space, dataset, settings),
            "settings": settings.as_dict(), "seed": settings.seed, "batch_size": settings.batch_size,
            "resolution": first.resolution, "device": describe(first.device),
            "threads": torch.get_num_threads(), "input": describe_input(settings.data, first.x),
            "passes": list(first.passes), "collectors": sorted(first.collectors),
            "shared_forward": list(datasets) if len(datasets) > 1 else [],
            "retain_freed_memory": retained,
        }
        write_shard(out, bucket, attrs, meta)
    log.info("wrote %s: %d architectures x %d datasets in %.1f s (%.3f s/arch/dataset)", ", ".join(args.out),
             len(items), len(datasets), wall, wall / max(1, len(items) * len(datasets)))


def cmd_merge(args: argparse.Namespace) -> None:
    import pandas as pd

    from .io import merge_shards
    from .selection import settings_hash

    expected = settings_hash(args.space, args.dataset, _settings(args)) if args.settings is not None else None
    selection = pd.read_csv(args.selection) if args.selection else None
    merge_shards(args.shards, args.out, members=selection, expected_hash=expected)
    log.info("merged %d shards -> %s", len(args.shards), args.out)


def cmd_correlate(args: argparse.Namespace) -> None:
    from .correlate import correlation_table

    table = correlation_table(args.scores, args.groundtruth, n_boot=args.n_boot, metric=args.metric,
                              workers=args.workers)
    _write_csv(table, args.out)
    cols = ["space", "dataset", "proxy", "n", "n_excluded", "kendall", "spearman", "paper_kendall"]
    print(table[[c for c in cols if c in table.columns]].to_string(index=False, float_format="%.3f"))
    if args.pairs:
        from .correlate import pair_table

        pairs = []
        for spec in args.pairs:
            a, sep, b = spec.partition(":")
            if not sep or not a or not b:
                raise SystemExit(f"--pairs takes A:B (two proxy labels), got {spec!r}")
            pairs.append((a, b))
        diffs = pair_table(args.scores, args.groundtruth, pairs, n_boot=args.n_boot, metric=args.metric)
        if args.pairs_out:
            _write_csv(diffs, args.pairs_out)
        print()
        print(diffs[["space", "dataset", "a", "b", "n", "tau_a", "tau_b", "delta", "lo", "hi"]]
              .to_string(index=False, float_format="%.3f"))


def cmd_report(args: argparse.Namespace) -> None:
    from .report import build_report

    studies = _pairs(args.study, "--study", "NAME=CSV")
    config = json.loads(args.config_json) if args.config_json else None
    build_report(args.correlations, args.scores, args.groundtruth, args.out, studies=studies, config=config)
    log.info("report -> %s", args.out)


def cmd_render_check(args: argparse.Namespace) -> None:
    from .render import render_check

    verdict = render_check(args.path, screenshot=args.screenshot)
    print(json.dumps(verdict))
    if verdict["status"] != "ok":
        raise RuntimeError(f"{args.path}: " + "; ".join(verdict["problems"]))


def cmd_study(args: argparse.Namespace) -> None:
    import pandas as pd

    from . import studies

    if args.study == "ablation":
        table = studies.ablation(args.inputs, args.groundtruth, n_boot=args.n_boot)
    elif args.study == "topk":
        table = studies.topk(args.inputs, args.groundtruth)
    elif args.study == "stability":
        table = studies.stability(pd.read_csv(args.correlations))
    elif args.study == "batch-size":
        table = studies.batch_size(args.inputs, args.groundtruth)
    else:
        table = studies.seed_variance(args.inputs, args.groundtruth)
    _write_csv(table, args.out)
    print(table.to_string(index=False, float_format="%.3f"))


def cmd_evolve(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from .evolution import evolve
    from .search import make_problem, proxy_score, trajectory_plot

    settings = _settings(args)
    if args.space == "zennas" and settings.resolution is None:
        settings = replace(settings, resolution=64)  # the paper's search resolution (budgets stay at 224)
    problem = make_problem(args.space, args.budget)
    meta = {"space": args.space, "dataset": args.dataset, "budget": args.budget, "proxy": args.proxy,
            "settings": settings.as_dict()}
    start = time.perf_counter()
    result = evolve(problem, proxy_score(args.space, args.dataset, settings, args.proxy, args.device),
                    args.iterations, k=args.k, seed=args.seed, log_path=args.log, meta=meta,
                    checkpoint_every=args.checkpoint_every, progress=not args.no_progress)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {
        **meta, "k": args.k, "seed": args.seed, "iterations": result.iterations,
        "n_evaluated": result.n_evaluated, "best_iteration": result.best_iteration,
        "best_score": result.best_score, "best_arch": result.best_arch,
        "log": str(args.log),
        **problem.describe(result.best_arch), "seconds_this_run": round(time.perf_counter() - start, 1),
    }
    if args.space == "zennas":
        summary["note"] = ("untrained: best_arch is a Zen-NAS structure string; write it to a file for the Zen-NAS/ZiCo "
                           "training scripts (--plainnet_struct_txt, --use_se) or build it with "
                           "intrain.spaces.zennas.network.build_model(best_arch, se=True)")
    if args.groundtruth:
        from .groundtruth import GroundTruths, accuracy_column

        gt = GroundTruths(args.groundtruth).table(args.space)
        row = gt[gt["arch"] == result.best_arch]
        acc = accuracy_column(args.dataset)
        summary["best_accuracy"] = float(row[acc].iloc[0]) if len(row) else None
        summary["space_best_accuracy"] = float(gt[acc].max())
    (out / "best.json").write_text(json.dumps(summary, indent=1) + "\n")
    trajectory_plot(result.history, out / "trajectory.png")
    print(json.dumps(summary, indent=1))


def cmd_search_table(args: argparse.Namespace) -> None:
    from .search import nb201_pick_table, summarize_picks

    picks = nb201_pick_table(args.scores, args.groundtruth, args.n, args.seeds)
    table = summarize_picks(picks)
    _write_csv(table, args.out)
    print(table.to_string(index=False, float_format="%.2f"))


def cmd_search_summary(args: argparse.Namespace) -> None:
    import pandas as pd

    rows = []
    for path in args.best:
        best = json.loads(Path(path).read_text())
        arch = best["best_arch"]
        rows.append({k: v for k, v in best.items() if not isinstance(v, (dict, list))}
                    | {"best_arch": arch if isinstance(arch, str) else json.dumps(arch, sort_keys=True)})
    table = pd.DataFrame(rows).drop(columns=["note", "settings"], errors="ignore")
    _write_csv(table, args.out)
    print(table.drop(columns=["best_arch"]).to_string(index=False))


def cmd_inspect(args: argparse.Namespace) -> None:
    from .inspect import inspect_artifact

    print(inspect_artifact(args.path, arch=args.arch, rows=args.rows))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="intrain", description="Zero-cost NAS proxy benchmark harness")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("download", help="fetch a benchmark file (URL or mirror), verify sha256")
    p.add_argument("key", help="file key from intrain/data/benchmarks.yaml, e.g. nb201_test")
    p.add_argument("--out", required=True)
    p.add_argument("--mirror", default=None, help="mirror directory or base URL (default: $INTRAIN_MIRROR)")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("groundtruth", help="normalise a benchmark table")
    p.add_argument("space")
    p.add_argument("--test", required=True, help="the benchmark's test-accuracy table")
    p.add_argument("--valid", action="append", metavar="DATASET=CSV", help="validation table per dataset")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_groundtruth)

    p = sub.add_parser("select", help="sample architectures and assign shards")
    p.add_argument("--groundtruth", required=True)
    p.add_argument("--space", default="nb201", help="the space whose arch strings --arch gives")
    p.add_argument("--sample", default=None, help="number of architectures, or 'all'")
    p.add_argument("--arch", action="append", help="an explicit arch string (repeatable) instead of --sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-shards", type=int, required=True)
    p.add_argument("--no-dedup", action="store_true", help="score every isomorphic copy separately")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_select)

    settings_help = 'JSON object of ScoreSettings fields, e.g. \'{"batch_size": 64, "proxies": ["intrain"]}\''
    p = sub.add_parser("score", help="score one shard into an HDF5 file")
    p.add_argument("--space", required=True)
    p.add_argument("--dataset", required=True, nargs="+",
                   help="one dataset, or several whose networks share a body (one forward each, see README)")
    p.add_argument("--selection", required=True)
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--settings", default=None, help=settings_help)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--out", required=True, nargs="+", help="the shard file, one per --dataset")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("merge", help="merge shard files into one artifact")
    p.add_argument("shards", nargs="+")
    p.add_argument("--space", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--selection", default=None)
    p.add_argument("--settings", default=None, help="refuse shards written under other settings")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("correlate", help="rank correlations of merged scores with ground truth")
    p.add_argument("scores", nargs="+")
    p.add_argument("--groundtruth", required=True, action="append", metavar="[SPACE=]CSV",
                   help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--metric", choices=["test", "valid"], default="test")
    p.add_argument("--workers", type=int, default=1,
                   help="processes for the bootstrap (same table for any number)")
    p.add_argument("--pairs", nargs="+", default=None, metavar="A:B",
                   help="also a paired bootstrap of tau(A) - tau(B) over the same architectures")
    p.add_argument("--pairs-out", default=None, help="CSV for the --pairs table")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_correlate)

    p = sub.add_parser("report", help="HTML report with tables and plots")
    p.add_argument("scores", nargs="+")
    p.add_argument("--correlations", required=True)
    p.add_argument("--groundtruth", required=True, action="append", metavar="[SPACE=]CSV",
                   help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces")
    p.add_argument("--study", action="append", metavar="NAME=CSV", help="a study table to include")
    p.add_argument("--config-json", default=None, help="the workflow config, for the provenance block")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("study", help="the paper's studies from stored artifacts")
    p.add_argument("study", choices=["ablation", "topk", "stability", "batch-size", "seeds"])
    p.add_argument("inputs", nargs="*", help="merged score artifacts (or study runs)")
    p.add_argument("--groundtruth", action="append", default=None, metavar="[SPACE=]CSV",
                   help="normalised ground truth; repeat as SPACE=CSV when artifacts span several spaces")
    p.add_argument("--correlations", default=None, help="correlations.csv (stability)")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("evolve", help="Algorithm 1: evolutionary search with a proxy (resumable HDF5 log)")
    p.add_argument("--space", required=True, choices=["nb201", "zennas"])
    p.add_argument("--dataset", required=True, help="cifar10 / cifar100 / ImageNet16-120 (nb201), imagenet (zennas)")
    p.add_argument("--budget", type=float, default=None, help="Zen-NAS get_FLOPs at 224x224 (zennas), e.g. 450e6")
    p.add_argument("--iterations", type=int, default=100_000,
                   help="T, architectures visited in total (default: the paper's 100,000)")
    p.add_argument("--k", type=int, default=10, help="parents are drawn from the top k of the history")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--proxy", default="intrain")
    p.add_argument("--settings", default=None, help=settings_help)
    p.add_argument("--device", default="auto")
    p.add_argument("--log", required=True, help="HDF5 search log; an existing one is resumed")
    p.add_argument("--checkpoint-every", type=int, default=25)
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

    p = sub.add_parser("render-check", help="render a report in headless Chromium and check it")
    p.add_argument("path")
    p.add_argument("--screenshot", default=None,
                   help="also save full-page PNG screenshots: page.png -> page-1280.png, page-800.png")
    p.set_defaults(func=cmd_render_check)

    p = sub.add_parser("describe", help="parameters, FLOPs (each convention) and layer table of one architecture")
    p.add_argument("arch")
    p.add_argument("--space", required=True)
    p.add_argument("--dataset", default=None, help="default: the space's first dataset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda a: __import__("intrain.describe", fromlist=["main"]).main(a))

    p = sub.add_parser("inspect", help="human summary of an artifact")
    p.add_argument("path")
    p.add_argument("--arch", type=int, default=None, help="benchmark index whose layers to show")
    p.add_argument("--rows", type=int, default=5)
    p.set_defaults(func=cmd_inspect)

    from .interop.cli import add_commands as add_interop_commands

    add_interop_commands(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    from .log import setup

    # Every file has a single writer and is renamed into place, so HDF5's file locks add nothing
    # and fail on NFS/Lustre; a user's explicit setting still wins.
    os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
    # A file-size limit (or quota) must surface as an OSError the writer cleans up after,
    # not as SIGXFSZ killing the process mid-write.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    args = build_parser().parse_args(argv)
    setup(args.verbose)
    try:
        args.func(args)
    except (IntrainError, ValueError, KeyError, FileNotFoundError, RuntimeError) as e:
        log.error("%s", e)
        return 1
    except OSError as e:
        log.error("%s: %s (disk full or quota?); earlier outputs are untouched", type(e).__name__, e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
