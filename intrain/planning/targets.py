"""The files a run produces and reads, by path under the plan's ``results`` folder.

Each function names the paths of one step's inputs or outputs; the rules in ``workflow/rules``
declare the same patterns with wildcards. Nothing here is quoted: paths reach the shell only
through Snakemake's ``:q`` (each element of a list quoted on its own).
"""

from __future__ import annotations

from intrain.planning.configcheck import ConfigError
from intrain.planning.plan import Plan
from intrain.planning.sets import has_own_selection

__all__ = [
    "agreement_tables",
    "batch_study_runs",
    "benchmark_path",
    "groundtruth_source",
    "groundtruth_tables",
    "imported_scores",
    "merged_scores",
    "protocol_tables",
    "search_tables",
    "seed_study_runs",
    "set_selection",
    "set_shards",
    "shard_files",
    "shard_inputs",
    "study_groundtruth",
    "study_tables",
    "valid_sources",
]


def benchmark_path(plan: Plan, key: str) -> str:
    """Where the download rule puts a benchmark file (its extension tells the readers its format)."""
    return f"{plan.results}/benchmarks/{key}{plan.benchmarks[key].suffix}"


def valid_sources(plan: Plan, space: str) -> dict[str, str]:
    """NB201 validation tables (one per dataset) when correlations use ``correlation.metric: valid``."""
    if space != "nb201" or plan.config["correlation"]["metric"] != "valid" or plan.spaces[space].get("table"):
        return {}
    return {ds: benchmark_path(plan, f"nb201_valid_{ds}") for ds in plan.spaces["nb201"]["datasets"]}


def groundtruth_source(plan: Plan, space: str) -> str:
    """The space's local ``table``, else the catalog file its ``benchmark`` names (downloaded)."""
    spec, key = plan.spaces[space], plan.space[space].benchmark
    if spec.get("table"):
        return str(spec["table"])
    if key is None:
        raise ConfigError(
            f"spaces.{space}: the space has no benchmark in the download catalog; give its ground truth as a local `table`"
        )
    return benchmark_path(plan, key)


def group_shard_dir(plan: Plan, space: str, group: tuple[str, ...], shard: str) -> str:
    """The folder one shared-forward job writes (a file per dataset of the group)."""
    return f"{plan.results}/{space}/groups/{'+'.join(group)}/shard-{shard}"


def shard_inputs(plan: Plan, space: str, dataset: str) -> list[str]:
    """What the merge of (space, dataset) waits for: its own shard files, or its group's folders."""
    group = plan.group_of(space, dataset)
    if len(group) == 1:
        return [f"{plan.results}/{space}/{dataset}/shards/shard-{k}.h5" for k in plan.shard_ids(space)]
    return [group_shard_dir(plan, space, group, k) for k in plan.shard_ids(space)]


def shard_files(plan: Plan, space: str, dataset: str) -> list[str]:
    """The (space, dataset) shard files that merge reads (inside the group folders when shared)."""
    inputs = shard_inputs(plan, space, dataset)
    if len(plan.group_of(space, dataset)) == 1:
        return inputs
    return [f"{d}/{dataset}.h5" for d in inputs]


def set_selection(plan: Plan, name: str, space: str) -> str:
    """The selection set ``name`` scores: the space's, or its own seeded sub-sample of it."""
    if not has_own_selection(plan.sets[name]):
        return f"{plan.results}/{space}/selection.csv"
    return f"{plan.results}/{space}/sets/{name}/selection.csv"


def set_shards(plan: Plan, name: str, space: str, dataset: str) -> list[str]:
    """The shard files of set ``name`` on (space, dataset) that its merge reads."""
    return [f"{plan.results}/{space}/{dataset}/sets/{name}/shard-{k}.h5" for k in plan.set_shard_ids(name, space)]


def merged_scores(plan: Plan, only: str | None = None) -> list[str]:
    """The main InTrain artifacts, then every baseline set's, per (space, dataset); ``only``
    keeps one space's."""
    spaces = {k: v for k, v in plan.spaces.items() if only is None or k == only}
    main = [f"{plan.results}/{space}/{ds}/scores.h5" for space, spec in spaces.items() for ds in spec["datasets"]]
    return main + [
        f"{plan.results}/{space}/{ds}/set-{name}.h5"
        for name in plan.sets
        for space, spec in spaces.items()
        for ds in spec["datasets"]
        if plan.set_scores(name, space, ds)
    ]


def imported_scores(plan: Plan) -> list[str]:
    """Artifacts of the configured imports (correlated and reported beside the merged ones)."""
    return [f"{plan.results}/imports/{name}.h5" for name in plan.imports]


def groundtruth_tables(plan: Plan) -> dict[str, str]:
    """Each space's normalised ground truth."""
    return {space: f"{plan.results}/groundtruth/{space}.csv" for space in plan.spaces}


def batch_study_runs(plan: Plan) -> list[str]:
    """The batch-size study's artifacts: every batch size x seed on ``studies.batch_dataset``."""
    if plan.study_space is None:
        return []
    st = plan.studies
    return [
        f"{plan.results}/studies/{plan.study_space}/{st['batch_dataset']}/b{b}_s{s}.h5"
        for b in st["batch_sizes"]
        for s in st["seeds"]
    ]


def seed_study_runs(plan: Plan) -> list[str]:
    """The seed study's artifacts: every dataset of the study space x seed at the run's batch size."""
    if plan.study_space is None:
        return []
    return [
        f"{plan.results}/studies/{plan.study_space}/{ds}/b{plan.scoring['batch_size']}_s{s}.h5"
        for ds in plan.spaces[plan.study_space]["datasets"]
        for s in plan.studies["seeds"]
    ]


def study_groundtruth(plan: Plan) -> list[str]:
    """The study space's ground truth (empty when the studies do not run)."""
    return [] if plan.study_space is None else [f"{plan.results}/groundtruth/{plan.study_space}.csv"]


def search_tables(plan: Plan) -> dict[str, str]:
    """Search CSVs the report includes (name -> path); empty when search is off."""
    if not plan.search["enabled"]:
        return {}
    tables = {"search_zennas": f"{plan.results}/search/zennas.csv"}
    if "nb201" in plan.spaces:
        tables |= {
            "search_nb201": f"{plan.results}/search/nb201.csv",
            "search_picks": f"{plan.results}/search/nb201_picks.csv",
        }
    return tables


def protocol_tables(plan: Plan) -> dict[str, str]:
    """The protocol comparison when some baseline set scores another protocol or layer choice."""
    return {"protocols": f"{plan.results}/protocols.csv"} if plan.protocol_variants() else {}


def agreement_tables(plan: Plan) -> dict[str, str]:
    """The agreement CSV the report includes (name -> path); empty without imports."""
    return {"agreement": f"{plan.results}/agreement.csv"} if plan.imports else {}


def study_tables(plan: Plan) -> dict[str, str]:
    """Study, search, agreement and protocol CSVs the report includes (name -> path)."""
    tables = search_tables(plan) | agreement_tables(plan) | protocol_tables(plan)
    if plan.study_space is None:
        return tables
    return tables | {
        name: f"{plan.results}/studies/{name}.csv" for name in ("ablation", "batch_size", "seeds", "stability", "topk")
    }
