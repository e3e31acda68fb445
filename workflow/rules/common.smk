# Config validation and helpers shared by the rules. Nothing heavy here: every cluster job
# re-parses the Snakefile.
import functools
import json
import os
import math
import shlex
import sys

from snakemake.utils import validate

from intrain.planning.configcheck import SCHEMA_PATH, check_config
from intrain.core.download import catalog as benchmark_catalog
from intrain.spaces import PLUGIN_ENV, get_space

# Rules call the `intrain` CLI of the environment Snakemake itself runs in, so a virtual
# environment (scripts/setup.sh makes .venv) works without being activated.
os.environ.update(PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))

# In words first (which key, which edge/op, the fix); snakemake's validation then fills in defaults.
check_config(config, SCHEMA_PATH)
validate(config, str(SCHEMA_PATH), set_default=True)


def check_proxies(config):
    """Every proxy name in the config against the live registry (plugins imported), before any job."""
    from intrain.core.errors import InputError
    from intrain.proxies import check_proxy_names

    named = {"scoring.proxies": config["scoring"]["proxies"]}
    for name, spec in (config.get("baselines", {}).get("sets") or {}).items():
        named[f"baselines.sets.{name}.proxies"] = spec["proxies"]
    if config["search"]["enabled"]:
        named["search.proxy"] = [config["search"]["proxy"]]
    for key, names in named.items():
        try:
            check_proxy_names(names)
        except InputError as e:
            raise ValueError(f"config key {key}: {e}") from None


check_proxies(config)

RESULTS = config["results"]
# Plugin spaces (`spaces.<name>.plugin: module:Class`) reach every CLI job of the run through the
# environment, which jobs inherit (cluster jobs re-parse this file and set it again).
SPACE_PLUGINS = {name: spec["plugin"] for name, spec in config["spaces"].items() if spec.get("plugin")}
if SPACE_PLUGINS:
    _inherited = os.environ.get(PLUGIN_ENV, "")
    os.environ[PLUGIN_ENV] = ";".join([_inherited, *(f"{n}={t}" for n, t in sorted(SPACE_PLUGINS.items()))]).strip(";")
# Spaces switched off with `enabled: false` (overlay configs do this) are not part of the run.
SPACES = {name: spec for name, spec in config["spaces"].items() if spec["enabled"]}
if not SPACES:
    raise ValueError("every space in `spaces` has enabled: false; nothing to score")
# Each space's protocol object (intrain.spaces.Space): an unknown name or a broken plugin stops the
# run here, before any job starts, with an error naming the space or the plugin module.
SPACE = {name: get_space(name) for name in SPACES}
for _name, _spec in SPACES.items():
    _spec.setdefault("datasets", list(SPACE[_name].datasets))
    _unknown = sorted(set(_spec["datasets"]) - set(SPACE[_name].datasets))
    if _unknown:
        raise ValueError(f"spaces.{_name}.datasets: {_unknown} not in the space's {sorted(SPACE[_name].datasets)}")
STUDIES = config["studies"]
SEARCH = config["search"]
# The batch-size and seed studies run on NAS-Bench-201 (the paper's setting).
STUDY_SPACE = "nb201"
CATALOG = benchmark_catalog()


def benchmark_path(key):
    """Where the download rule puts a benchmark file (its extension tells the readers its format)."""
    return f"{RESULTS}/benchmarks/{key}{CATALOG[key].suffix}"


def valid_sources(wildcards):
    """NB201 validation tables (one per dataset) when correlations use `correlation.metric: valid`."""
    if wildcards.space != "nb201" or config["correlation"]["metric"] != "valid" or SPACES[wildcards.space].get("table"):
        return {}
    return {ds: benchmark_path(f"nb201_valid_{ds}") for ds in SPACES["nb201"]["datasets"]}


