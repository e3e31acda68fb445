"""Keep freed memory in the process: scoring frees and reallocates the same few-MB buffers.

A probe allocates activations and gradients of a few MB each, frees them, and the next network
asks for the same sizes again. glibc's default malloc gives such blocks back to the kernel
(``munmap`` above the mmap threshold, ``brk`` trimming of the heap top), so every pass pays
for fresh zero-filled pages: on the 2-core CPU VM, ~300k page faults per 16 NB201 pairs and
about 10 % of a scoring job's wall time in the kernel (``benchmarks/throughput.py``). Raising
the thresholds keeps those pages mapped and reused. It changes where buffers live, never the
arithmetic: scores are bit-for-bit the same (tested).

glibc only; elsewhere (macOS, musl) this is a no-op that reports False.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

# mallopt parameter codes from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

#: Allocations below this come from the heap (glibc caps the threshold at 32 MiB on 64-bit).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap top kept instead of trimmed back to the kernel.
TRIM_THRESHOLD = 1024 * 1024 * 1024
#: Extra memory requested with each heap growth, so growth happens rarely.
TOP_PAD = 256 * 1024 * 1024

#: Set to 0 to leave the allocator alone (e.g. to measure the difference).
ENV_SWITCH = "INTRAIN_RETAIN_MEMORY"


def retain_freed_memory() -> bool:
    """Tell glibc malloc to keep freed scoring buffers for reuse; True if it took effect."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = all(
        mallopt(param, value) == 1
        for param, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD),
        )
    )
    if not ok:
        log.debug("mallopt refused a setting; allocator left at its defaults")
    return ok
