"""Which datasets of a space can share one forward pass when they are scored (no torch)."""

from __future__ import annotations

from collections.abc import Sequence

from intrain.core.records import ScoreSettings
from intrain.proxies import needs_only_probe
from intrain.spaces import get_space

__all__ = ["forward_groups"]


def forward_groups(space: str, datasets: Sequence[str], settings: ScoreSettings) -> list[list[str]]:
    """Datasets grouped so that each group's networks can share one forward (singletons otherwise).

    Two datasets share when their scoring batches are identical (same side, seed and input) and
    the settings' proxies need nothing beyond the InTrain probe. Whether the bodies really hold
    the same weights is checked per network when scoring.

    Examples:
        >>> forward_groups("nb201", ["cifar10", "cifar100", "ImageNet16-120"], ScoreSettings())
        [['cifar10', 'cifar100'], ['ImageNet16-120']]
        >>> forward_groups("nb201", ["cifar10", "cifar100"], ScoreSettings(proxies=("synflow",)))
        [['cifar10'], ['cifar100']]
    """
    sp = get_space(space)
    probe_only = needs_only_probe(settings.proxies)
    groups: dict[tuple[str, object], list[str]] = {}
    for d in datasets:
        side = settings.resolution or sp.dataset(d).resolution
        key = ("shared", side) if probe_only and settings.data is None else ("alone", d)
        groups.setdefault(key, []).append(d)
    return list(groups.values())