def groundtruth_source(wildcards):
    """The space's local `table`, else the catalog file its `benchmark` names (downloaded)."""
    spec, key = SPACES[wildcards.space], SPACE[wildcards.space].benchmark
    if spec.get("table"):
        return spec["table"]
    if key is None:
        raise ValueError(
            f"spaces.{wildcards.space}: the space has no benchmark in the download catalog; "
            "give its ground truth as a local `table`"
        )
    return benchmark_path(key)


@functools.lru_cache(maxsize=None)
def space_size(space):
    """Architectures in the space's ground truth (fixes the shard count of `sample: all`): the
    catalog's row count, else `table_rows`, else the rows the space's reader finds in `table`."""
    spec, key = SPACES[space], SPACE[space].benchmark
    if spec.get("table"):
        return spec.get("table_rows") or len(SPACE[space].groundtruth(spec["table"]))
    if key is None or CATALOG[key].rows is None:
        raise ValueError(f"spaces.{space}: `sample: all` needs a local `table` or a catalog entry with `rows`")
    return CATALOG[key].rows


wildcard_constraints:
    space="|".join(SPACES),
    dataset="|".join(sorted({d for spec in SPACES.values() for d in spec["datasets"]})),
    shard=r"\d{3}",
    bs=r"\d+",
    seed=r"\d+",
    key=r"[A-Za-z0-9_\-]+",
    group=r"[A-Za-z0-9_\-]+(\+[A-Za-z0-9_\-]+)+",
    ext=r"csv|json|tfrecord",
    set=r"[A-Za-z0-9_]+",
    budget=r"\d+",


def sample_size(space):
    if SPACES[space].get("archs"):
        return len(SPACES[space]["archs"])
    s = SPACES[space]["sample"]
    return space_size(space) if s == "all" else int(s)


def shard_labels(n_archs, shard_size):
    """Shard file labels for n_archs architectures in jobs of shard_size (at least one shard)."""
    return [f"{i:03d}" for i in range(max(1, math.ceil(n_archs / shard_size)))]


def n_shards(space):
    return len(shard_ids(space))


def shard_ids(space):
    return shard_labels(sample_size(space), SPACES[space]["shard_size"])


def select_args(wildcards):
    """--sample/--arch arguments of the select rule (explicit architectures win over a sample)."""
    spec = SPACES[wildcards.space]
    if spec.get("archs"):
        return " ".join(f"--arch {shlex.quote(a)}" for a in spec["archs"])
    return f"--sample {spec['sample']}"


def settings_json(**overrides):
    """The scoring settings (with ``overrides``) as the CLI's --settings JSON, quoted for the shell."""
    return shlex.quote(json.dumps({**config["scoring"], **overrides}, sort_keys=True))


def space_overrides(space):
    """Scoring settings a space fixes for itself (NDS spaces: their reduced input `resolution`)."""
    spec = SPACES[space]
    return {"resolution": spec["resolution"]} if spec.get("resolution") else {}


def space_settings_json(space, **overrides):
    return settings_json(**{**space_overrides(space), **overrides})


@functools.lru_cache(maxsize=None)
def score_groups(space):
    """The space's datasets, grouped into jobs that share one body forward (singletons otherwise)."""
    datasets = SPACES[space]["datasets"]
    if not config["share_forward"] or len(datasets) < 2:
        return tuple((d,) for d in datasets)
    from intrain.core.records import ScoreSettings
    from intrain.planning.groups import forward_groups

    settings = ScoreSettings.from_dict({**config["scoring"], **space_overrides(space)})
    return tuple(tuple(g) for g in forward_groups(space, datasets, settings))


def group_of(space, dataset):
    return next(g for g in score_groups(space) if dataset in g)


def group_shard_dir(space, group, shard):
    return f"{RESULTS}/{space}/groups/{'+'.join(group)}/shard-{shard}"


def shard_inputs(wildcards):
    """What the merge of (space, dataset) waits for: its own shard files, or its group's folders."""
    group = group_of(wildcards.space, wildcards.dataset)
    if len(group) == 1:
        return [
            f"{RESULTS}/{wildcards.space}/{wildcards.dataset}/shards/shard-{k}.h5" for k in shard_ids(wildcards.space)
        ]
    return [group_shard_dir(wildcards.space, group, k) for k in shard_ids(wildcards.space)]


