# Config validation and helpers shared by the rules. Nothing heavy here: every cluster job
# re-parses the Snakefile.
import json
import math

from snakemake.utils import validate


validate(config, "../schemas/config.schema.yaml", set_default=True)

RESULTS = config["results"]
SPACES = config["spaces"]
SPACE_SIZE = {"nb201": 15625}
# Benchmark file keys (intrain/data/benchmarks.yaml) each space's ground truth is built from.
GROUNDTRUTH_FILES = {"nb201": ["nb201_test"]}


wildcard_constraints:
    space="|".join(SPACES),
    shard=r"\d{3}",
    key=r"[A-Za-z0-9_\-]+",


def sample_size(space):
    s = SPACES[space]["sample"]
    return SPACE_SIZE[space] if s == "all" else int(s)


def n_shards(space):
    return max(1, math.ceil(sample_size(space) / SPACES[space]["shard_size"]))


def shard_ids(space):
    return [f"{i:03d}" for i in range(n_shards(space))]


def settings_json():
    """The scoring settings as the CLI's --settings JSON (quoted for the shell)."""
    settings = json.dumps(config["scoring"], sort_keys=True)
    return f"'{settings}'"


def mirror_arg():
    return f"--mirror {config['mirror']}" if config.get("mirror") else ""


def merged_scores():
    return [
        f"{RESULTS}/{space}/{dataset}/scores.h5"
        for space, spec in SPACES.items()
        for dataset in spec["datasets"]
    ]
