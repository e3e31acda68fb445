"""The HTML report: every table and figure present, and it renders in headless Chromium."""

import html
import os

import numpy as np
import pandas as pd
import pytest

from intrain import studies
from intrain.correlate import correlation_table
from intrain.render import RenderError, find_browser, render_check
from intrain.report import build_report

from .helpers import fake_artifact, ladder


def _ground_truth_and_scores(d, acc: list, seed: int) -> list:
    """Write gt.csv (one accuracy list for both datasets) and one fake artifact per dataset."""
    n = len(acc)
    gt = pd.DataFrame({"arch_index": range(n), "arch": [f"arch{i}" for i in range(n)],
                       "canonical": [f"c{i}" for i in range(n)], "acc_cifar10": acc, "acc_ImageNet16-120": acc})
    gt.to_csv(d / "gt.csv", index=False)
    return [str(fake_artifact(d / f"{ds}.h5", ladder(n, np.random.default_rng(seed)), dataset=ds))
            for ds in ("cifar10", "ImageNet16-120")]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    scores = _ground_truth_and_scores(d, [50.0, 60.0, 55.0, 80.0, 70.0, 90.0], seed=0)
    corr = correlation_table(scores, str(d / "gt.csv"), n_boot=20)
    corr.to_csv(d / "corr.csv", index=False)
    runs = [str(fake_artifact(d / f"b{b}_s{s}.h5", ladder(6, np.random.default_rng(s)), batch_size=b, seed=s))
            for b in (8, 64) for s in (0, 1)]
    tables = {
        "ablation": studies.ablation(scores, str(d / "gt.csv"), n_boot=0),
        "batch_size": studies.batch_size(runs, str(d / "gt.csv")),
        "seeds": studies.seed_variance(runs, str(d / "gt.csv")),
        "stability": studies.stability(corr),
        "topk": studies.topk(scores, str(d / "gt.csv")),
    }
    paths = {}
    for key, table in tables.items():
        paths[key] = str(d / f"{key}_in.csv")
        table.to_csv(paths[key], index=False)
    build_report(str(d / "corr.csv"), scores, str(d / "gt.csv"), str(d / "out" / "index.html"),
                 studies=paths, config={"scoring": {"batch_size": 64}})
    return d / "out"


def test_report_holds_every_table_figure_and_provenance(report_dir):
    page = (report_dir / "index.html").read_text()
    for title in ("Rank correlations", "Ablation", "Batch-size sensitivity", "Seed variance", "Dataset stability",
                  "Top-k quality", "Provenance"):
        assert title in page
    for fig in ("tau_bars.png", "scatter_intrain.png", "ablation.png", "batch_size.png", "stability.png"):
        assert fig in page and (report_dir / fig).stat().st_size > 2000
    for csv in ("correlations.csv", "ablation.csv", "batch_size.csv", "seeds.csv", "stability.csv", "topk.csv"):
        assert len(pd.read_csv(report_dir / csv)) > 0
    text = html.unescape(page)
    assert '"sha256"' in text and "torch_version" in text and '"batch_size": 64' in text


def _browser_or_skip():
    if find_browser() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (scripts/setup.sh installs Debian's chromium)")
        pytest.skip("no Chromium here; scripts/setup.sh installs it")


def test_report_renders_in_headless_chromium(report_dir, tmp_path):
    _browser_or_skip()
    verdict = render_check(report_dir / "index.html", screenshot=tmp_path / "page.png")
    assert verdict["status"] == "ok", verdict
    assert verdict["images"] == 5 and verdict["broken"] == 0
    assert verdict["tables"] >= 7 and verdict["empty"] == 0
    assert (tmp_path / "page.png").stat().st_size > 10_000


def test_render_check_catches_a_missing_figure(report_dir, tmp_path):
    _browser_or_skip()
    broken = tmp_path / "index.html"
    broken.write_text((report_dir / "index.html").read_text().replace('src="tau_bars.png"', 'src="missing.png"'))
    for png in report_dir.glob("*.png"):
        (tmp_path / png.name).write_bytes(png.read_bytes())
    verdict = render_check(broken)
    assert verdict["status"] == "failed" and verdict["broken"] == 1


def test_render_check_without_the_script_is_an_error(tmp_path):
    _browser_or_skip()
    page = tmp_path / "plain.html"
    page.write_text("<html><body><p>no check here</p></body></html>")
    with pytest.raises(RenderError, match="render check did not run"):
        render_check(page)


def test_correlation_table_is_the_same_with_worker_processes(tmp_path):
    """The bootstrap spread over processes gives the same table, row order and CIs included."""
    scores = _ground_truth_and_scores(tmp_path, list(np.random.default_rng(3).uniform(40, 90, 40)), seed=1)
    one = correlation_table(scores, str(tmp_path / "gt.csv"), n_boot=50)
    two = correlation_table(scores, str(tmp_path / "gt.csv"), n_boot=50, workers=2)
    assert len(one) >= 4 and one.loc[one.proxy == "intrain", "kendall_lo"].notna().all()
    pd.testing.assert_frame_equal(one, two)
