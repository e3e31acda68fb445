"""Command-line interface: the stable surface the Snakemake rules call.

    intrain check-config FILE ... [--json OUT]
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
    intrain search-regret --scores FULL.h5 --groundtruth CSV --out CSV
    intrain render-check HTML
    intrain inspect ARTIFACT [--arch INDEX]
    intrain export | import | convert | agreement ...        (intrain/interop/cli.py)

Each command group is a module of this package with ``add_commands(subparsers)``.

Exit status: 0 on success; 2 when intrain refuses its input (an [`IntrainError`][intrain.core.errors.IntrainError],
shown as one message naming the file, key or record, as argparse does for a bad command line); 1 when
a file cannot be written (disk full, quota). Any other exception is a bug in intrain and keeps its
traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import sys

from intrain.core.errors import IntrainError

log = logging.getLogger("intrain")

#: Exit status when intrain refuses its input (the same as argparse's usage errors).
EXIT_INPUT = 2
#: Exit status when the system refuses a write (disk full, quota, file-size limit, read-only).
EXIT_SYSTEM = 1
#: The errno values of a write that ran out of room (disk, quota, file-size limit, read-only mount).
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})

#: The command groups, in the order ``intrain --help`` lists them.
GROUPS = ("data", "scoring", "analysis", "search")


def build_parser() -> argparse.ArgumentParser:
    """The ``intrain`` parser: every group's subcommands plus the interop commands.

    Examples:
        >>> sorted(build_parser()._subparsers._group_actions[0].choices)[:4]
        ['agreement', 'check-config', 'convert', 'correlate']
    """
    import importlib

    from intrain.interop.cli import add_commands as add_interop_commands

    ap = argparse.ArgumentParser(prog="intrain", description="Zero-cost NAS proxy benchmark harness")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    sub = ap.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        importlib.import_module(f"{__name__}.{group}").add_commands(sub)
    add_interop_commands(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    """Run one ``intrain`` command; the exit status (module docstring) tells input errors from system ones."""
    from intrain.core.log import setup

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
    except IntrainError as e:
        log.error("%s", e)
        return EXIT_INPUT
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        log.error("%s", e)  # a path given on the command line; the message names it
        return EXIT_INPUT
    except OSError as e:
        if e.errno not in WRITE_ERRNOS:
            raise  # not a full disk: a bug or an environment problem keeps its traceback
        log.error("%s: %s (disk full or quota?); earlier outputs are untouched", type(e).__name__, e)
        return EXIT_SYSTEM
    return 0


if __name__ == "__main__":
    sys.exit(main())
