"""A workflow run planned once from its (validated) config: spaces, sample sizes, shards,
shared-forward groups and scoring settings.

``workflow/rules/common.smk`` builds one `Plan` after the schema has filled in the
defaults; the rules ask it (and `intrain.planning.targets` / `.commands`) instead of
computing. Building a plan checks what the schema cannot (see `intrain.planning.checks`),
so a bad config stops before any job. No torch: the DAG is built without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from intrain.core.download import BenchmarkFile, catalog
from intrain.planning import checks, sets
from intrain.planning.configcheck import ConfigError
from intrain.planning.selection import shard_labels
from intrain.spaces import Space, get_space

__all__ = ["Plan"]


class Plan:
    """The run's facts, computed from ``config`` (the schema's defaults filled in).

    ``space_of`` and ``benchmarks`` default to the live space registry and the download catalog;
    tests pass their own.

    Examples:
        >>> cfg = {"results": "r", "spaces": {"nb201": {"enabled": True, "datasets": ["cifar10"], "sample": 7,
        ...        "shard_size": 3}}, "scoring": {"proxies": ["intrain"]}, "share_forward": True,
        ...        "studies": {"enabled": False}, "search": {"enabled": False}, "imports": []}
        >>> Plan(cfg).shard_ids("nb201")
        ['000', '001', '002']
    """

    def __init__(
        self,
        config: dict[str, Any],
        space_of: Callable[[str], Space] = get_space,
        benchmarks: Mapping[str, BenchmarkFile] | None = None,
    ) -> None:
        checks.check_size(config)
        checks.check_paths(config)
        checks.check_inputs_exist(config)
        self.config = config
        self.results: str = config["results"]
        self.scoring: dict[str, Any] = config["scoring"]
        self.search: dict[str, Any] = config["search"]
        self.studies: dict[str, Any] = config["studies"]
        self.spaces = checks.enabled_spaces(config)
        # An unknown name or a broken plugin stops here, naming the space or the plugin module.
        self.space = {name: space_of(name) for name in self.spaces}
        for name, spec in self.spaces.items():
            checks.check_datasets(name, spec, self.space[name].datasets)
        self.sets = sets.enabled_sets(config)
        checks.check_set_datasets(self.sets, self.spaces)
        self.imports = checks.check_imports(config.get("imports") or [], self.spaces)
        self.study_space = checks.study_space(self.studies, self.spaces)
        self.benchmarks = catalog() if benchmarks is None else benchmarks
        self._sizes: dict[str, int] = {}
        self._groups: dict[str, tuple[tuple[str, ...], ...]] = {}

    # ------------------------------------------------------------------ architectures and shards

    def space_size(self, space: str) -> int:
        """Architectures in the space's ground truth (fixes the shard count of ``sample: all``):
        ``table_rows``, else the rows the space's reader finds in ``table``, else the catalog's."""
        if space not in self._sizes:
            spec, key = self.spaces[space], self.space[space].benchmark
            entry = self.benchmarks.get(key) if key is not None else None
            if spec.get("table"):
                size = spec.get("table_rows") or len(self.space[space].groundtruth(spec["table"]))
            elif entry is None or entry.rows is None:
                raise ConfigError(f"spaces.{space}: `sample: all` needs a local `table` or a catalog entry with `rows`")
            else:
                size = entry.rows
            self._sizes[space] = int(size)
        return self._sizes[space]

    def sample_size(self, space: str) -> int:
        """Architectures the space's selection holds: its ``archs``, its ``sample`` or all."""
        spec = self.spaces[space]
        if spec.get("archs"):
            return len(spec["archs"])
        return self.space_size(space) if spec["sample"] == "all" else int(spec["sample"])

    def shard_ids(self, space: str) -> list[str]:
        """The space's shard labels (one scoring job each per dataset or group)."""
        return shard_labels(self.sample_size(space), self.spaces[space]["shard_size"])

    def set_sample(self, name: str, space: str) -> int:
        """Architectures set ``name`` scores in the space: its own sub-sample size (at most the
        space's sample), else the space's sample."""
        wanted = self.sets[name].get("sample")
        return self.sample_size(space) if wanted is None else min(int(wanted), self.sample_size(space))

    def set_shard_ids(self, name: str, space: str) -> list[str]:
        """Shards of set ``name`` in the space: the space's, or its own selection's."""
        spec = self.sets[name]
        if not sets.has_own_selection(spec):
            return self.shard_ids(space)
        size = spec.get("shard_size") or self.spaces[space]["shard_size"]
        return shard_labels(self.set_sample(name, space), size)

    def set_scores(self, name: str, space: str, dataset: str) -> bool:
        """Whether set ``name`` is scored on (space, dataset)."""
        return sets.scores_on(self.sets[name], space, dataset)

    # ------------------------------------------------------------------ settings and groups

    def space_overrides(self, space: str) -> dict[str, Any]:
        """Scoring settings a space fixes for itself (NDS spaces: their reduced input ``resolution``)."""
        spec = self.spaces[space]
        return {"resolution": spec["resolution"]} if spec.get("resolution") else {}

    def settings(self, space: str | None = None, **overrides: Any) -> dict[str, Any]:
        """The scoring settings of a job: the run's, then the space's own, then ``overrides``."""
        fixed = self.space_overrides(space) if space is not None else {}
        return {**self.scoring, **fixed, **overrides}

    def set_settings(self, name: str, space: str) -> dict[str, Any]:
        """Scoring settings of baseline set ``name`` in the space."""
        return self.settings(space, **sets.set_overrides(self.sets[name]))

    def study_settings(self, batch_size: int, seed: int) -> dict[str, Any]:
        """Settings of one batch-size/seed study run (the run's, with B and the seed replaced)."""
        return self.settings(self.study_space, batch_size=batch_size, seed=seed)

    def search_settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings of a search: the run's, scoring the search's one proxy (at ``search.batch_size``
        when set).

        Examples:
            >>> cfg = {"results": "r", "spaces": {"nb201": {"enabled": True, "datasets": ["cifar10"], "sample": 7,
            ...        "shard_size": 3}}, "scoring": {"batch_size": 64, "proxies": ["intrain"]}, "share_forward": True,
            ...        "studies": {"enabled": False}, "imports": [],
            ...        "search": {"enabled": False, "proxy": "intrain", "batch_size": 16}}
            >>> Plan(cfg).search_settings(resolution=32)["batch_size"]
            16
        """
        fixed = {"batch_size": self.search["batch_size"]} if self.search.get("batch_size") else {}
        return self.settings(proxies=[self.search["proxy"]], **{**fixed, **overrides})

    def score_groups(self, space: str) -> tuple[tuple[str, ...], ...]:
        """The space's datasets, grouped into jobs that share one body forward (singletons otherwise)."""
        if space not in self._groups:
            datasets = self.spaces[space]["datasets"]
            if not self.config["share_forward"] or len(datasets) < 2:
                self._groups[space] = tuple((d,) for d in datasets)
            else:
                from intrain.core.records import ScoreSettings
                from intrain.planning.groups import forward_groups

                settings = ScoreSettings.from_dict(self.settings(space))
                self._groups[space] = tuple(tuple(g) for g in forward_groups(space, datasets, settings))
        return self._groups[space]

    def group_of(self, space: str, dataset: str) -> tuple[str, ...]:
        """The group (one job's datasets) that scores (space, dataset)."""
        return next(g for g in self.score_groups(space) if dataset in g)

    def protocol_variants(self) -> bool:
        """Some set scores another protocol or layer choice than the run's (protocol table on)."""
        return any(sets.is_variant(spec, self.scoring) for spec in self.sets.values())
