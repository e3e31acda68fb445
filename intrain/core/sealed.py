"""Checksummed HDF5 files: a sha256 of the file in its user block, verified before HDF5 reads it.

The HDF5 library trusts its input: a bit flip in a global heap can send it into an endless loop
(seen while fuzzing: ``H5HG__cache_heap_deserialize`` reading a string attribute), which no
Python-level timeout interrupts. Files intrain writes (score artifacts, search logs) therefore
start with a 512-byte user block, which HDF5 skips, holding ``MAGIC`` and the sha256 of every
byte after the block. `verify` checks it before any HDF5 call, so a truncated or damaged
file is refused in words instead of reaching the library. Files written before this existed
(no user block) are still read, unchecked.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

USERBLOCK = 512
MAGIC = b"intrain-sha256:"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def seal(data: bytes | bytearray | memoryview) -> bytes:
    """The bytes of an HDF5 file made with ``userblock_size=USERBLOCK``, with the checksum filled in."""
    data = bytes(data)
    if data[USERBLOCK : USERBLOCK + 8] != HDF5_SIGNATURE:
        raise ValueError("seal() needs an HDF5 file created with userblock_size=512")
    header = MAGIC + hashlib.sha256(data[USERBLOCK:]).hexdigest().encode() + b"\n"
    return header.ljust(USERBLOCK, b"\0") + data[USERBLOCK:]


def verify(path: str | os.PathLike[str]) -> str | None:
    """None when ``path`` is a sealed file with a matching checksum or an unsealed (older) HDF5
    file; otherwise what is wrong, in words."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(USERBLOCK + 8)
        if head[:8] == HDF5_SIGNATURE:
            return None  # written before files were sealed
        if not head.startswith(MAGIC):
            return "not an intrain HDF5 file (no checksum header, no HDF5 signature)"
        if size <= USERBLOCK or head[USERBLOCK : USERBLOCK + 8] != HDF5_SIGNATURE:
            return "truncated or damaged (no HDF5 data after the checksum header)"
        want = head[len(MAGIC) : len(MAGIC) + 64]
        h = hashlib.sha256()
        f.seek(USERBLOCK)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest().encode() != want:
        return "checksum mismatch (truncated or damaged after it was written)"
    return None
