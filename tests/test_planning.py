"""The workflow's planning (intrain.planning) called with plain config dicts: shard lists, set
selections, shared-forward groups, cross-key validation, target paths and CLI argument lists,
without Snakemake building a DAG. The last tests check that neither the modules nor the DAG
load torch."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from typing import ClassVar

import pytest

from intrain.core.download import BenchmarkFile
from intrain.planning import commands, targets
from intrain.planning.checks import check_proxies, proxy_lists
from intrain.planning.configcheck import SCHEMA_PATH, ConfigError, check_config, merge_overlay
from intrain.planning.environment import job_environment
from intrain.planning.plan import Plan
from intrain.planning.selection import n_shards_for, shard_labels
from intrain.spaces import PLUGIN_ENV

from .conftest import REPO

NB201 = ["cifar10", "cifar100", "ImageNet16-120"]
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
BASE = {
    "results": "out",
    "spaces": {"nb201": {"datasets": NB201, "sample": 7, "shard_size": 3}},
    "scoring": {"proxies": ["intrain"], "batch_size": 8},
    "studies": {"enabled": False},
    "search": {"enabled": False},
}


def config(overlay: dict | None = None, base: dict = BASE) -> dict:
    """``overlay`` on a small NB201 config, checked and completed as the workflow does (the schema's
    words first, then snakemake's validation filling in every default)."""
    from snakemake.utils import validate

    cfg = merge_overlay(copy.deepcopy(base), overlay or {})
    check_config(cfg, SCHEMA_PATH)
    validate(cfg, str(SCHEMA_PATH), set_default=True)
    return cfg


def plan(overlay: dict | None = None, **kwargs) -> Plan:
    return Plan(config(overlay), **kwargs)


# ----------------------------------------------------------------------------- shards


@pytest.mark.parametrize(
    "n, size, labels",
    [(7, 3, ["000", "001", "002"]), (6, 3, ["000", "001"]), (1, 50, ["000"]), (0, 5, ["000"]), (1000, 1, None)],
)
def test_shard_labels_cover_the_sample_in_jobs_of_shard_size(n, size, labels):
    got = shard_labels(n, size)
    assert got == (labels or [f"{i:03d}" for i in range(1000)])
    assert len(got) == n_shards_for(n, size) and len(got) * size >= n


def test_shard_size_below_one_is_refused():
    with pytest.raises(ValueError, match="shard_size"):
        shard_labels(5, 0)


def test_sample_all_counts_the_catalog_rows_and_explicit_archs_count_themselves():
    rows = {
        "nb201_test": BenchmarkFile(
            key="nb201_test", url="https://x/t.csv", mirror_path="t.csv", sha256="0" * 64, rows=10
        )
    }
    p = plan({"spaces": {"nb201": {"sample": "all", "shard_size": 4}}}, benchmarks=rows)
    assert p.sample_size("nb201") == 10 and p.shard_ids("nb201") == ["000", "001", "002"]
    p = plan({"spaces": {"nb201": {"archs": [ARCH], "sample": 100}}})
    assert p.sample_size("nb201") == 1 and p.shard_ids("nb201") == ["000"]


def test_sample_all_without_rows_names_the_space():
    with pytest.raises(ConfigError, match=r"spaces\.nb201: `sample: all` needs a local `table`"):
        plan({"spaces": {"nb201": {"sample": "all"}}}, benchmarks={}).shard_ids("nb201")


def test_table_rows_fix_the_shard_count_without_reading_the_table(tmp_path):
    p = plan(
        {
            "spaces": {
                "nb101": {"sample": "all", "shard_size": 5, "table": str(tmp_path / "absent.json"), "table_rows": 12}
            }
        }
    )
    assert p.shard_ids("nb101") == ["000", "001", "002"]
    assert targets.groundtruth_source(p, "nb101") == str(tmp_path / "absent.json")


# ----------------------------------------------------------------------------- baseline sets


SETS = {
    "baselines": {
        "sets": {
            "zc": {"proxies": ["snip", "synflow"]},
            "heavy": {
                "proxies": ["grasp"],
                "sample": 4,
                "shard_size": 2,
                "spaces": ["nb201"],
                "datasets": ["cifar10"],
                "protocol": "reference",
            },
            "big": {"proxies": ["snip"], "sample": 500},
            "off": {"proxies": ["snip"], "enabled": False},
        }
    }
}


def test_a_set_with_its_own_sample_gets_its_own_selection_and_shards():
    p = plan(SETS)
    assert list(p.sets) == ["zc", "heavy", "big"]  # `enabled: false` drops a set
    assert targets.set_selection(p, "zc", "nb201") == "out/nb201/selection.csv"
    assert p.set_shard_ids("zc", "nb201") == p.shard_ids("nb201") == ["000", "001", "002"]
    assert targets.set_selection(p, "heavy", "nb201") == "out/nb201/sets/heavy/selection.csv"
    assert p.set_sample("heavy", "nb201") == 4 and p.set_shard_ids("heavy", "nb201") == ["000", "001"]
    assert p.set_sample("big", "nb201") == 7  # never more than the space's sample
    assert targets.set_shards(p, "heavy", "nb201", "cifar10") == [
        "out/nb201/cifar10/sets/heavy/shard-000.h5",
        "out/nb201/cifar10/sets/heavy/shard-001.h5",
    ]


def test_a_set_is_scored_only_on_its_spaces_and_datasets_with_its_overrides():
    p = plan(SETS)
    merged = targets.merged_scores(p)
    assert merged[:3] == [f"out/nb201/{d}/scores.h5" for d in NB201]
    assert [m for m in merged if "set-heavy" in m] == ["out/nb201/cifar10/set-heavy.h5"]
    assert sum("set-zc" in m for m in merged) == 3 and not any("set-off" in m for m in merged)
    s = p.set_settings("heavy", "nb201")
    assert s["proxies"] == ["grasp"] and s["protocol"] == "reference" and s["batch_size"] == 8
    assert p.set_settings("zc", "nb201")["protocol"] == "uniform"
    assert p.protocol_variants() and "protocols" in targets.study_tables(p)
    assert not plan({"baselines": {"sets": {"zc": {"proxies": ["snip"]}}}}).protocol_variants()


# ----------------------------------------------------------------------------- shared-forward groups


def test_cifar_pair_shares_a_forward_and_merges_read_the_group_folders():
    p = plan()
    assert p.score_groups("nb201") == (("cifar10", "cifar100"), ("ImageNet16-120",))
    assert targets.shard_inputs(p, "nb201", "cifar100")[0] == "out/nb201/groups/cifar10+cifar100/shard-000"
    assert targets.shard_files(p, "nb201", "cifar100")[0] == "out/nb201/groups/cifar10+cifar100/shard-000/cifar100.h5"
    assert targets.shard_files(p, "nb201", "ImageNet16-120") == [
        f"out/nb201/ImageNet16-120/shards/shard-{k}.h5" for k in ("000", "001", "002")
    ]


@pytest.mark.parametrize("overlay", [{"share_forward": False}, {"scoring": {"proxies": ["intrain", "synflow"]}}])
def test_no_sharing_when_switched_off_or_a_proxy_needs_more_than_the_probe(overlay):
    assert plan(overlay).score_groups("nb201") == tuple((d,) for d in NB201)


def test_a_space_override_reaches_the_settings_and_the_grouping():
    p = plan({"spaces": {"nb201": {"enabled": False}, "nds_darts": {"sample": 10}}})
    assert p.settings("nds_darts")["resolution"] == 64 and p.settings()["resolution"] is None


# ----------------------------------------------------------------------------- cross-key validation


@pytest.mark.parametrize(
    "overlay, words",
    [
        ({"spaces": {"nb201": {"enabled": False}}}, "every space in `spaces` has enabled: false"),
        (
            {"baselines": {"sets": {"zc": {"proxies": ["snip"], "datasets": ["imagenet"]}}}},
            "baselines.sets.zc.datasets: ['imagenet'] is not a dataset of any space in this run",
        ),
        (
            {
                "imports": [{"name": "a", "file": "f", "format": "naslib-zc", "space": "nb201", "dataset": "cifar10"}]
                * 2
            },
            "imports: every entry needs its own `name`",
        ),
        (
            {"imports": [{"name": "a", "file": "f", "format": "naslib-zc", "space": "nb101", "dataset": "cifar10"}]},
            "imports.a: nb101/cifar10 is not an enabled space and dataset",
        ),
        ({"studies": {"enabled": True, "space": "nb101"}}, "config key studies.space: 'nb101' is not an enabled space"),
        (
            {"studies": {"enabled": True, "batch_dataset": "imagenet"}},
            "config key studies.batch_dataset: 'imagenet' is not a dataset of studies.space 'nb201'",
        ),
        (
            {"spaces": {"nb201": {"datasets": ["ImageNet16-120"]}}, "studies": {"enabled": True}},
            "studies.batch_dataset: 'cifar10' is not a dataset",
        ),
    ],
)
def test_bad_combinations_are_refused_naming_the_key(overlay, words):
    with pytest.raises(ConfigError) as err:
        plan(overlay)
    assert words in str(err.value)


def test_a_plugin_space_with_a_dataset_it_lacks_is_refused():
    cfg = config({"spaces": {"nb201": {"enabled": False}, "nb101": {"datasets": ["cifar10"]}}})
    cfg["spaces"]["nb101"]["datasets"] = ["cifar100"]  # past the schema, as a plugin space's list is
    with pytest.raises(ConfigError, match=r"spaces\.nb101\.datasets: \['cifar100'\] not in the space's \['cifar10'\]"):
        Plan(cfg)


@pytest.mark.slow
def test_unknown_proxies_are_refused_naming_the_config_key():
    cfg = config({"baselines": {"sets": {"zc": {"proxies": ["snip", "no_such_module.x:Y"]}}}})
    assert list(proxy_lists(cfg)) == ["scoring.proxies", "baselines.sets.zc.proxies"]
    with pytest.raises(ConfigError, match=r"config key baselines\.sets\.zc\.proxies: .*no_such_module"):
        check_proxies(cfg)


@pytest.mark.parametrize(
    "overlay, key",
    [({"results": "r/{space}"}, "results"), ({"results": ""}, "results"), ({"studies": {"space": 3}}, "studies.space")],
)
def test_schema_refuses_results_with_braces_and_a_study_space_that_is_no_name(overlay, key):
    with pytest.raises(ConfigError, match=rf"config key {re.escape(key)}:"):
        config(overlay)


@pytest.mark.parametrize(
    "key, value", [("lga_steps", 1001), ("lr_samples", 100_001), ("lr_resolution", 1025), ("lr_resolution", 0)]
)
def test_schema_bounds_the_pass_options_as_intrain_score_does(key, value):
    """The workflow's scoring options have the same ranges as `intrain.score`'s OPTIONS, so a config
    value is refused when the config is read, not hours later inside a scoring job."""
    from intrain.engine.passes import OPTIONS

    with pytest.raises(ConfigError, match=rf"config key scoring\.{key}:"):
        config({"scoring": {key: value}})
    with pytest.raises(ValueError, match=rf"{key} must be an integer"):
        OPTIONS[key].check(key, value)


# ----------------------------------------------------------------------------- studies


def test_studies_run_on_nb201_by_default_and_are_skipped_without_it():
    p = plan({"studies": {"enabled": True, "batch_sizes": [2, 8], "seeds": [0, 1]}})
    assert p.study_space == "nb201"
    assert targets.batch_study_runs(p) == [f"out/studies/nb201/cifar10/b{b}_s{s}.h5" for b in (2, 8) for s in (0, 1)]
    assert targets.seed_study_runs(p) == [f"out/studies/nb201/{d}/b8_s{s}.h5" for d in NB201 for s in (0, 1)]
    assert targets.study_groundtruth(p) == ["out/groundtruth/nb201.csv"]
    assert list(targets.study_tables(p)) == ["ablation", "batch_size", "seeds", "stability", "topk"]
    p = plan({"spaces": {"nb201": {"enabled": False}, "nb101": {"sample": 4}}, "studies": {"enabled": True}})
    assert p.study_space is None and targets.batch_study_runs(p) == [] and targets.study_tables(p) == {}


def test_studies_space_moves_the_studies_to_another_space():
    p = plan(
        {
            "spaces": {"nb101": {"sample": 4}},
            "studies": {"enabled": True, "space": "nb101", "batch_sizes": [4], "seeds": [3]},
        }
    )
    assert targets.batch_study_runs(p) == ["out/studies/nb101/cifar10/b4_s3.h5"]
    assert targets.seed_study_runs(p) == ["out/studies/nb101/cifar10/b8_s3.h5"]
    assert targets.study_groundtruth(p) == ["out/groundtruth/nb101.csv"]
    assert p.study_settings(4, 3) == {**p.settings(), "batch_size": 4, "seed": 3}


# ----------------------------------------------------------------------------- other targets


def test_search_agreement_and_groundtruth_tables():
    imp = [{"name": "peer", "file": "f.json", "format": "naslib-zc", "space": "nb201", "dataset": "cifar10"}]
    p = plan({"search": {"enabled": True}, "imports": imp})
    assert list(targets.study_tables(p)) == ["search_zennas", "search_nb201", "search_picks", "agreement"]
    assert targets.imported_scores(p) == ["out/imports/peer.h5"]
    assert targets.groundtruth_tables(p) == {"nb201": "out/groundtruth/nb201.csv"}
    assert targets.benchmark_path(p, "nb201_test") == "out/benchmarks/nb201_test.csv"
    assert p.search_settings()["proxies"] == ["intrain"]
    p = plan({"spaces": {"nb201": {"enabled": False}, "nb101": {"sample": 4}}, "search": {"enabled": True}})
    assert list(targets.search_tables(p)) == ["search_zennas"]


def test_validation_tables_only_for_nb201_with_the_valid_metric():
    assert targets.valid_sources(plan(), "nb201") == {}
    p = plan({"correlation": {"metric": "valid"}})
    assert targets.valid_sources(p, "nb201") == {d: f"out/benchmarks/nb201_valid_{d}.csv" for d in NB201}
    assert commands.valid_args(p, "nb201")[:2] == ["--valid", "cifar10=out/benchmarks/nb201_valid_cifar10.csv"]


def test_merged_scores_of_one_space_do_not_depend_on_the_results_path():
    p = plan({"results": "/x/nb201/y", "spaces": {"nb101": {"sample": 4}}})
    assert targets.merged_scores(p, only="nb101") == ["/x/nb201/y/nb101/cifar10/scores.h5"]


# ----------------------------------------------------------------------------- CLI arguments


def test_arguments_are_lists_that_keep_every_character():
    weird = "/tmp/a b/$(touch x); `y` 'q\""
    p = plan({"results": weird, "spaces": {"nb201": {"archs": [ARCH], "dedup": False}}, "mirror": weird})
    assert commands.select_args(p, "nb201") == ["--arch", ARCH]
    assert commands.select_args(plan(), "nb201") == ["--sample", "7"]
    assert commands.mirror_args(p.config) == ["--mirror", weird]
    assert commands.groundtruth_args(p) == ["--groundtruth", f"nb201={weird}/groundtruth/nb201.csv"]
    assert commands.search_args(p) == ["--k", "10", "--seed", "0", "--proxy", "intrain"]
    rounds = plan({"search": {"batch": 4, "workers": 2, "threads": 2, "count_rejected": True}})
    assert commands.search_args(rounds)[6:] == ["--batch", "4", "--workers", "2", "--threads", "2", "--count-rejected"]
    assert commands.settings_json(p.settings("nb201")).startswith('{"batch_size": 8, ')


def test_job_environment_leads_path_with_the_interpreter_and_appends_plugins():
    cfg = config({"spaces": {"toy": {"plugin": "pkg.mod:Toy", "table": "t.csv"}}})
    env = job_environment(cfg, {"PATH": "/usr/bin", PLUGIN_ENV: "a=b:C"}, "/venv/bin/python")
    assert env == {"PATH": os.pathsep.join(["/venv/bin", "/usr/bin"]), PLUGIN_ENV: "a=b:C;toy=pkg.mod:Toy"}
    assert job_environment(config(), {}, "/p/python") == {"PATH": os.pathsep.join(["/p", ""])}


# ----------------------------------------------------------------------------- no torch


def test_planning_modules_import_without_torch():
    code = (
        "import sys\nimport intrain.planning.plan, intrain.planning.targets, intrain.planning.commands, "
        "intrain.planning.checks, intrain.planning.environment, intrain.planning.sets\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:5]\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.slow
def test_building_the_dag_does_not_import_torch(tmp_path, mirror):
    """`-X importtime` lists every module the dry run imports (one stderr line each)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            "config/tiny.yaml",
            "--config",
            f"results={tmp_path}/r",
            f"mirror={mirror}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    modules = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "intrain.planning.plan" in modules and "snakemake.workflow" in modules  # the audit sees the parse
    assert not [m for m in modules if m == "torch" or m.startswith("torch.")]


class _ToySpace:
    """A plugin space as the plan sees it: datasets, no catalog benchmark, its own table reader."""

    datasets: ClassVar[dict[str, object]] = {"toy10": object()}
    benchmark = None

    def groundtruth(self, table):
        return [table] * 5


def test_a_plugin_space_counts_its_own_table_and_needs_one_without_a_benchmark(tmp_path):
    spaces = {"nb201": {"enabled": False}, "toy": {"plugin": "pkg.toy:Toy", "shard_size": 2}}
    cfg = config({"spaces": spaces})
    p = Plan(copy.deepcopy(cfg), space_of=lambda name: _ToySpace())
    assert p.spaces["toy"]["datasets"] == ["toy10"]  # the space's own datasets filled in
    with pytest.raises(ConfigError, match=r"spaces\.toy: the space has no benchmark .* local `table`"):
        targets.groundtruth_source(p, "toy")
    cfg["spaces"]["toy"]["table"] = str(tmp_path / "toy.csv")
    p = Plan(cfg, space_of=lambda name: _ToySpace())
    assert targets.groundtruth_source(p, "toy") == str(tmp_path / "toy.csv")
    assert p.sample_size("toy") == 5 and p.shard_ids("toy") == ["000", "001", "002"]


# ----------------------------------------------------------------------------- hostile values


@pytest.mark.parametrize(
    "overlay, words",
    [
        ({"results": "-rf"}, "config key results: '-rf' starts with '-'"),
        ({"mirror": "--help"}, "config key mirror: '--help' starts with '-'"),
        ({"results": "out/" + "x" * 256}, "config key results: a path component of 256 bytes"),
        ({"scoring": {"data": "no/such/batch.npz"}}, "config key scoring.data: no file 'no/such/batch.npz'"),
        (
            {
                "baselines": {
                    "sets": {
                        "big": {
                            "proxies": ["snip"],
                            "spaces": [f"s{i:04d}" + "x" * 60 for i in range(1200)],
                            "enabled": False,
                        }
                    }
                }
            },
            "bytes as JSON; the workflow passes it to the report as one argument",
        ),
    ],
)
def test_values_that_would_break_a_command_line_are_refused_before_any_job(overlay, words):
    with pytest.raises(ConfigError) as err:
        plan(overlay)
    assert words in str(err.value)


@pytest.mark.parametrize("name", ["../../x", "a b", "$(id)", "x" * 65])
def test_set_names_are_identifiers_of_bounded_length(name):
    with pytest.raises(ConfigError, match="baselines.sets"):
        config({"baselines": {"sets": {name: {"proxies": ["snip"]}}}})


@pytest.mark.parametrize(
    "text, words",
    [
        (
            '__use_yte__: true\nresults: ?__import__("os").getcwd()\n',
            "`__use_yte__` turns the file into a YTE template",
        ),
        ('results: "?1 + 1"\n', "config key 'results': a value starting with '?' is a YTE template expression"),
        ("spaces:\n  ?if True:\n    nb201: {}\n", "a key starting with '?' is a YTE template expression"),
    ],
)
def test_templates_in_an_overlay_are_refused(tmp_path, text, words):
    """Snakemake evaluates YTE templates in config files; intrain's configs are data only."""
    from intrain.planning.configcheck import load_overlay

    path = tmp_path / "over.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_overlay(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_check_config_command_writes_a_template_free_json_copy(tmp_path):
    from intrain.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text('__use_yte__: true\nresults: ?__import__("os").getcwd()\n')
    assert main(["check-config", str(bad)]) == 2
    out = tmp_path / "merged.json"
    assert main(["check-config", str(REPO / "config" / "tiny.yaml"), "--json", str(out)]) == 0
    import json

    assert json.loads(out.read_text())["spaces"]["nb201"]["sample"] == 6


def test_a_key_that_yaml_reads_as_a_number_is_refused_in_words():
    """`201:` in YAML is an int key: refused naming where, before any lookup by name."""
    from intrain.planning.configcheck import load_overlay

    with pytest.raises(ConfigError, match=r"config key spaces: the key 201 is not text \(int\)"):
        check_config(load_overlay("spaces:\n  201: {sample: 5}\n"), SCHEMA_PATH)


def test_search_batch_size_replaces_the_runs_batch_only_in_the_searches():
    """`search.batch_size` (config/search_fast.yaml) sets B of the searches' scorer; the run's own
    scoring keeps `scoring.batch_size`, and null (the default) inherits it."""
    fast = plan({"search": {"batch_size": 16}})
    assert fast.search_settings(resolution=32)["batch_size"] == 16
    assert fast.search_settings(resolution=32)["resolution"] == 32
    assert fast.settings("nb201")["batch_size"] == 8
    assert plan().search_settings()["batch_size"] == 8


@pytest.mark.parametrize("bad", [1, 0, -4, 2.5, "16", True])
def test_search_batch_size_out_of_range_is_refused_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"search\.batch_size"):
        config({"search": {"batch_size": bad}})
