"""``search.scores_from``: a search scorer that looks scores up in a stored score artifact.

With an artifact holding every architecture of a space (NB201: 15,625), a search scores nothing:
each architecture's proxy value is read once from the artifact, so thousands of seeded searches
take seconds (`intrain.search.regret`: ``intrain search-regret``, ``benchmarks/search_regret.py``).
The artifact is read through [`intrain.core.artifacts`][intrain.core.artifacts] (checksummed,
bounded), and an architecture it does not hold is an error naming it, never a silent NaN.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat
from collections.abc import Callable, Iterable
from typing import Any

from intrain.core import sealed
from intrain.core.artifacts import read_attrs, read_population_rules, read_scores
from intrain.core.errors import InputError, IntrainError
from intrain.core.ranking import add_population_scores

__all__ = ["LookupScore", "artifact_identity", "space_archs"]


#: how the option is named where the user did not say (the config key); commands pass their flag
DEFAULT_OPTION = "search.scores_from"


def _user_file(path: str, what: str, option: str = DEFAULT_OPTION) -> InputError:
    # a user's file: say what is wrong with it, never advise deleting it
    return InputError(f"{option} {path} {what}; give a score artifact (intrain score / merge writes them)")


def artifact_identity(path: str | os.PathLike[str], option: str = DEFAULT_OPTION) -> str:
    """The sha256 that names an artifact's content: its sealed checksum (in its user block, verified
    here), else the sha256 of the whole file. A search log records it, not the path, so a file
    replaced under the same path is told apart and the same file spelled differently is not.

    Anything but a readable regular file (a directory, a FIFO that would block, a device) is
    refused in words before it is opened for reading. ``option`` names the file in messages (the
    command's flag, e.g. ``--scores-from``).
    """
    text = str(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise _user_file(text, f"cannot be read ({e.strerror or e})", option) from None
    if not stat.S_ISREG(st.st_mode):
        raise _user_file(text, "is not a regular file (a directory, FIFO or device)", option)
    try:
        problem = sealed.verify(path)
        if problem:
            raise _user_file(text, f"is not a usable score artifact ({problem})", option)
        with open(path, "rb") as f:
            head = f.read(sealed.USERBLOCK)
            if head.startswith(sealed.MAGIC):
                return head[len(sealed.MAGIC) : len(sealed.MAGIC) + 64].decode("ascii")
            h = hashlib.sha256(head)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
            return h.hexdigest()
    except OSError as e:
        raise _user_file(text, f"cannot be read ({e.strerror or e})", option) from None


def _nb201_archs() -> Iterable[str]:
    from intrain.spaces.nb201.encoding import EDGES, OPS, Cell

    return (Cell(ops).to_str() for ops in itertools.product(OPS, repeat=len(EDGES)))


#: spaces small enough to enumerate: a lookup is checked to cover them before the search starts
SPACE_ARCHS: dict[str, Callable[[], Iterable[str]]] = {"nb201": _nb201_archs}


def space_archs(space: str) -> Iterable[str] | None:
    """Every architecture of ``space`` when it is enumerable (None otherwise).

    Examples:
        >>> sum(1 for _ in space_archs("nb201"))
        15625
    """
    make = SPACE_ARCHS.get(space)
    return make() if make else None


class LookupScore:
    """``score(arch)`` read from a score artifact's ``proxy`` column (picklable; loads on first use).

    ``dataset``, when given, must be the artifact's (its ``dataset`` attribute): scores of CIFAR-100
    are no answer to a search on CIFAR-10. ``option`` names the artifact in messages (the
    command's flag: ``--scores-from``, ``--scores``; the config key by default).

    Examples:
        >>> import copy
        >>> score = copy.deepcopy(LookupScore("results/merged/nb201-cifar10.h5", "intrain", "nb201"))  # as a worker gets it
        >>> score.proxy, score._table is None
        ('intrain', True)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        proxy: str = "intrain",
        space: str | None = None,
        sha256: str | None = None,
        dataset: str | None = None,
        option: str = DEFAULT_OPTION,
    ) -> None:
        self.path, self.proxy, self.space = str(path), proxy, space
        self.dataset, self.option = dataset, option
        self.sha256 = sha256  # the artifact every process must read (artifact_identity), when given
        self._table: dict[str, float] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_table": None}

    def identity(self) -> str:
        """The artifact's sha256 (`artifact_identity`); checks it is a readable regular file."""
        return artifact_identity(self.path, self.option)

    def check_covers(self, archs: Iterable[str]) -> None:
        """Refuse, before any search work, an artifact that lacks architectures of the space."""
        table = self.table()
        missing = [a for a in archs if a not in table]
        if missing:
            raise InputError(
                f"{self.option} {self.path} lacks {len(missing):,} architectures of the space "
                f"(e.g. {missing[0][:200]!r}); score the whole space into it or drop {self.option}"
            )

    def table(self) -> dict[str, float]:
        """arch -> score, read once."""
        if self._table is None:
            sha = self.identity()  # a regular, readable file: a FIFO would block the reader, a directory is no artifact
            if self.sha256 is not None and sha != self.sha256:
                raise InputError(
                    f"{self.option} {self.path} changed since the search started (sha256 {sha[:12]}..., "
                    f"expected {self.sha256[:12]}...); rerun the search with one artifact"
                )
            try:
                self._table = self._read()
            except IntrainError:
                raise
            except OSError as e:
                raise _user_file(self.path, f"cannot be read ({e.strerror or e})", self.option) from None
        return self._table

    def _read(self) -> dict[str, float]:
        attrs = read_attrs(self.path)
        if self.space is not None and attrs.get("space") != self.space:
            raise InputError(
                f"{self.option} {self.path} holds space {attrs.get('space')!r} scores, the search is on {self.space!r}"
            )
        if self.dataset is not None and attrs.get("dataset") != self.dataset:
            raise InputError(
                f"{self.option} {self.path} holds {attrs.get('dataset')!r} scores, the search is on dataset "
                f"{self.dataset!r}; give an artifact of {self.dataset!r} or --dataset {attrs.get('dataset')!r}"
            )
        df = add_population_scores(read_scores(self.path), read_population_rules(self.path))
        if self.proxy not in df.columns:
            have = sorted(c for c in df.columns if c not in ("arch_index", "arch", "flags", "seconds", "loss"))
            raise InputError(f"{self.option} {self.path} has no {self.proxy!r} scores (it has {have[:20]})")
        return dict(zip(df["arch"].astype(str), df[self.proxy].astype(float)))

    def __call__(self, arch: str) -> float:
        table = self.table()
        if arch not in table:
            raise InputError(
                f"architecture {arch[:300]!r} is not in {self.option} {self.path} "
                f"({len(table):,} architectures); score the whole space into it or drop {self.option}"
            )
        return table[arch]
