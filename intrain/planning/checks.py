"""Checks across config keys that the JSON schema cannot express, each answering in words.

`intrain.planning.configcheck` checks each value against the schema; these check what
values mean together (an enabled space, a dataset the space has, an import's space in the run,
a proxy the registry knows) before the DAG is built, so a bad config stops the run with the key
and the fix instead of a failed job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from intrain.core.errors import InputError
from intrain.planning.configcheck import ConfigError

__all__ = [
    "DEFAULT_STUDY_SPACE",
    "check_datasets",
    "check_imports",
    "check_inputs_exist",
    "check_paths",
    "check_proxies",
    "check_set_datasets",
    "check_size",
    "enabled_spaces",
    "study_space",
]

#: The space of the batch-size and seed studies when ``studies.space`` is null (the paper's setting).
DEFAULT_STUDY_SPACE = "nb201"


def proxy_lists(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every proxy list of the config by its key (the search's one proxy only when search is on).

    Examples:
        >>> proxy_lists({"scoring": {"proxies": ["intrain"]}, "search": {"enabled": False, "proxy": "x"}})
        {'scoring.proxies': ['intrain']}
    """
    named = {"scoring.proxies": list(config["scoring"]["proxies"])}
    for name, spec in (config.get("baselines", {}).get("sets") or {}).items():
        named[f"baselines.sets.{name}.proxies"] = list(spec["proxies"])
    if config["search"]["enabled"]:
        named["search.proxy"] = [config["search"]["proxy"]]
    return named


def check_proxies(config: Mapping[str, Any]) -> None:
    """Every proxy name against the live registry (plugins are imported), before any job."""
    from intrain.proxies import check_proxy_names

    for key, names in proxy_lists(config).items():
        try:
            check_proxy_names(names)
        except InputError as e:
            raise ConfigError(f"config key {key}: {e}") from None


