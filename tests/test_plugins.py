"""examples/plugin end to end: its proxy and its toy space through the whole workflow, and plugin errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from .conftest import REPO

PLUGIN_SRC = REPO / "examples" / "plugin" / "src"
PROXY = "intrain_example.proxies:AliveFraction"


def _snakemake(tmp_path, config: dict, *extra):
    cfg = tmp_path / "plugin.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/tiny.yaml", str(cfg), *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_plugin_proxy_and_space_run_through_the_workflow(tmp_path, mirror):
    results = tmp_path / "results"
    config = {
        "results": str(results),
        "mirror": str(mirror),
        "spaces": {
            "nb201": {"enabled": False},
            "toy_cnn": {
                "plugin": "intrain_example.space:ToyCNNSpace",
                "datasets": ["toy10"],
                "sample": 12,
                "shard_size": 6,
                "table": str(PLUGIN_SRC / "intrain_example" / "toy_groundtruth.csv"),
            },
        },
        "scoring": {"proxies": ["intrain", PROXY]},
        "studies": {"enabled": False},
        "correlation": {"n_boot": 20},
    }
    proc = _snakemake(tmp_path, config)
    assert proc.returncode == 0, proc.stderr[-4000:]
    corr = pd.read_csv(results / "correlations.csv")
    rows = corr[(corr.space == "toy_cnn") & (corr.dataset == "toy10")]
    assert {"intrain", "alive_fraction", "zen", "synflow", "naswot"} <= set(rows.proxy), rows
    row = rows[rows.proxy == "alive_fraction"].iloc[0]
    assert row.n == 12 and -1 <= row.kendall <= 1
    html = (results / "report" / "index.html").read_text()
    assert "alive_fraction" in html and "toy_cnn" in html


@pytest.mark.slow
def test_a_plugin_that_does_not_import_stops_the_run_before_any_job(tmp_path, mirror):
    config = {
        "results": str(tmp_path / "r"),
        "mirror": str(mirror),
        "scoring": {"proxies": ["intrain", "no_such_module.sub:Proxy"]},
    }
    proc = _snakemake(tmp_path, config, "-n")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "scoring.proxies" in out and "no_such_module.sub" in out and "failed to import" in out


@pytest.mark.slow
def test_a_plugin_that_is_not_a_proxy_is_refused_in_words():
    from intrain.core.errors import InputError
    from intrain.proxies import get_proxy

    with pytest.raises(InputError, match="is not a subclass of intrain.proxies.base.Proxy"):
        get_proxy("collections:OrderedDict")
    with pytest.raises(InputError, match="has no attribute 'Nope'"):
        get_proxy("intrain.scoring.api:Nope")
    with pytest.raises(InputError, match="expected 'module.path:ClassName'"):
        get_proxy("intrain.scoring.api:")


def test_entry_point_plugins_are_found_by_name(tmp_path, monkeypatch):
    """An installed package's entry point (a dist-info on sys.path) makes its proxy a plain name."""
    dist = tmp_path / "intrain_example_plugin-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: intrain-example-plugin\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(f"[intrain.proxies]\nalive_fraction = {PROXY}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    from intrain import proxies

    proxies._entry_points.cache_clear()
    try:
        assert "alive_fraction" in proxies.list_proxies()
        assert proxies.get_proxy("alive_fraction").name == "alive_fraction"
        proxies.check_proxy_names(["intrain", "alive_fraction"])
    finally:
        proxies._entry_points.cache_clear()


def test_proxy_names_in_the_schema_come_from_the_registry():
    """No hand-kept proxy list in the schema: any string passes the schema, the registry decides."""
    schema = yaml.safe_load((REPO / "intrain" / "data" / "config.schema.yaml").read_text())
    items = schema["properties"]["scoring"]["properties"]["proxies"]["items"]
    assert "enum" not in items and items["type"] == "string"
