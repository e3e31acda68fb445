"""``intrain export | import | convert | agreement``: argument parsing and handlers.

Registered by `add_commands` from ``intrain.cli``; handlers import their modules lazily so
``intrain --help`` stays fast.

    intrain export MERGED.h5 ... --format naslib-zc|zero-cost-nas|csv|parquet --out FILE
                   [--proxy P ...] [--groundtruth [SPACE=]CSV]
    intrain import --format naslib-zc|zero-cost-nas FILE --space S --dataset D --out ARTIFACT [--table T]
    intrain convert --space S TEXT [--from FORM] [--table T] [--json]

Which spaces a format or a form exists for is the space's own answer (its ``peer_codec`` and
``encodings`` hooks, [`intrain.spaces.peers`][intrain.spaces.peers]), so a plugin space takes part by declaring them.
    intrain agreement IMPORTED.h5 ... OWN.h5 ... [--groundtruth [SPACE=]CSV] [--metric valid|test] [--out CSV]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from intrain.core.errors import InputError

log = logging.getLogger("intrain")

__all__ = ["add_commands"]


def _write_csv(table, out: str) -> None:
    from intrain.core.sinks import csv_text
    from intrain.interop.peerscores import write_atomic

    write_atomic(out, lambda fh: fh.write(csv_text(table).encode("utf-8")))  # formula cells neutralised


def cmd_export(args: argparse.Namespace) -> None:
    from intrain.interop.export import export

    notes = export(args.scores, args.format, args.out, proxies=args.proxy, groundtruth=args.groundtruth)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    log.info("exported %d artifact(s) -> %s (%s)", len(args.scores), args.out, args.format)


def cmd_import(args: argparse.Namespace) -> None:
    from intrain.interop.importer import import_scores

    summary = import_scores(args.file, args.format, args.space, args.dataset, args.out, table=args.table)
    print(json.dumps(summary))


def cmd_convert(args: argparse.Namespace) -> None:
    from intrain.interop.peer_encodings import convert

    out = convert(args.space, args.text, form=args.form, table=args.table)
    if args.json:
        print(json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}))
        return
    for key, value in out.items():
        print(f"{key}: {'' if value is None else value}")


def cmd_agreement(args: argparse.Namespace) -> None:
    from intrain.interop.agreement import agreement_table

    if len(args.scores) < 2:
        raise InputError("agreement needs at least two artifacts")
    table = agreement_table(args.scores, args.groundtruth, metric=args.metric)
    if args.out:
        _write_csv(table, args.out)
    print(table.to_string(index=False, float_format="%.3f") if not table.empty else "no shared proxies")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add the interop subcommands to ``intrain``'s subparsers."""
    p = sub.add_parser("export", help="write merged artifacts as NASLib zc JSON, zero-cost-nas pickles, CSV or Parquet")
    p.add_argument("scores", nargs="+", help="merged artifacts (one space; one per dataset)")
    p.add_argument("--format", required=True, choices=["naslib-zc", "zero-cost-nas", "csv", "parquet"])
    p.add_argument("--proxy", action="append", default=None, help="proxy to export (repeatable; default: all)")
    p.add_argument(
        "--groundtruth",
        action="append",
        default=None,
        metavar="[SPACE=]CSV",
        help="normalised ground truth with valid_<dataset> columns, for val_accuracy",
    )
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="a peer's score file -> an intrain artifact")
    p.add_argument("file")
    p.add_argument("--format", required=True, choices=["naslib-zc", "zero-cost-nas", "csv", "parquet"])
    p.add_argument("--space", required=True, help="a space whose peer_codec knows --format (nb201, nb101, a plugin)")
    p.add_argument("--dataset", required=True)
    p.add_argument(
        "--table",
        default=None,
        help="benchmark table giving each architecture's index (default: the mirror's, INTRAIN_MIRROR)",
    )
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("convert", help="an architecture in every encoding (arch string, NASLib tuple, index, ...)")
    p.add_argument("text", help="e.g. '(4, 0, 3, 1, 4, 3)', an arch string, an index or an NB101 hash")
    p.add_argument("--space", required=True, help="nb201, nb101 or any space that declares encodings")
    p.add_argument(
        "--from",
        dest="form",
        default=None,
        help="the form of TEXT: arch, index or one of the space's encodings (nb201: naslib, op_ids; "
        "nb101: naslib, hash, pruned_arch); default: guessed (op_ids must be named)",
    )
    p.add_argument("--table", default=None, help="benchmark table for the index (default: the mirror's)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("agreement", help="two implementations of the same proxies: rho between them, tau of each")
    p.add_argument(
        "scores",
        nargs="+",
        help="artifacts: each import (a) against each own artifact (b) of its space and dataset; "
        "without imports, the first against the rest",
    )
    p.add_argument("--groundtruth", action="append", default=None, metavar="[SPACE=]CSV")
    p.add_argument("--metric", choices=["test", "valid"], default="valid")
    p.add_argument("--out", default=None)
    p.set_defaults(func=cmd_agreement)
