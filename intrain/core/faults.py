"""Deterministic fault injection: kill the process at a named point, for the kill-safety tests.

A test that SIGKILLs a run after a timer races the machine's load (a busy machine finishes, or has
not yet started, the step the kill was meant to hit). Instead the writers call `reached` at
named points, and a test sets ``INTRAIN_FAULT=<point>:<n>[:group]``; the n-th time the point is
reached, the process SIGKILLs itself (``group``: its whole process group, e.g. a snakemake run
started in its own session, as a power cut or ``scancel`` would). Without the variable a point
costs one dictionary lookup.

The count is per process, or shared by every process of a run when ``INTRAIN_FAULT_COUNTER``
names a file (each arrival appends one byte under a lock, so "the 3rd shard written by the whole
workflow" is well defined whichever job writes it).

Points (each sits after the bytes were handed to the OS and before the rename into place, so the
kill leaves a temporary file that may be partial and the previous complete file):

* ``artifact.write``: an HDF5 artifact (shard or merged file), `intrain.core.artifacts.atomic_h5`;
* ``search_log.write``: a search-log checkpoint, `intrain.core.search_log.SearchLog.append`.
"""

from __future__ import annotations

import fcntl
import os
import signal
from typing import NamedTuple

from intrain.core.errors import InputError

__all__ = ["COUNTER_ENV", "ENV", "POINTS", "Fault", "parse", "reached"]

ENV = "INTRAIN_FAULT"
COUNTER_ENV = "INTRAIN_FAULT_COUNTER"
POINTS = ("artifact.write", "search_log.write")

_counts: dict[str, int] = {}


class Fault(NamedTuple):
    """Kill at the ``n``-th arrival at ``point``; ``group``: the whole process group."""

    point: str
    n: int
    group: bool


def parse(spec: str) -> Fault:
    """``"<point>:<n>[:group]"`` as a `Fault`; anything else is refused with the format.

    Examples:
        >>> parse("search_log.write:3")
        Fault(point='search_log.write', n=3, group=False)
        >>> parse("artifact.write:2:group").group
        True
    """
    parts = spec.split(":")
    ok = len(parts) in (2, 3) and parts[0] in POINTS and parts[1].isdigit() and int(parts[1]) >= 1
    if not ok or (len(parts) == 3 and parts[2] != "group"):
        raise InputError(
            f"{ENV}={spec!r}: expected <point>:<n>[:group] with point one of {list(POINTS)} "
            "and n >= 1 (e.g. search_log.write:3)"
        )
    return Fault(parts[0], int(parts[1]), len(parts) == 3)


def _arrivals(point: str) -> int:
    """This arrival's number: per process, or across processes through the counter file."""
    path = os.environ.get(COUNTER_ENV)
    if not path:
        _counts[point] = _counts.get(point, 0) + 1
        return _counts[point]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b".")
        return os.fstat(fd).st_size
    finally:
        os.close(fd)  # closing releases the lock


def reached(point: str) -> None:
    """Called by a writer at ``point``; SIGKILLs the process (or group) when ``INTRAIN_FAULT`` says so."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    fault = parse(spec)
    if fault.point != point or _arrivals(point) != fault.n:
        return
    if fault.group:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
