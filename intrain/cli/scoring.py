"""Commands that score shards of architectures and merge them into artifacts (these import torch)."""

from __future__ import annotations

import argparse
import logging
import time

from intrain.cli.common import SETTINGS_HELP, settings_from
from intrain.core.errors import InputError
from intrain.core.sinks import read_csv

log = logging.getLogger("intrain")


def cmd_score(args: argparse.Namespace) -> None:
    import torch
    from tqdm import tqdm

    from intrain.core.artifacts import write_shard
    from intrain.engine.allocator import retain_freed_memory
    from intrain.engine.device import describe
    from intrain.engine.inputs import describe_input
    from intrain.planning.selection import settings_hash, shard_items
    from intrain.proxies import proxy_class
    from intrain.scoring.scorer import Scorer, SharedForwardScorer

    if args.threads:
        torch.set_num_threads(args.threads)
    retained = retain_freed_memory()
    settings = settings_from(args)
    selection = read_csv(args.selection)  # written by write_csv: neutralised cells restored
    n_shards = int(selection["shard"].max()) + 1
    if not 0 <= args.shard < max(n_shards, args.shard + 1):
        raise InputError(f"--shard {args.shard} out of range")
    items = shard_items(selection, args.shard)
    datasets = args.dataset
    if len(args.out) != len(datasets):
        raise InputError(
            f"--out needs one file per --dataset: got {len(datasets)} datasets and {len(args.out)} outputs"
        )
    from intrain.engine.device import resolve_device
    from intrain.scoring.resources import check_scoring

    check_scoring(
        args.space, datasets, settings, resolve_device(args.device), [arch for _, arch in items[:1]]
    )  # refuses before any batch or network is allocated
    if len(datasets) > 1:
        shared = SharedForwardScorer(args.space, datasets, settings, device=args.device)
        first = shared.scorers[0]
        score_one = shared.score
    else:
        scorer = first = Scorer(args.space, datasets[0], settings, device=args.device)
        score_one = lambda index, arch: [scorer.score(index, arch)]  # noqa: E731
    log.info(
        "scoring %d architectures of %s/%s shard %d on %s%s",
        len(items),
        args.space,
        "+".join(datasets),
        args.shard,
        first.device,
        " (one shared forward per architecture)" if len(datasets) > 1 else "",
    )
    records: list[list] = [[] for _ in datasets]
    start = time.perf_counter()
    for index, arch in tqdm(
        items, desc=f"{'+'.join(datasets)} shard {args.shard}", unit="arch", disable=args.no_progress, mininterval=2.0
    ):
        for bucket, record in zip(records, score_one(index, arch)):
            bucket.append(record)
    wall = time.perf_counter() - start
    meta = {
        cls.name: {
            "higher_is_better": cls.higher_is_better,
            "version": cls.version,
            "components": list(cls.components),
            "reference_input": cls.reference_input,
            "input": first.input_of[cls.name],
            **({"population": cls.population.to_json()} if cls.population else {}),
        }
        for cls in map(proxy_class, settings.proxies)
    }
    for dataset, bucket, out in zip(datasets, records, args.out):
        attrs = {
            "space": args.space,
            "dataset": dataset,
            "shard": args.shard,
            "n_shards": n_shards,
            "config_hash": settings_hash(args.space, dataset, settings),
            "settings": settings.as_dict(),
            "seed": settings.seed,
            "batch_size": settings.batch_size,
            "resolution": first.resolution,
            "device": describe(first.device),
            "threads": torch.get_num_threads(),
            "input": describe_input(settings.data, first.x),
            "passes": list(first.passes),
            "collectors": sorted(first.collectors),
            "shared_forward": list(datasets) if len(datasets) > 1 else [],
            "retain_freed_memory": retained,
        }
        write_shard(out, bucket, attrs, meta)
    log.info(
        "wrote %s: %d architectures x %d datasets in %.1f s (%.3f s/arch/dataset)",
        ", ".join(args.out),
        len(items),
        len(datasets),
        wall,
        wall / max(1, len(items) * len(datasets)),
    )


def cmd_merge(args: argparse.Namespace) -> None:
    from intrain.core.artifacts import merge_shards
    from intrain.planning.selection import settings_hash

    expected = settings_hash(args.space, args.dataset, settings_from(args)) if args.settings is not None else None
    selection = read_csv(args.selection) if args.selection else None
    merge_shards(args.shards, args.out, members=selection, expected_hash=expected)
    log.info("merged %d shards -> %s", len(args.shards), args.out)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this group's subcommands on the top-level parser."""
    p = sub.add_parser("score", help="score one shard into an HDF5 file")
    p.add_argument("--space", required=True)
    p.add_argument(
        "--dataset",
        required=True,
        nargs="+",
        help="one dataset, or several whose networks share a body (one forward each, see docs/implementation.md)",
    )
    p.add_argument("--selection", required=True)
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--settings", default=None, help=SETTINGS_HELP)
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
