"""Command-line arguments of the rules' ``intrain`` calls, as argument lists.

A list reaches the shell through Snakemake's ``{params.x:q}``, which quotes every element on its
own, so no config value (a path, a name, a JSON string) is ever read as shell syntax. An empty
list adds nothing to the command (``:q`` leaves an empty field empty).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from intrain.planning import targets
from intrain.planning.plan import Plan

__all__ = [
    "groundtruth_args",
    "mirror_args",
    "search_args",
    "select_args",
    "settings_json",
    "study_args",
    "valid_args",
]


def settings_json(settings: Mapping[str, Any]) -> str:
    """The CLI's ``--settings`` value (keys sorted, so equal settings give equal commands).

    Examples:
        >>> settings_json({"seed": 0, "batch_size": 8})
        '{"batch_size": 8, "seed": 0}'
    """
    return json.dumps(dict(settings), sort_keys=True)


def pairs(flag: str, items: Iterable[tuple[str, str]]) -> list[str]:
    """``flag KEY=VALUE`` for every pair, one list element per word.

    Examples:
        >>> pairs("--groundtruth", [("nb201", "r/gt; x.csv")])
        ['--groundtruth', 'nb201=r/gt; x.csv']
    """
    return [word for key, value in items for word in (flag, f"{key}={value}")]


def select_args(plan: Plan, space: str) -> list[str]:
    """``--arch`` per explicit architecture (they win over a sample), else ``--sample N|all``."""
    spec = plan.spaces[space]
    if spec.get("archs"):
        return [word for arch in spec["archs"] for word in ("--arch", arch)]
    return ["--sample", str(spec["sample"])]


def groundtruth_args(plan: Plan) -> list[str]:
    """``--groundtruth SPACE=CSV`` for every space (artifacts record their space)."""
    return pairs("--groundtruth", targets.groundtruth_tables(plan).items())


def valid_args(plan: Plan, space: str) -> list[str]:
    """``--valid DATASET=TABLE`` per NB201 validation table (``correlation.metric: valid``)."""
    return pairs("--valid", targets.valid_sources(plan, space).items())


def study_args(tables: Iterable[str], paths: Any) -> list[str]:
    """``--study NAME=CSV`` for every table the report includes (``paths`` is the rule's input)."""
    return pairs("--study", ((key, getattr(paths, key)) for key in tables))


def search_args(plan: Plan) -> list[str]:
    """Algorithm 1's fixed arguments (everything but T, which is a param of its own, and the
    NB201 lookup, `lookup_args`): top-k, seed, proxy, round size, workers, counting."""
    s = plan.search
    args = ["--k", str(s["k"]), "--seed", str(s["seed"]), "--proxy", str(s["proxy"])]
    if s.get("batch", 1) != 1:  # the defaults add nothing, so a default run's command line is unchanged
        args += ["--batch", str(s["batch"])]
    if str(s.get("workers", 1)) != "1":
        args += ["--workers", str(s["workers"])]
    if s.get("threads", 1) != 1:  # torch threads of every scorer, wherever it runs (the history depends on it)
        args += ["--threads", str(s["threads"])]
    return args + (["--count-rejected"] if s.get("count_rejected") else [])


def lookup_args(plan: Plan) -> list[str]:
    """``--scores-from ARTIFACT`` when ``search.scores_from`` names one (the NB201 search looks up)."""
    path = plan.search.get("scores_from")
    return ["--scores-from", str(path)] if path else []


def mirror_args(config: Mapping[str, Any]) -> list[str]:
    """``--mirror DIR_OR_URL`` when the config names a mirror (else the download's own default).

    Examples:
        >>> mirror_args({"mirror": "/data/my mirror"}), mirror_args({"mirror": None})
        (['--mirror', '/data/my mirror'], [])
    """
    return ["--mirror", str(config["mirror"])] if config.get("mirror") else []
