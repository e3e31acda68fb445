"""Who scores a search round's new architectures: this process, local processes (one per GPU where
several exist), or an existing Dask cluster (``distributed``; on Slurm through ``dask-jobqueue``).

Every scorer runs with the same number of torch CPU threads (``threads``, default 1), here or in
any worker: a float reduction's result depends on the thread count, so scores (and the history)
would otherwise change with the number of workers. A pool only maps architectures to scores and returns them in the order asked, so the search's
history never depends on which pool scored a round or how fast (`.evolution`). Pools other
than `InProcess` need a picklable ``score``; it is shipped once per worker process (an
initializer, or a Dask scatter), so a scorer that builds a network stack lazily builds it once per
worker, not once per architecture.

Specs (``search.workers``, ``intrain evolve --workers``), one registry entry per form:

* ``1`` (default): score here; ``n``: ``n`` local processes (spawned; each exits when its parent
  dies, even by SIGKILL); ``auto``: one process per GPU where several are
  visible (each sees only its own through ``CUDA_VISIBLE_DEVICES``), else here;
* ``dask:<scheduler address>``: a running Dask cluster (e.g. ``dask:tcp://10.0.0.5:8786``);
* ``slurm:<jobs>``: a ``dask_jobqueue.SLURMCluster`` of that many jobs, each one worker process,
  sized by Dask's ``jobqueue.slurm`` configuration (cores, memory, queue, walltime ...).

Examples:
    >>> with open_pool(1, len) as pool:
    ...     pool.map(["ab", "abc"])
    [2.0, 3.0]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from intrain.core.errors import InputError

log = logging.getLogger(__name__)
MAX_LOCAL = 1024  # local worker processes at most
DEFAULT_THREADS = 1  # CPU threads per scorer, the same in this process and in every worker
DASK_CONNECT_TIMEOUT = "20s"  # an unreachable scheduler is an error in words after this long

__all__ = ["DaskPool", "InProcess", "LocalProcesses", "ScorePool", "open_pool", "parse_workers", "scores_in_order"]


class ScorePool(Protocol):
    """Scores for a list of architectures, in the order given."""

    def map(self, archs: Sequence[str]) -> list[float]: ...


def _set_threads(threads: int) -> int | None:
    """Give torch ``threads`` CPU threads (the previous count, None without torch); scores of a
    float reduction depend on the thread count, so every scorer of a search uses the same."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    before = torch.get_num_threads()
    if before != threads:
        torch.set_num_threads(threads)
    return before


def scores_in_order(pool: Any, archs: Sequence[str]) -> Iterable[float]:
    """The scores of ``archs`` in order, each as soon as it and those before it are done (a pool's
    ``imap``; a pool with only ``map`` gives them all at once), so a search checkpoints mid-round."""
    imap = getattr(pool, "imap", None)
    return imap(archs) if imap is not None else pool.map(archs)


class InProcess:
    """Score in this process, one architecture after the other, with ``threads`` torch threads."""

    def __init__(self, score: Callable[[str], float], threads: int = DEFAULT_THREADS) -> None:
        self.score, self.threads = score, threads

    def map(self, archs: Sequence[str]) -> list[float]:
        before = _set_threads(self.threads)
        try:
            return [float(self.score(a)) for a in archs]
        finally:
            if before is not None:
                _set_threads(before)

    def imap(self, archs: Sequence[str]) -> Iterator[float]:
        for a in archs:  # the caller's thread count is restored between scores (it may log in between)
            yield self.map([a])[0]

    def close(self) -> None:
        pass


# --------------------------------------------------------------------- local processes

_installed: Callable[[str], float] | None = None


def _die_with_parent(parent: int) -> None:
    """End this worker when its parent dies, even by SIGKILL (the OOM killer): Linux's
    ``PR_SET_PDEATHSIG``, and everywhere a thread polling ``os.getppid()``."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # died before the prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="intrain-parent-watch", daemon=True).start()


def _install(score: Callable[[str], float], devices: Any, threads: int, parent: int) -> None:
    """Process initializer: exit with the parent; keep the scorer; claim one GPU when the pool
    hands them out; give torch the search's per-scorer thread count (the same as in-process)."""
    global _installed
    _die_with_parent(parent)
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(devices.get())  # before this process first touches CUDA
    os.environ["OMP_NUM_THREADS"] = str(threads)
    _set_threads(threads)
    _installed = score


def _run(arch: str) -> float:
    assert _installed is not None, "worker process without a scorer (initializer not run)"
    return float(_installed(arch))


class LocalProcesses:
    """``n`` spawned processes on this machine; ``devices``: one GPU index per process."""

    def __init__(
        self,
        score: Callable[[str], float],
        n: int,
        devices: Sequence[int] | None = None,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")  # fork after torch/CUDA is unsafe
        queue = None
        if devices is not None:
            queue = ctx.Queue()
            for d in devices:
                queue.put(d)
        self.n = n
        self.executor = ProcessPoolExecutor(
            n, mp_context=ctx, initializer=_install, initargs=(score, queue, threads, os.getpid())
        )

    def map(self, archs: Sequence[str]) -> list[float]:
        return list(self.executor.map(_run, archs))

    def imap(self, archs: Sequence[str]) -> Iterator[float]:
        return self.executor.map(_run, archs)  # all submitted now, yielded in order

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------- Dask


def _call(arch: str, score: Callable[[str], float], threads: int = DEFAULT_THREADS) -> float:
    _set_threads(threads)
    return float(score(arch))


class DaskPool:
    """A ``distributed.Client``'s workers; the scorer is scattered to them once."""

    def __init__(
        self, score: Callable[[str], float], client: Any, owned: Sequence[Any] = (), threads: int = DEFAULT_THREADS
    ) -> None:
        self.client, self.threads = client, threads
        self.owned = list(owned)  # what closing this pool shuts down (a cluster it started)
        self.score = client.scatter(score, broadcast=True, hash=False)

    def map(self, archs: Sequence[str]) -> list[float]:
        futures = self.client.map(_call, list(archs), score=self.score, threads=self.threads, pure=False)
        return [float(s) for s in self.client.gather(futures)]

    def imap(self, archs: Sequence[str]) -> Iterator[float]:
        futures = self.client.map(_call, list(archs), score=self.score, threads=self.threads, pure=False)
        for future in futures:
            yield float(future.result())

    def close(self) -> None:
        for thing in self.owned:
            with contextlib.suppress(Exception):  # a cluster already gone is no error on the way out
                thing.close()


def _dask_client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "workers 'dask:...' need Dask: pip install 'intrain[distributed]' (dask[distributed], dask-jobqueue)"
        ) from None
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(
            f"workers 'dask:{address[:200]}': cannot reach a Dask scheduler there ({type(e).__name__}: {str(e)[:200]})"
        ) from None