def shard_files(wildcards):
    """The (space, dataset) shard files that merge reads, quoted for the shell."""
    group = group_of(wildcards.space, wildcards.dataset)
    if len(group) == 1:
        return " ".join(shlex.quote(p) for p in shard_inputs(wildcards))
    return " ".join(shlex.quote(f"{d}/{wildcards.dataset}.h5") for d in shard_inputs(wildcards))


def study_settings_json(batch_size, seed):
    return settings_json(batch_size=batch_size, seed=seed)


def batch_study_runs():
    return [
        f"{RESULTS}/studies/{STUDY_SPACE}/{STUDIES['batch_dataset']}/b{b}_s{s}.h5"
        for b in STUDIES["batch_sizes"]
        for s in STUDIES["seeds"]
    ]


def seed_study_runs():
    if STUDY_SPACE not in SPACES:  # studies are off then (study_tables); the rule is never needed
        return []
    return [
        f"{RESULTS}/studies/{STUDY_SPACE}/{ds}/b{config['scoring']['batch_size']}_s{s}.h5"
        for ds in SPACES[STUDY_SPACE]["datasets"]
        for s in STUDIES["seeds"]
    ]


def search_settings_json():
    return settings_json(proxies=[SEARCH["proxy"]])


def zennas_settings_json():
    return settings_json(proxies=[SEARCH["proxy"]], resolution=SEARCH["resolution"])


def search_args():
    """Algorithm 1's fixed arguments (everything but T, which is a param of its own)."""
    return f"--k {SEARCH['k']} --seed {SEARCH['seed']} --proxy {SEARCH['proxy']}"


def search_tables():
    """Search CSVs the report includes (name -> path); empty when search is off."""
    if not SEARCH["enabled"]:
        return {}
    tables = {"search_zennas": f"{RESULTS}/search/zennas.csv"}
    if "nb201" in SPACES:
        tables |= {"search_nb201": f"{RESULTS}/search/nb201.csv", "search_picks": f"{RESULTS}/search/nb201_picks.csv"}
    return tables


def study_tables(wildcards=None):
    """Study, search and agreement CSVs the report includes (name -> path)."""
    if not STUDIES["enabled"] or STUDY_SPACE not in SPACES:
        return search_tables() | agreement_tables() | protocol_tables()
    return (
        search_tables()
        | agreement_tables()
        | protocol_tables()
        | {
            "ablation": f"{RESULTS}/studies/ablation.csv",
            "batch_size": f"{RESULTS}/studies/batch_size.csv",
            "seeds": f"{RESULTS}/studies/seeds.csv",
            "stability": f"{RESULTS}/studies/stability.csv",
            "topk": f"{RESULTS}/studies/topk.csv",
        }
    )


def protocol_tables():
    """The protocol comparison (the protocol_table step) when some baseline set scores a variant:
    another protocol or layer choice than the run's own."""
    variant = any(
        (spec.get("protocol") or config["scoring"]["protocol"]) != config["scoring"]["protocol"]
        or (spec.get("layers") or config["scoring"]["layers"]) != config["scoring"]["layers"]
        for spec in BASELINE_SETS.values()
    )
    return {"protocols": f"{RESULTS}/protocols.csv"} if variant else {}


def study_args(wildcards, input):
    return " ".join(f"--study {key}={getattr(input, key)}" for key in study_tables())


def mirror_arg():
    return f"--mirror {config['mirror']}" if config.get("mirror") else ""


# Sets switched off with `enabled: false` (overlay configs) are not scored.
BASELINE_SETS = {
    name: spec
    for name, spec in (config.get("baselines", {}).get("sets", {}) or {}).items()
    if spec.get("enabled", True)
}


#: Keys of a baseline set that override the scoring settings for that set only (null: inherit).
SET_SETTINGS = ("protocol", "layers", "resolution")