def enabled_spaces(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The spaces of the run (``enabled: false`` drops one; overlay configs do this).

    Examples:
        >>> list(enabled_spaces({"spaces": {"nb201": {"enabled": True}, "nb101": {"enabled": False}}}))
        ['nb201']
    """
    spaces = {name: spec for name, spec in config["spaces"].items() if spec["enabled"]}
    if not spaces:
        raise ConfigError("every space in `spaces` has enabled: false; nothing to score")
    return spaces


def check_datasets(name: str, spec: dict[str, Any], known: Iterable[str]) -> None:
    """Fill in ``spec["datasets"]`` (default: every dataset the space declares) and refuse one the
    space does not have. The filled-in list is what the report records as the run's config."""
    known = list(known)
    spec.setdefault("datasets", list(known))
    unknown = sorted(set(spec["datasets"]) - set(known))
    if unknown:
        raise ConfigError(f"spaces.{name}.datasets: {unknown} not in the space's {sorted(known)}")


def check_set_datasets(sets: Mapping[str, Mapping[str, Any]], spaces: Mapping[str, Mapping[str, Any]]) -> None:
    """A set's ``datasets`` must exist in this run (its ``spaces`` may name spaces an overlay
    switched off).

    Examples:
        >>> check_set_datasets({"zc": {"datasets": ["mnist"]}}, {"nb201": {"datasets": ["cifar10"]}})
        Traceback (most recent call last):
        ...
        intrain.planning.configcheck.ConfigError: baselines.sets.zc.datasets: ['mnist'] is not a dataset of any space in this run
    """
    run = {d for sp in spaces.values() for d in sp["datasets"]}
    for name, spec in sets.items():
        unknown = sorted(set(spec.get("datasets") or ()) - run)
        if unknown:
            raise ConfigError(f"baselines.sets.{name}.datasets: {unknown} is not a dataset of any space in this run")


def check_imports(
    imports: list[Mapping[str, Any]], spaces: Mapping[str, Mapping[str, Any]]
) -> dict[str, Mapping[str, Any]]:
    """The ``imports`` entries by name; each name once, each in an enabled space and dataset."""
    by_name = {entry["name"]: entry for entry in imports}
    if len(by_name) != len(imports):
        raise ConfigError("imports: every entry needs its own `name`")
    for name, entry in by_name.items():
        if entry["space"] not in spaces or entry["dataset"] not in spaces[entry["space"]]["datasets"]:
            raise ConfigError(
                f"imports.{name}: {entry['space']}/{entry['dataset']} is not an enabled space and dataset "
                "(its ground truth and intrain's own scores come from `spaces`)"
            )
    return by_name


def study_space(studies: Mapping[str, Any], spaces: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The space of the batch-size and seed studies, or None when they do not run.

    ``studies.space`` null means `DEFAULT_STUDY_SPACE` when that space is enabled, and no
    studies otherwise (an overlay that switches NB201 off need not also switch the studies off).
    A space named explicitly must be enabled, and ``studies.batch_dataset`` must be one of its
    datasets in this run.

    Examples:
        >>> study_space({"enabled": True, "space": None, "batch_dataset": "cifar10"}, {"nb201": {"datasets": ["cifar10"]}})
        'nb201'
        >>> study_space({"enabled": True, "space": None, "batch_dataset": "cifar10"}, {"nb101": {"datasets": ["cifar10"]}}) is None
        True
    """
    if not studies["enabled"]:
        return None
    name = studies.get("space")
    if name is None:
        if DEFAULT_STUDY_SPACE not in spaces:
            return None
        name = DEFAULT_STUDY_SPACE
    elif name not in spaces:
        raise ConfigError(
            f"config key studies.space: {name!r} is not an enabled space of this run (enabled: {sorted(spaces)}); "
            "enable it under `spaces`, name one of those, or set studies.enabled: false"
        )
    datasets = spaces[name]["datasets"]
    if studies["batch_dataset"] not in datasets:
        raise ConfigError(
            f"config key studies.batch_dataset: {studies['batch_dataset']!r} is not a dataset of studies.space "
            f"{name!r} in this run; use one of {list(datasets)}"
        )
    return name


#: A path component longer than this is refused by the file system (NAME_MAX on Linux/macOS).
MAX_PATH_COMPONENT_BYTES = 255
#: The whole config travels to the report job as one command-line argument; Linux caps one
#: argument at 128 KiB (MAX_ARG_STRLEN), so a larger config is refused here, in words.
MAX_CONFIG_JSON_BYTES = 64 * 1024


def config_paths(config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, value) of every config value that the workflow uses as a local path."""
    yield "results", config["results"]
    mirror = config.get("mirror")
    if mirror and "://" not in mirror:
        yield "mirror", mirror
    for name, spec in (config.get("spaces") or {}).items():
        if spec.get("table"):
            yield f"spaces.{name}.table", spec["table"]
    for i, imp in enumerate(config.get("imports") or []):
        if imp.get("file"):
            yield f"imports.{i}.file", imp["file"]
    data = {"scoring.data": (config.get("scoring") or {}).get("data")}
    for name, spec in ((config.get("baselines") or {}).get("sets") or {}).items():
        data[f"baselines.sets.{name}.data"] = spec.get("data")
    for key, value in data.items():
        if value and not (value == "natural" or value.startswith("natural:")):
            yield key, value


def check_paths(config: Mapping[str, Any]) -> None:
    """Paths the CLI receives as arguments: none may read as an option or exceed NAME_MAX.

    Examples:
        >>> check_paths({"results": "-rf"})
        Traceback (most recent call last):
        ...
        intrain.planning.configcheck.ConfigError: config key results: '-rf' starts with '-', which a command reads as an option; write './-rf'
    """
    for key, value in config_paths(config):
        if value.startswith("-"):
            raise ConfigError(
                f"config key {key}: {value[:80]!r} starts with '-', which a command reads as an option; "
                f"write './{value[:80]}'"
            )
        for part in value.split("/"):
            if len(part.encode()) > MAX_PATH_COMPONENT_BYTES:
                raise ConfigError(
                    f"config key {key}: a path component of {len(part.encode())} bytes; file systems allow "
                    f"{MAX_PATH_COMPONENT_BYTES}"
                )


def check_inputs_exist(config: Mapping[str, Any]) -> None:
    """A scoring input file (``scoring.data``, a set's ``data``) exists before any job runs."""
    for key, value in config_paths(config):
        if key.endswith(".data") and not os.path.isfile(value):
            raise ConfigError(f"config key {key}: no file {value[:200]!r} (a .npz/.npy/.pt/pickle batch, or 'natural')")


def check_size(config: Mapping[str, Any]) -> None:
    """The whole config fits in one command-line argument (the report job receives it so).

    Examples:
        >>> check_size({"results": "r" * 70000})
        Traceback (most recent call last):
        ...
        intrain.planning.configcheck.ConfigError: the config is 70,015 bytes as JSON; the workflow passes it to the report as one argument, at most 65,536 bytes: shorten long values or drop unused sets
    """
    size = len(json.dumps(config, default=str).encode())
    if size > MAX_CONFIG_JSON_BYTES:
        raise ConfigError(
            f"the config is {size:,} bytes as JSON; the workflow passes it to the report as one argument, "
            f"at most {MAX_CONFIG_JSON_BYTES:,} bytes: shorten long values or drop unused sets"
        )
