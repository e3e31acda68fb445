"""One escaping rule per sink: HTML (report), CSV/Parquet (exports, CLI tables), matplotlib text,
file names; and a failed report leaves nothing half-written."""

from __future__ import annotations

import html.parser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from intrain.analysis import studies
from intrain.analysis.correlate import correlation_table
from intrain.analysis.report import build_report
from intrain.core import sinks
from intrain.core.artifacts import write_shard

from .helpers import ladder

MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", '"><b>bold</b>', "'><svg onload=alert(3)>"]
EVIL = "".join(MARKUP) + "$\\frac{" + "=cmd|' /C calc'!A0"


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[tuple[str, str]] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update((tag, name) for name, _ in attrs)


def _parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    return p


def _report(d: Path, dataset: str, device: str, extra_proxy: str | None) -> Path:
    n = 6
    acc = [50.0, 60.0, 55.0, 80.0, 70.0, 90.0]
    pd.DataFrame(
        {
            "arch_index": range(n),
            "arch": [f"arch{i}" for i in range(n)],
            "canonical": [f"c{i}" for i in range(n)],
            f"acc_{dataset}": acc,
        }
    ).to_csv(d / "gt.csv", index=False)
    recs = ladder(n, np.random.default_rng(0))
    for r in recs:
        r.arch = f"{r.arch}{device}"
    art = d / "a.h5"
    write_shard(
        art,
        recs,
        {
            "space": "nb201",
            "dataset": dataset,
            "shard": 0,
            "n_shards": 1,
            "config_hash": device,
            "settings": {"note": device},
            "seed": 0,
            "batch_size": 64,
            "resolution": 32,
            "device": device,
        },
    )
    corr = correlation_table([str(art)], str(d / "gt.csv"), n_boot=10)
    if extra_proxy is not None:  # a correlations file is an input too: its strings are escaped the same way
        row = corr.iloc[[0]].copy()
        row["proxy"] = extra_proxy
        corr = pd.concat([corr, row], ignore_index=True)
    corr.to_csv(d / "corr.csv", index=False)
    stab = studies.stability(corr)
    stab.to_csv(d / "stability_in.csv", index=False)
    topk = studies.topk([str(art)], str(d / "gt.csv"))
    topk.to_csv(d / "topk_in.csv", index=False)
    return build_report(
        str(d / "corr.csv"),
        [str(art)],
        str(d / "gt.csv"),
        str(d / "out" / "index.html"),
        studies={"stability": str(d / "stability_in.csv"), "topk": str(d / "topk_in.csv")},
        config={"note": device},
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    clean = _report(tmp_path_factory.mktemp("clean"), "cifar10", "cpu", "plain")
    evil = _report(tmp_path_factory.mktemp("evil"), EVIL + "x" * 10_000, EVIL, EVIL)
    return clean, evil


def test_markup_in_every_string_field_makes_no_element(pages):
    clean, evil = pages
    ok, bad = _parse(clean.read_text()), _parse(evil.read_text())
    assert bad.tags <= ok.tags, bad.tags - ok.tags
    assert bad.attrs <= ok.attrs, bad.attrs - ok.attrs
    assert "b" not in bad.tags and "svg" not in bad.tags and not any(a.startswith("on") for _, a in bad.attrs)
    page = evil.read_text()
    assert page.count("<script") == clean.read_text().count("<script")  # only the report's own table script
    assert "&lt;script&gt;alert(1)" in page  # shown, as text


def test_math_text_and_long_names_do_not_crash_the_figures(pages):
    _, evil = pages
    for png in ("tau_bars.png", "scatter_intrain.png", "stability.png"):
        assert (evil.parent / png).stat().st_size > 2000, png


def test_report_csvs_are_neutralised_and_read_back_unchanged(pages):
    _, evil = pages
    raw = (evil.parent / "correlations.csv").read_text()
    assert "\n=" not in raw and ",=" not in raw and "'=cmd" not in raw.replace("'<", "")  # EVIL starts with '<'
    corr = sinks.read_csv(evil.parent / "correlations.csv")
    assert EVIL in set(corr["proxy"]) and corr["kendall"].dtype == np.float64


def test_failed_report_leaves_the_previous_one_whole(tmp_path, pages):
    clean, _ = pages
    before = {p.name: p.read_bytes() for p in clean.parent.iterdir()}
    d = clean.parent.parent
    with pytest.raises(Exception):  # noqa: B017 - any failure half-way
        build_report(
            str(d / "corr.csv"),
            [str(d / "a.h5")],
            str(d / "gt.csv"),
            str(clean),
            studies={"stability": str(d / "stability_in.csv"), "topk": str(d / "missing.csv")},
        )
    after = {p.name: p.read_bytes() for p in clean.parent.iterdir()}
    assert after == before  # nothing new, nothing replaced, no temporary folder left


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted", "''", "plain", "", "-"])
def test_csv_cells_round_trip_and_numbers_stay_numbers(tmp_path, cell):
    df = pd.DataFrame({"name": [cell, "ok"], "score": [-1.5, 2.0], "=head": ["a", "b"]})
    sinks.write_csv(df, tmp_path / "t.csv")
    raw = (tmp_path / "t.csv").read_text()
    for line in raw.splitlines():
        for field in line.split(","):
            assert not field.startswith(("=", "+", "@", "\t")) or field == "-1.5", field
    assert ",-1.5," in raw or raw.splitlines()[1].split(",")[1] == "-1.5"  # a negative number is written as such
    back = sinks.read_csv(tmp_path / "t.csv", keep_default_na=False)
    assert back["name"].tolist() == [cell, "ok"] and back["score"].tolist() == [-1.5, 2.0]
    assert list(back.columns) == ["name", "score", "=head"]


def test_cli_write_csv_neutralises(tmp_path):
    from intrain.cli.common import write_csv

    write_csv(pd.DataFrame({"proxy": ['=HYPERLINK("http://x")'], "kendall": [-0.5]}), str(tmp_path / "c.csv"))
    line = (tmp_path / "c.csv").read_text().splitlines()[1]
    assert line.lstrip('"').startswith("'=") and line.endswith(",-0.5")
    assert sinks.read_csv(tmp_path / "c.csv")["proxy"][0] == '=HYPERLINK("http://x")'
    assert not any(line.startswith("=") for line in (tmp_path / "c.csv").read_text().splitlines())


def test_slug_is_safe_bounded_and_distinct():
    names = ["naswot", "a/b", "a_b", "../../x", "x" * 10_000, "x" * 10_001, "é", ""]
    slugs = [sinks.slug(n) for n in names]
    assert slugs[0] == "naswot" and len(set(slugs)) == len(slugs)
    assert all(
        len(s) <= sinks.MAX_SLUG and set(s) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        for s in slugs
    )


def test_plot_text_bound():
    assert len(sinks.plot_text("x" * sinks.MAX_PLOT_TEXT)) == sinks.MAX_PLOT_TEXT
    assert len(sinks.plot_text("x" * (sinks.MAX_PLOT_TEXT + 1))) == sinks.MAX_PLOT_TEXT
    assert sinks.plot_text("x" * (sinks.MAX_PLOT_TEXT + 1)).endswith("…")


def test_export_csv_then_import_reads_back_unchanged(tmp_path, mirror, monkeypatch):
    """Formula-like dataset names are neutralised in the export; `intrain import --format csv`
    reads the very same strings and numbers back (negative scores stay numbers)."""
    from intrain.core.artifacts import merge_shards, read_scores
    from intrain.interop.export import export
    from intrain.interop.importer import import_scores

    from .helpers import fake_record

    monkeypatch.setenv("INTRAIN_MIRROR", str(mirror))
    bench = pd.read_csv(mirror / "nb201" / "nats_tss_200ep_test_acc.csv")
    rows = [7, 300, 2631]
    recs = []
    for k, i in enumerate(rows):
        r = fake_record(i, [(2.0 + k, 3.0, 16.0)], [(0.1, 1.0)])
        r.arch = bench["ArchitectureString"][i]
        r.proxies["naswot"] = {"score": -1.25 * (k + 1)}
        recs.append(r)
    dataset = '=HYPERLINK("http://evil")'
    write_shard(
        tmp_path / "s.h5",
        recs,
        {
            "space": "nb201",
            "dataset": dataset,
            "shard": 0,
            "n_shards": 1,
            "config_hash": "h",
            "settings": {},
            "seed": 0,
            "batch_size": 64,
            "resolution": 32,
            "device": "cpu",
        },
    )
    merge_shards([tmp_path / "s.h5"], tmp_path / "m.h5")
    export([str(tmp_path / "m.h5")], "csv", tmp_path / "e.csv")
    raw = (tmp_path / "e.csv").read_text()
    assert not any(f.lstrip('"').startswith("=") for line in raw.splitlines() for f in line.split(","))
    assert ",-1.25" in raw  # numbers are never prefixed
    import_scores(tmp_path / "e.csv", "csv", "nb201", dataset, tmp_path / "back.h5")
    own, back = read_scores(tmp_path / "m.h5"), read_scores(tmp_path / "back.h5")
    assert back["arch"].tolist() == own["arch"].tolist()
    assert np.array_equal(back["naswot"].to_numpy(), own["naswot"].to_numpy())
    from intrain.core.artifacts import read_attrs

    assert read_attrs(tmp_path / "back.h5")["dataset"] == dataset


_DOM = (
    "JSON.stringify({scripts: document.querySelectorAll('script').length,"
    " handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on')))"
    ".length, injected: document.querySelectorAll('b, svg, img[onerror]').length,"
    " images: [...document.images].map(i => i.getAttribute('src')).sort()})"
)


def test_chromium_dom_has_no_element_from_the_markup(pages):
    """The same page loaded in headless Chromium: its DOM has the clean page's scripts, no event
    handler attribute and no element the markup would create (skipped without Chromium)."""
    import json

    from intrain.analysis.render import find_browser, run_script

    if find_browser() is None:
        pytest.skip("no Chromium/Chrome on this machine")
    clean, evil = pages
    ok, bad = json.loads(run_script(clean, _DOM)), json.loads(run_script(evil, _DOM))
    assert bad["scripts"] == ok["scripts"] and bad["handlers"] == 0 and bad["injected"] == 0, bad
    assert bad["images"] == ok["images"] and ok["images"] and ok["scripts"] >= 1  # the probe saw the pages


def test_a_csv_whose_names_collide_once_restored_is_refused(tmp_path):
    """``x`` and ``'x`` both read back as ``x``: refused naming file and column, not a TypeError later (finding 9)."""
    from intrain.core.errors import InputError

    path = tmp_path / "t.csv"
    pd.DataFrame({"naswot": [1.0], "'naswot": [2.0]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"t\.csv: columns 'naswot' and \"'naswot\" both read as 'naswot'"):
        sinks.read_csv(path)
    sinks.write_csv(pd.DataFrame({"'naswot": [2.0], "=x": [1.0]}), path)  # what intrain writes reads back
    assert list(sinks.read_csv(path).columns) == ["'naswot", "=x"]
