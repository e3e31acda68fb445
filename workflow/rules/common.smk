# Config checks and the run's plan, shared by the rules. The computations live in
# intrain.planning (unit-tested in tests/test_planning.py); nothing heavy here, no torch: every
# cluster job re-parses the Snakefile.
import json
import os
import subprocess
import sys

from snakemake.utils import validate

from intrain.planning import commands, targets
from intrain.planning.checks import check_proxies
from intrain.planning.configcheck import SCHEMA_PATH, check_config, check_configfiles
from intrain.planning.environment import job_environment
from intrain.planning.plan import Plan

# The --configfile overlays as untrusted YAML (no aliases, bounded size and depth) before anything
# walks the merged config; then in words (which key, which edge/op, the fix); snakemake's
# validation then fills in defaults.
check_configfiles(workflow.overwrite_configfiles)
check_config(config, SCHEMA_PATH)
validate(config, str(SCHEMA_PATH), set_default=True)
check_proxies(config)

# Rules call the `intrain` CLI of the environment Snakemake runs in (a .venv need not be
# activated); plugin spaces reach every job through the environment, which jobs inherit.
os.environ.update(job_environment(config, os.environ, sys.executable))

PLAN = Plan(config)
RESULTS = PLAN.results
SPACES = PLAN.spaces
SEARCH = PLAN.search
STUDIES = PLAN.studies


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