def _slurm(score: Callable[[str], float], jobs: int, threads: int) -> DaskPool:
    try:
        import dask
        from dask_jobqueue import SLURMCluster
        from distributed import Client
    except ImportError:
        raise InputError("workers 'slurm:<jobs>' need dask-jobqueue: pip install 'intrain[distributed]'") from None
    # Dask's jobqueue.slurm configuration sizes the jobs; cores and memory default to one core, 4 GB
    configured = dask.config.get("jobqueue.slurm", default={}) or {}
    kwargs: dict[str, Any] = {
        k: v for k, v in {"cores": 1, "memory": "4GB", "processes": 1}.items() if configured.get(k) is None
    }
    cluster = SLURMCluster(**kwargs)
    cluster.scale(jobs=jobs)
    client = Client(cluster)
    return DaskPool(score, client, owned=[client, cluster], threads=threads)


# --------------------------------------------------------------------- specs


def _gpu_count() -> int:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def parse_workers(spec: int | str) -> tuple[str, Any]:
    """``(kind, argument)`` of a workers spec; anything else is refused with the accepted forms.

    Examples:
        >>> parse_workers(1), parse_workers("4"), parse_workers("auto"), parse_workers("dask:tcp://h:8786")
        (('local', 1), ('local', 4), ('auto', None), ('dask', 'tcp://h:8786'))
        >>> parse_workers("slurm:2")
        ('slurm', 2)
    """
    text = str(spec).strip()
    if text == "auto":
        return "auto", None
    kind, _, arg = text.partition(":")

    def count(digits: str) -> int | None:  # ASCII digits only ("²".isdigit() is True), 1 .. MAX_LOCAL
        return int(digits) if re.fullmatch(r"[0-9]{1,20}", digits) and 1 <= int(digits) <= MAX_LOCAL else None

    if count(text) is not None:
        return "local", count(text)
    if kind == "dask" and arg:
        return "dask", arg
    if kind == "slurm" and count(arg) is not None:
        return "slurm", count(arg)
    raise InputError(
        f"workers {str(spec)[:80]!r}: expected a number from 1 to {MAX_LOCAL}, 'auto', "
        f"'dask:<scheduler address>' or 'slurm:<jobs>' (jobs 1 to {MAX_LOCAL})"
    )


def _shippable(score: Callable[[str], float]) -> Callable[[str], float]:
    """``score`` itself when it pickles (worker processes need it), else an error saying what to pass."""
    import pickle

    try:
        pickle.dumps(score)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise InputError(
            f"scoring in worker processes needs a picklable score (a module-level function or object, "
            f"not a lambda or closure): {str(e)[:200]}"
        ) from None
    return score


def _local(score: Callable[[str], float], n: int, threads: int) -> InProcess | LocalProcesses:
    return InProcess(score, threads) if n == 1 else LocalProcesses(_shippable(score), n, threads=threads)


def _auto(score: Callable[[str], float], _: None, threads: int) -> InProcess | LocalProcesses:
    gpus = _gpu_count()
    if gpus > 1:
        return LocalProcesses(_shippable(score), gpus, devices=list(range(gpus)), threads=threads)
    return InProcess(score, threads)


def _dask(score: Callable[[str], float], address: str, threads: int) -> DaskPool:
    client = _dask_client(address)
    return DaskPool(score, client, owned=[client], threads=threads)


POOLS: dict[str, Callable[[Callable[[str], float], Any, int], Any]] = {
    "local": _local,
    "auto": _auto,
    "dask": _dask,
    "slurm": _slurm,
}


@contextlib.contextmanager
def open_pool(
    workers: int | str | ScorePool | Any, score: Callable[[str], float], threads: int = DEFAULT_THREADS
) -> Iterator[ScorePool]:
    """The pool a workers spec names (closed on exit), a ``distributed.Client``'s, or a pool given;
    every scorer runs with ``threads`` torch threads, wherever it runs."""
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= MAX_LOCAL:
        raise InputError(f"threads {str(threads)[:40]!r}: a number of CPU threads per scorer, 1 to {MAX_LOCAL}")
    if hasattr(workers, "scatter") and hasattr(workers, "gather"):  # a distributed.Client
        pool: Any = DaskPool(score, workers, threads=threads)
    elif hasattr(workers, "map") and not isinstance(workers, (int, str)):
        pool = workers
    else:
        kind, arg = parse_workers(workers)
        pool = POOLS[kind](score, arg, threads)
    try:
        yield pool
    finally:
        if pool is not workers and hasattr(pool, "close"):
            pool.close()
