"""Choose which architectures to score and split them into shards.

The selection is a seeded uniform sample of the ground-truth table (or all of it). With
``dedup`` each isomorphism class (same canonical form) is scored once, by its member with the
smallest benchmark index, and every member takes that score. Representatives are dealt to
shards round-robin in a seeded random order, which balances the shards' cost on average.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pandas as pd

from intrain.core.errors import InputError
from intrain.core.records import ScoreSettings
from intrain.spaces import get_space


def settings_hash(space: str, dataset: str, settings: ScoreSettings) -> str:
    """sha256 over everything that changes a score; shards under another hash are refused.

    ``protocol`` enters only when it is not the default "uniform", so artifacts written before
    the setting existed keep their hash (their scores are the uniform protocol's, bit for bit).
    """
    d = settings.as_dict()
    if d.get("protocol") == "uniform":
        del d["protocol"]
    blob = json.dumps({"space": space, "dataset": dataset, "settings": d}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def n_shards_for(sample_size: int, shard_size: int) -> int:
    """Jobs for ``sample_size`` architectures in jobs of ``shard_size`` (at least one, so that an
    empty selection still yields a file to merge).

    Examples:
        >>> n_shards_for(6, 3), n_shards_for(7, 3), n_shards_for(0, 3)
        (2, 3, 1)
    """
    if shard_size < 1:
        raise InputError(f"shard_size must be >= 1, got {shard_size}")
    return max(1, math.ceil(sample_size / shard_size))


def shard_labels(sample_size: int, shard_size: int) -> list[str]:
    """The shard labels of file names (``shard-000.h5``, ...): fixed by the config alone, so the
    workflow's DAG is known before any architecture is selected.

    Examples:
        >>> shard_labels(7, 3)
        ['000', '001', '002']
    """
    return [f"{i:03d}" for i in range(n_shards_for(sample_size, shard_size))]


def select(
    groundtruth: pd.DataFrame,
    sample: int | str | list[str],
    seed: int,
    n_shards: int,
    dedup: bool = True,
    space: str = "nb201",
) -> pd.DataFrame:
    """Rows: arch_index, arch, canonical, representative, shard (-1 for non-representatives).

    ``sample`` is a count, ``"all"``, or a list of ``space``'s arch strings to score exactly.
    """
    total = len(groundtruth)
    if isinstance(sample, list):
        normalize = get_space(space).normalize
        wanted = [normalize(a) for a in sample]  # raises the space's error naming the string
        chosen = groundtruth[groundtruth["arch"].isin(wanted)]
        missing = set(wanted) - set(chosen["arch"])
        if missing:
            raise InputError(f"architectures not in the benchmark table: {sorted(missing)[:3]}")
    elif sample == "all":
        chosen = groundtruth
    else:
        if not isinstance(sample, (int, np.integer)) or sample < 1:
            raise InputError(f"sample must be a positive integer or 'all', got {sample!r}")
        if sample > total:
            raise InputError(f"sample={sample} is larger than the space's {total} architectures; use 'all'")
        chosen = groundtruth.sample(n=int(sample), random_state=seed)
    sel = chosen[["arch_index", "arch", "canonical"]].sort_values("arch_index").reset_index(drop=True)
    if dedup:
        sel["representative"] = sel.groupby("canonical")["arch_index"].transform("min")
    else:
        sel["representative"] = sel["arch_index"]
    reps = np.sort(sel["representative"].unique())
    order = np.random.default_rng(seed).permutation(len(reps))
    shard_of = {int(reps[i]): k % n_shards for k, i in enumerate(order)}
    sel["shard"] = [shard_of[a] if a == r else -1 for a, r in zip(sel["arch_index"], sel["representative"])]
    return sel


def shard_items(selection: pd.DataFrame, shard: int) -> list[tuple[int, str]]:
    rows = selection[selection["shard"] == shard]
    return list(zip(rows["arch_index"].astype(int), rows["arch"]))