def set_settings_json(name, space):
    """Scoring settings of one baseline proxy set in one space: the space's settings with the set's
    proxies, data and the overrides it names."""
    spec = BASELINE_SETS[name]
    overrides = {k: spec[k] for k in SET_SETTINGS if spec.get(k) is not None}
    return space_settings_json(space, proxies=spec["proxies"], data=spec.get("data"), **overrides)


def set_sample(name, space):
    """Architectures the set scores in the space: its own sub-sample size, else the space's sample."""
    wanted = BASELINE_SETS[name].get("sample")
    return sample_size(space) if wanted is None else min(int(wanted), sample_size(space))


def set_has_own_selection(name):
    """A set with its own sample or shard size gets its own selection (made by select_set)."""
    spec = BASELINE_SETS[name]
    return spec.get("sample") is not None or spec.get("shard_size") is not None


def set_selection(name, space):
    """The set's selection file: the space's, or its seeded sub-sample of it."""
    if not set_has_own_selection(name):
        return f"{RESULTS}/{space}/selection.csv"
    return f"{RESULTS}/{space}/sets/{name}/selection.csv"


def set_shard_ids(name, space):
    if not set_has_own_selection(name):
        return shard_ids(space)
    size = BASELINE_SETS[name].get("shard_size") or SPACES[space]["shard_size"]
    return shard_labels(set_sample(name, space), size)


def merged_scores():
    """The main InTrain artifacts, then every baseline set's, per (space, dataset)."""
    return [
        f"{RESULTS}/{space}/{dataset}/scores.h5" for space, spec in SPACES.items() for dataset in spec["datasets"]
    ] + [
        f"{RESULTS}/{space}/{dataset}/set-{name}.h5"
        for name in BASELINE_SETS
        for space, spec in SPACES.items()
        for dataset in spec["datasets"]
        if set_scores(name, space, dataset)
    ]


# A set's `spaces` may name spaces an overlay switched off; its `datasets` must exist in this run.
for _name, _spec in BASELINE_SETS.items():
    _unknown = sorted(set(_spec.get("datasets") or ()) - {d for sp in SPACES.values() for d in sp["datasets"]})
    if _unknown:
        raise ValueError(f"baselines.sets.{_name}.datasets: {_unknown} is not a dataset of any space in this run")


def set_scores(name, space, dataset):
    """Whether baseline set `name` is scored on (space, dataset) (its `spaces` and `datasets` keys)."""
    spec = BASELINE_SETS[name]
    return (spec.get("spaces") is None or space in spec["spaces"]) and (
        spec.get("datasets") is None or dataset in spec["datasets"]
    )


def groundtruth_tables():
    """Each space's normalised ground truth."""
    return {space: f"{RESULTS}/groundtruth/{space}.csv" for space in SPACES}


def groundtruth_args(wildcards=None):
    """--groundtruth SPACE=CSV for every space (artifacts record their space)."""
    return " ".join(f"--groundtruth {space}={path}" for space, path in groundtruth_tables().items())


# Peers' score files (config `imports`, docs/interop.md): rules in interop.smk.
IMPORTS = {entry["name"]: entry for entry in config["imports"]}
if len(IMPORTS) != len(config["imports"]):
    raise ValueError("imports: every entry needs its own `name`")
for _name, _entry in IMPORTS.items():
    if _entry["space"] not in SPACES or _entry["dataset"] not in SPACES[_entry["space"]]["datasets"]:
        raise ValueError(
            f"imports.{_name}: {_entry['space']}/{_entry['dataset']} is not an enabled space and dataset "
            "(its ground truth and intrain's own scores come from `spaces`)"
        )


def imported_scores():
    """Artifacts of the configured imports (correlated and reported beside the merged ones)."""
    return [f"{RESULTS}/imports/{name}.h5" for name in IMPORTS]


def agreement_tables():
    """The agreement CSV the report includes (name -> path); empty without imports."""
    return {"agreement": f"{RESULTS}/agreement.csv"} if IMPORTS else {}
