"""Baseline proxy sets (config ``baselines.sets``): which are scored, where, with what settings.

A set is the main run's scoring with other proxies and optionally its own protocol, layer
choice, resolution, sub-sample and shard size. These rules decide the set's jobs; the paths
are in `intrain.planning.targets`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SET_SETTINGS", "enabled_sets", "has_own_selection", "is_variant", "scores_on", "set_overrides"]

#: Keys of a baseline set that override the scoring settings for that set only (null: inherit).
SET_SETTINGS = ("protocol", "layers", "resolution")


def enabled_sets(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The sets to score (``enabled: false`` drops one; overlay configs do this).

    Examples:
        >>> list(enabled_sets({"baselines": {"sets": {"zc": {}, "off": {"enabled": False}}}}))
        ['zc']
    """
    sets = config.get("baselines", {}).get("sets", {}) or {}
    return {name: spec for name, spec in sets.items() if spec.get("enabled", True)}


def set_overrides(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The scoring settings a set replaces: its proxies and data always, the `SET_SETTINGS`
    it names (null inherits the run's).

    Examples:
        >>> set_overrides({"proxies": ["snip"], "data": None, "protocol": "reference", "layers": None})
        {'proxies': ['snip'], 'data': None, 'protocol': 'reference'}
    """
    fixed = {k: spec[k] for k in SET_SETTINGS if spec.get(k) is not None}
    return {"proxies": spec["proxies"], "data": spec.get("data"), **fixed}


def has_own_selection(spec: Mapping[str, Any]) -> bool:
    """A set with its own ``sample`` or ``shard_size`` gets its own selection (rule select_set).

    Examples:
        >>> has_own_selection({"sample": None, "shard_size": 20}), has_own_selection({})
        (True, False)
    """
    return spec.get("sample") is not None or spec.get("shard_size") is not None


def scores_on(spec: Mapping[str, Any], space: str, dataset: str) -> bool:
    """Whether the set is scored on (space, dataset): its ``spaces`` and ``datasets`` (null: all).

    Examples:
        >>> scores_on({"spaces": ["nb201"], "datasets": None}, "nb101", "cifar10")
        False
    """
    return (spec.get("spaces") is None or space in spec["spaces"]) and (
        spec.get("datasets") is None or dataset in spec["datasets"]
    )


def is_variant(spec: Mapping[str, Any], scoring: Mapping[str, Any]) -> bool:
    """A set scored under another protocol or layer choice than the run's own (it feeds the
    protocol comparison table).

    Examples:
        >>> is_variant({"protocol": "reference"}, {"protocol": "uniform", "layers": "conv"})
        True
        >>> is_variant({"protocol": None, "layers": "conv"}, {"protocol": "uniform", "layers": "conv"})
        False
    """
    protocol = spec.get("protocol") or scoring["protocol"]
    layers = spec.get("layers") or scoring["layers"]
    return bool(protocol != scoring["protocol"] or layers != scoring["layers"])
