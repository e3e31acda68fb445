"""Commands that fetch benchmarks, normalise ground truth, sample architectures and describe them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from intrain.cli.common import pairs, write_csv
from intrain.core.errors import InputError

log = logging.getLogger("intrain")


def cmd_download(args: argparse.Namespace) -> None:
    from intrain.core.download import fetch, get_file

    fetch(get_file(args.key), args.out, mirror=args.mirror, timeout=args.timeout)


def cmd_groundtruth(args: argparse.Namespace) -> None:
    from intrain.analysis.groundtruth import normalize

    table = normalize(
        args.space, args.test, pairs(args.valid, "--valid", "DATASET=CSV")
    )  # an unknown space names the known
    write_csv(table, args.out)
    log.info("wrote %s (%d architectures)", args.out, len(table))


def cmd_select(args: argparse.Namespace) -> None:
    from intrain.analysis.groundtruth import load_groundtruth_csv
    from intrain.planning.selection import select

    if (args.sample is None) == (not args.arch):
        raise InputError("give either --sample or --arch (one or more), not both")
    if args.arch:
        sample: int | str | list[str] = list(args.arch)
    else:
        sample = args.sample if args.sample == "all" else int(args.sample)
    sel = select(
        load_groundtruth_csv(args.groundtruth),
        sample,
        args.seed,
        args.n_shards,
        dedup=not args.no_dedup,
        space=args.space,
    )
    write_csv(sel, args.out)
    n_rep = int((sel["shard"] >= 0).sum())
    log.info(
        "selected %d architectures (%d to score after dedup) in %d shards -> %s",
        len(sel),
        n_rep,
        args.n_shards,
        args.out,
    )


def cmd_inspect(args: argparse.Namespace) -> None:
    from intrain.analysis.inspection import inspect_artifact

    print(inspect_artifact(args.path, arch=args.arch, rows=args.rows))


def cmd_check_config(args: argparse.Namespace) -> None:
    """Read config files as untrusted data before Snakemake does (it evaluates YTE templates)."""
    import json

    from intrain.planning.configcheck import load_overlay, merge_overlay

    merged: dict = {}
    for path in args.files:
        merged = merge_overlay(merged, load_overlay(Path(path)))
        log.info("%s: data only (no YAML aliases, tags or templates), within the size and depth bounds", path)
    if args.json:
        tmp = Path(f"{args.json}.tmp")
        tmp.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
        tmp.replace(args.json)
        log.info("wrote %s: pass it to snakemake as --configfile (JSON is read without templates)", args.json)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this group's subcommands on the top-level parser."""
    p = sub.add_parser(
        "check-config",
        help="check config files from someone else as data (no YAML aliases, tags or YTE templates), "
        "optionally merged into one JSON file for snakemake --configfile",
    )
    p.add_argument("files", nargs="+", help="YAML or JSON config files, merged in order")
    p.add_argument("--json", help="write the merged, checked config here")
    p.set_defaults(func=cmd_check_config)

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

    p = sub.add_parser("describe", help="parameters, FLOPs (each convention) and layer table of one architecture")
    p.add_argument("arch")
    p.add_argument("--space", required=True)
    p.add_argument("--dataset", default=None, help="default: the space's first dataset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda a: __import__("intrain.spaces.describe", fromlist=["main"]).main(a))

    p = sub.add_parser("inspect", help="human summary of an artifact")
    p.add_argument("path")
    p.add_argument("--arch", type=int, default=None, help="benchmark index whose layers to show")
    p.add_argument("--rows", type=int, default=5)
    p.set_defaults(func=cmd_inspect)
