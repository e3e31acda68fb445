"""The HTML report: headline and sections, every table and figure, rounded numbers, sort and filter,
and a layout that fits 1280 and 800 px in headless Chromium (and render-check failing where it does not)."""

import html
import os
import re

import numpy as np
import pandas as pd
import pytest

from intrain.analysis import studies
from intrain.analysis.correlate import correlation_table
from intrain.analysis.render import RenderError, render_check, run_script
from intrain.analysis.report import build_report, format_value, headline, headline_html, html_table
from intrain.cli import main
from intrain.core.errors import InputError

from .helpers import browser_or_skip, fake_artifact, ladder


def _ground_truth_and_scores(d, acc: list, seed: int) -> list:
    """Write gt.csv (one accuracy list for both datasets) and one fake artifact per dataset."""
    n = len(acc)
    gt = pd.DataFrame(
        {
            "arch_index": range(n),
            "arch": [f"arch{i}" for i in range(n)],
            "canonical": [f"c{i}" for i in range(n)],
            "acc_cifar10": acc,
            "acc_ImageNet16-120": acc,
        }
    )
    gt.to_csv(d / "gt.csv", index=False)
    return [
        str(fake_artifact(d / f"{ds}.h5", ladder(n, np.random.default_rng(seed)), dataset=ds))
        for ds in ("cifar10", "ImageNet16-120")
    ]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    scores = _ground_truth_and_scores(d, [50.0, 60.0, 55.0, 80.0, 70.0, 90.0], seed=0)
    corr = correlation_table(scores, str(d / "gt.csv"), n_boot=20)
    corr.to_csv(d / "corr.csv", index=False)
    runs = [
        str(fake_artifact(d / f"b{b}_s{s}.h5", ladder(6, np.random.default_rng(s)), batch_size=b, seed=s))
        for b in (8, 64)
        for s in (0, 1)
    ]
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
    build_report(
        str(d / "corr.csv"),
        scores,
        str(d / "gt.csv"),
        str(d / "out" / "index.html"),
        studies=paths,
        config={"scoring": {"batch_size": 64}},
    )
    return d / "out"


def test_report_holds_every_table_figure_and_provenance(report_dir):
    page = (report_dir / "index.html").read_text()
    for title in (
        "Rank correlations",
        "Ablation",
        "Batch-size sensitivity",
        "Seed variance",
        "Dataset stability",
        "Top-k quality",
        "Provenance",
    ):
        assert title in page
    for fig in ("tau_bars.png", "scatter_intrain.png", "ablation.png", "batch_size.png", "stability.png"):
        assert fig in page and (report_dir / fig).stat().st_size > 2000
    for csv in ("correlations.csv", "ablation.csv", "batch_size.csv", "seeds.csv", "stability.csv", "topk.csv"):
        assert len(pd.read_csv(report_dir / csv)) > 0
    text = html.unescape(page)
    assert '"sha256"' in text and "torch_version" in text and '"batch_size": 64' in text
    assert "<script src" not in page and "http://" not in page.split('class="prov"')[0]  # offline: nothing fetched


def test_report_opens_with_the_headline_then_contents_whose_anchors_resolve(report_dir):
    page = (report_dir / "index.html").read_text()
    assert (
        page.index('id="headline"')
        < page.index('id="heatmap"')
        < page.index('class="verdicts"')
        < page.index('id="contents"')
        < page.index('id="correlations"')
        < page.index('id="provenance"')
    )
    nav = page[page.index('<nav id="contents"') : page.index("</nav>")]
    anchors = re.findall(r'href="#([^"]+)"', nav)
    assert {"headline", "correlations", "components", "scatter", "study-ablation", "study-topk", "provenance"} <= set(
        anchors
    )
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    assert set(anchors) <= ids and len(set(ids)) == len(re.findall(r'\bid="', page))  # all resolve, none twice
    # the verdicts: one per benchmark; the fake artifacts are NB201 cifar10 and ImageNet16-120
    headline_part = page[page.index('id="headline"') : page.index('id="contents"')]
    assert headline_part.count("<li>") == 2 and "too few architectures to judge" in headline_part  # n = 6
    body = headline_part[headline_part.index("<tbody>") : headline_part.index("</tbody>")]
    assert "No benchmark of this run has enough architectures" in headline_part and "✓" not in body
    assert "nb201/cifar10: InTrain&#x27;s τ =" in headline_part and "nb201/ImageNet16-120: " in headline_part


def _corr(rows) -> pd.DataFrame:
    cols = ["space", "dataset", "proxy", "n", "kendall", "kendall_lo", "kendall_hi", "paper_kendall"]
    return pd.DataFrame(rows, columns=cols)


CONSTRUCTED = _corr(
    [
        ("nb201", "cifar10", "intrain", 15625, 0.672, 0.660, 0.684, 0.669),  # reproduces: 0.669 in the CI
        ("nb201", "ImageNet16-120", "intrain", 15625, 0.550, 0.538, 0.561, 0.675),  # 0.125 below, outside
        ("nb101", "cifar10", "intrain", 1000, 0.400, np.nan, np.nan, 0.560),  # no bootstrap (n_boot 0)
        ("nds_darts", "cifar10", "intrain", 500, 0.300, 0.25, 0.35, np.nan),  # nothing published
        ("nb201", "cifar10", "synflow", 15625, 0.700, 0.690, 0.710, 0.561),  # another proxy: differs
        ("nb201", "cifar10", "zico", 15625, 0.600, 0.590, 0.612, 0.607),  # another proxy: reproduces
        ("nb201", "cifar10", "intrain.gamma", 15625, 0.500, 0.49, 0.51, np.nan),  # a component: not in the heatmap
        ("nb201", "ImageNet16-120", "zico", 15625, np.nan, np.nan, np.nan, 0.587),  # undefined τ
    ]
)


def test_headline_sentences_say_whether_intrain_reproduces():
    verdicts = {v["benchmark"]: v for v in headline(CONSTRUCTED)}
    assert list(verdicts) == ["nb201/cifar10", "nb201/ImageNet16-120", "nb101/cifar10", "nds_darts/cifar10"]
    ok = verdicts["nb201/cifar10"]
    assert ok["verdict"] == "reproduces"
    assert ok["sentence"].startswith(
        "nb201/cifar10: InTrain's τ = 0.672 (95 % CI 0.660 to 0.684; n = 15,625) reproduces the published 0.669"
    )
    assert (
        "(Δ +0.003)" in ok["sentence"] and "Other proxies: 1 of 2 with a published value reproduce it" in ok["sentence"]
    )
    bad = verdicts["nb201/ImageNet16-120"]
    assert bad["verdict"] == "differs"
    assert (
        "does not reproduce the published 0.675: it is 0.125 below it, outside the bootstrap interval"
        in bad["sentence"]
    )
    assert "Other proxies" not in bad["sentence"]  # zico's τ is undefined there: nothing judged
    assert verdicts["nb101/cifar10"]["verdict"] == "no-ci"
    assert "0.160 below the published 0.560; no bootstrap interval" in verdicts["nb101/cifar10"]["sentence"]
    assert verdicts["nds_darts/cifar10"]["verdict"] == "no-paper"
    assert "no published value to compare with" in verdicts["nds_darts/cifar10"]["sentence"]
    wide = headline(_corr([("nb201", "cifar10", "intrain", 6, 0.33, -0.5, 0.9, 0.669)]))[0]
    assert wide["verdict"] == "too-few" and "too few architectures to judge" in wide["sentence"] and wide["wide"]
    assert "n = 6" in wide["sentence"] and not ok["wide"] and not bad["wide"]
    absent = headline(_corr([("nb201", "cifar10", "zico", 60, 0.6, 0.5, 0.7, 0.607)]))[0]
    assert absent["verdict"] == "absent" and absent["others_reproduced"] == 1


def test_a_benchmark_too_small_to_tell_is_greyed_unmarked_and_not_counted():
    """NB101 with n = 4 and a CI of -1..1 (the first run's) is no reproduction: apart, grey, no ✓/✗;
    so is a large-n benchmark whose interval is wider than JUDGE.max_ci_width."""
    from intrain.analysis.report import JUDGE

    corr = _corr(
        [
            ("nb201", "cifar10", "intrain", 100, 0.702, 0.601, 0.782, 0.669),  # judged: reproduces
            ("nb101", "cifar10", "intrain", 4, 0.667, -1.0, 1.0, 0.164),  # n < min_n
            ("nb101", "cifar10", "zico", 4, 0.0, -1.0, 1.0, 0.3),
            ("nb201", "cifar100", "intrain", JUDGE.min_n, 0.45, 0.3, 0.3 + JUDGE.max_ci_width + 0.01, 0.5),  # wide
        ]
    )
    verdicts = {v["benchmark"]: v["verdict"] for v in headline(corr)}
    assert verdicts == {"nb201/cifar10": "reproduces", "nb101/cifar10": "too-few", "nb201/cifar100": "too-few"}
    page = headline_html(corr)
    assert "reproduces the published Kendall τ on 1 of 1 benchmark " in page
    assert "Not counted, too few architectures to judge" in page and "nb101/cifar10, nb201/cifar100" in page
    table = page[page.index("<table") : page.index("</table>")]
    cells = re.findall(r"<td([^>]*)>(.*?)</td>", table)
    few = [(attrs, body) for attrs, body in cells if 'class="few"' in attrs]
    assert len(few) == 3 and all("#eceff3" in a and "✓" not in b and "✗" not in b for a, b in few)
    assert table.count("✓") == 1  # the judged benchmark only
    assert table.count("too few architectures to judge</span>") == 2  # both columns: every row of each too few
    # one cell more than the CI width threshold flips it; within it, judged
    inside = _corr([("nb201", "cifar100", "intrain", JUDGE.min_n, 0.6, 0.5, 0.5 + JUDGE.max_ci_width - 0.01, 0.671)])
    assert headline(inside)[0]["verdict"] == "reproduces"
    # a wide interval that excludes the published value still decides a miss (jacov at n = 97 in a
    # first run: CI 0.230..0.531 against the paper's 0.616), graded and marked, not greyed
    miss = _corr([("nb201", "cifar10", "intrain", 97, 0.399, 0.230, 0.531, 0.616)])
    assert headline(miss)[0]["verdict"] == "differs"
    cell = re.findall(r"<td([^>]*)>(.*?)</td>", headline_html(miss))[0]
    assert 'class="few"' not in cell[0] and "✗" in cell[1]


def test_n_says_how_many_architectures_were_isomorphic_copies():
    corr = _corr([("nb201", "cifar10", "intrain", 100, 0.702, 0.601, 0.782, 0.669)])
    corr["n_copies"] = 20
    sentence = headline(corr)[0]["sentence"]
    assert "(95 % CI 0.601 to 0.782; n = 100: 80 scored, 20 isomorphic copies)" in sentence
    assert "n = 100: 80 scored, 20 isomorphic copies" in html.unescape(headline_html(corr))  # the cell's tooltip
    from intrain.analysis.report.verdicts import n_text

    assert n_text(corr.iloc[0]) == "n = 100 (80 scored, 20 isomorphic copies)"
    assert n_text(corr.iloc[0].drop("n_copies")) == "n = 100"


def test_heatmap_marks_published_values_and_differences():
    page = headline_html(CONSTRUCTED)
    assert page.startswith('<p class="summary">InTrain reproduces the published Kendall τ on 1 of 2 benchmarks')
    table = page[page.index("<table") : page.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table)
    header, body = rows[0], rows[1:]
    assert [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", header)] == [
        "proxy",
        "nb201/cifar10",
        "nb201/ImageNet16-120",
        "nb101/cifar10",
        "nds_darts/cifar10",
    ]
    assert [re.search(r'<th scope="row">([^<]+)', r).group(1) for r in body] == ["intrain", "synflow", "zico"]
    cells = {name: re.findall(r"<td[^>]*>(.*?)</td>", row) for name, row in zip(["intrain", "synflow", "zico"], body)}
    text = {k: [re.sub(r"<[^>]+>", " ", c).split() for c in v] for k, v in cells.items()}
    assert text["intrain"][0] == ["0.672", "paper", "0.669", "+0.003", "✓"]
    assert text["intrain"][1] == ["0.550", "paper", "0.675", "-0.125", "✗"]
    assert text["intrain"][2] == ["0.400", "paper", "0.560", "-0.160"]  # no CI: no verdict mark
    assert text["intrain"][3] == ["0.300"]
    assert text["synflow"][0][-1] == "✗" and text["zico"][0][-1] == "✓"
    assert text["zico"][1] == ["–"] and text["synflow"][1] == ["–"]  # undefined, not scored
    assert "τ = 0.6720 (95 % CI 0.660 to 0.684; n = 15,625); paper 0.669, Δ +0.003: reproduces" in html.unescape(table)
    assert "intrain.gamma" not in table


def test_numbers_are_rounded_for_reading_with_full_precision_kept_for_sorting():
    assert format_value("kendall", 0.67212345) == "0.672" and format_value("spearman_lo", -0.1) == "-0.100"
    assert format_value("diff_kendall", 0.0031) == "+0.003" and format_value("diff_kendall", -0.125) == "-0.125"
    assert format_value("n", 15625) == "15,625" and format_value("budget", 600000000.0) == "600,000,000"
    assert format_value("seed", 2024) == "2024"
    assert format_value("seconds", 0.012345) == "0.0123" and format_value("seconds", 1234.5) == "1,234"
    assert format_value("latency_ms_median", 12.345) == "12.3" and format_value("pass_seconds", 3.0) == "3"
    assert format_value("top10_mean_acc", 93.456) == "93.46" and format_value("kendall", float("nan")) == "–"
    assert format_value("best_arch", "a" * 80) == "a" * 80
    cell = html_table(pd.DataFrame({"kendall": [0.67212345], "arch": ["x" * 60]}))
    assert 'data-v="0.67212345">0.672</td>' in cell and '<td class="long">' in cell and 'class="scroll"' in cell


def test_report_renders_at_1280_and_800_px(report_dir, tmp_path):
    browser_or_skip()
    verdict = render_check(report_dir / "index.html", screenshot=tmp_path / "page.png")
    assert verdict["status"] == "ok", verdict["problems"]
    assert verdict["images"] == 5 and verdict["broken"] == 0
    assert verdict["tables"] >= 8 and verdict["empty"] == 0  # the heatmap and seven data tables
    for width in (1280, 800):
        check = verdict["widths"][width]
        assert check["scroll_width"] == check["viewport"] == width and check["wide"] == []
        assert (tmp_path / f"page-{width}.png").stat().st_size > 10_000


_SORT_AND_FILTER = """(function () {
  var table = document.querySelector('#correlations table');
  var col = Array.from(table.tHead.rows[0].cells).findIndex(function (h) { return h.title === 'kendall'; });
  var proxy = Array.from(table.tHead.rows[0].cells).findIndex(function (h) { return h.title === 'proxy'; });
  function column(i) { return Array.from(table.tBodies[0].rows).map(function (r) { return r.cells[i].getAttribute('data-v') || r.cells[i].textContent; }); }
  var before = column(col);
  table.tHead.rows[0].cells[col].click();
  var down = column(col), sortState = table.tHead.rows[0].cells[col].getAttribute('aria-sort');
  table.tHead.rows[0].cells[col].click();
  var up = column(col);
  table.tHead.rows[0].cells[proxy].click();
  var names = column(proxy);
  var input = document.querySelector('#correlations .filter input');
  input.value = 'imagenet intrain';
  input.dispatchEvent(new Event('input'));
  var shown = Array.from(table.tBodies[0].rows).filter(function (r) { return !r.hidden; })
    .map(function (r) { return r.cells[proxy].textContent + ' ' + r.cells[1].textContent; });
  var links = Array.from(document.querySelectorAll('#contents a')).map(function (a) {
    return !!document.getElementById(a.getAttribute('href').slice(1)); });
  return {before: before, down: down, state: sortState, up: up, names: names, shown: shown,
          count: document.querySelector('#correlations .filter span').textContent, links: links};
})()"""


def test_tables_sort_and_filter_in_the_browser(report_dir):
    browser_or_skip()
    r = run_script(report_dir / "index.html", _SORT_AND_FILTER, width=800)
    num = [float(v) for v in r["before"]]
    assert r["state"] == "descending" and [float(v) for v in r["down"]] == sorted(num, reverse=True)
    assert [float(v) for v in r["up"]] == sorted(num)
    assert r["names"] == sorted(r["names"])
    assert r["shown"] == ["intrain ImageNet16-120"] and r["count"].startswith("1 of ")
    assert r["links"] and all(r["links"])


_CRAFTED = {
    "wide": (
        '<div id="wide" style="width:3000px;height:20px;background:red">wide</div>',
        r"at 1280 px: horizontal overflow: the page is 30\d\d px wide in a 1280 px viewport.*div#wide \(3000 px",
    ),
    "clipped": (
        '<div id="clipped" style="position:relative;left:-50px;width:200px;height:20px">clipped</div>',
        r"at 1280 px: horizontal overflow: .*div#clipped \(200 px, right edge at 1\d\d px",
    ),
    "image": ('<img src="missing.png" alt="gone">', r"at 1280 px: 1 broken images: missing\.png"),
    "table": (
        '<section><h2>Seeds</h2><table id="t"><thead><tr><th>a</th></tr></thead><tbody></tbody></table></section>',
        r'at 1280 px: 1 empty tables \(no body rows\): table#t under "Seeds"',
    ),
}


@pytest.mark.parametrize("case", sorted(_CRAFTED))
def test_render_check_fails_on_a_broken_page(case, tmp_path):
    browser_or_skip()
    body, message = _CRAFTED[case]
    page = tmp_path / "index.html"
    page.write_text(
        f"<!doctype html><html><body><p>ok</p>{body}<table><tbody><tr><td>1</td></tr></tbody></table></body></html>"
    )
    verdict = render_check(page)
    assert verdict["status"] == "failed" and len(verdict["problems"]) == 2  # at both widths
    assert re.search(message, verdict["problems"][0]), verdict["problems"]
    assert verdict["problems"][1].startswith("at 800 px: ")
    if case == "wide":  # the command line names the problem and exits non-zero
        assert main(["render-check", str(page)]) == 2


def test_render_check_accepts_a_wide_table_in_a_scroll_wrapper(tmp_path):
    browser_or_skip()
    page = tmp_path / "index.html"
    page.write_text(
        "<!doctype html><html><head><style>.scroll{overflow-x:auto}</style></head><body>"
        '<div class="scroll"><table style="width:3000px"><tbody><tr><td>1</td></tr></tbody></table></div>'
        "</body></html>"
    )
    assert render_check(page, widths=(800,))["status"] == "ok"
    drawer = tmp_path / "drawer.html"  # a docs theme's menu parked left of the page at narrow widths
    drawer.write_text(
        '<!doctype html><html><body><nav style="position:fixed;top:0;left:-260px;width:242px">menu</nav>'
        "<p>text</p><table><tbody><tr><td>1</td></tr></tbody></table></body></html>"
    )
    assert render_check(drawer, widths=(800,))["status"] == "ok"
    with pytest.raises(RenderError, match="no such file"):
        render_check(tmp_path / "absent.html")


def test_correlation_table_is_the_same_with_worker_processes(tmp_path):
    """The bootstrap spread over processes gives the same table, row order and CIs included."""
    scores = _ground_truth_and_scores(tmp_path, list(np.random.default_rng(3).uniform(40, 90, 40)), seed=1)
    one = correlation_table(scores, str(tmp_path / "gt.csv"), n_boot=50)
    two = correlation_table(scores, str(tmp_path / "gt.csv"), n_boot=50, workers=2)
    assert len(one) >= 4 and one.loc[one.proxy == "intrain", "kendall_lo"].notna().all()
    pd.testing.assert_frame_equal(one, two)


def _fake_search_log(path):
    from intrain.core.search_log import SearchLog

    path.parent.mkdir(parents=True, exist_ok=True)
    log = SearchLog(path, {"seed": 0}, [])
    log.append([{"iteration": i, "arch": "a", "score": float(i), "new": 1} for i in range(5)])
    return path


def test_search_summary_writes_logs_the_report_finds(tmp_path, monkeypatch):
    """The workflow's layout: logs under search/zennas/b<budget>/, the table at search/zennas.csv; the
    table names each log relative to its own folder, and the report draws the curves from it."""
    import json

    from intrain.analysis.report import search_curves
    from intrain.core.sinks import read_csv

    monkeypatch.chdir(tmp_path)
    best = []
    for b in (1, 2):
        log = _fake_search_log(tmp_path / "results" / "search" / "zennas" / f"b{b}" / "log.h5")
        p = log.parent / "best.json"
        rel = os.path.relpath(log, tmp_path)  # as the workflow passes it: relative to the working folder
        p.write_text(json.dumps({"space": "zennas", "budget": b * 1e6, "best_arch": "a", "log": rel}))
        best.append(str(p))
    table_path = tmp_path / "results" / "search" / "zennas.csv"
    assert main(["search-summary", *best, "--out", str(table_path)]) in (0, None)
    table = read_csv(table_path)
    assert table["log"].tolist() == ["zennas/b1/log.h5", "zennas/b2/log.h5"]
    assert search_curves(table, tmp_path / "s.png", table_path).stat().st_size > 1000


def test_search_summary_refuses_what_evolve_never_writes(tmp_path, caplog):
    """best.json files are shared: read with bounds, a missing best_arch refused in words (finding 9)."""
    for name, text in (("no_arch", '{"space": "zennas"}'), ("deep", "[" * 1000 + "]" * 1000)):
        p = tmp_path / f"{name}.json"
        p.write_text(text)
        caplog.clear()
        assert main(["search-summary", str(p), "--out", str(tmp_path / "t.csv")]) == 2
        assert f"{name}.json" in caplog.text and "Traceback" not in caplog.text


def test_study_logs_outside_the_table_folder_or_not_files_are_refused(tmp_path):
    """A received table must not make the report open another file (a private log, a FIFO, /dev/zero)."""
    from intrain.analysis.report import search_log_path
    from intrain.core.errors import InputError

    table = tmp_path / "t" / "zennas.csv"
    table.parent.mkdir()
    _fake_search_log(tmp_path / "t" / "b1" / "log.h5")
    secret = _fake_search_log(tmp_path / "private.h5")
    os.mkfifo(tmp_path / "t" / "fifo")
    os.symlink(secret, tmp_path / "t" / "link.h5")
    os.symlink("/dev/zero", tmp_path / "t" / "zero.h5")
    assert search_log_path("b1/log.h5", table) == tmp_path / "t" / "b1" / "log.h5"
    for value, message in (
        (str(secret), "relative to its own folder"),
        ("../private.h5", "relative to its own folder"),
        ("/dev/zero", "relative to its own folder"),
        ("link.h5", "leads out of"),
        ("zero.h5", "leads out of"),
        ("fifo", "not a regular file"),
        ("missing.h5", "cannot be read"),
        (5.0, "not the path of a search log"),
    ):
        with pytest.raises(InputError, match=message) as e:
            search_log_path(value, table)
        assert str(table) in str(e.value) and "delete" not in str(e.value)


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        ("correlations", lambda t: t.drop(columns=["proxy"]), "column 'proxy' is missing"),
        ("correlations", lambda t: t.assign(space=7), "column 'space' holds '7', where text is expected"),
        ("ablation", lambda t: t.drop(columns=["variant"]), "column 'variant' is missing"),
        ("batch_size", lambda t: t.assign(batch_size="x"), "column 'batch_size' holds 'x', where a number"),
        ("search_zennas", lambda t: t.assign(budget="lots"), "column 'budget' holds 'lots', where a number"),
    ],
)
def test_report_refuses_tables_without_the_columns_it_reads(report_dir, tmp_path, key, change, message):
    """Named file and column instead of a KeyError or a seaborn ValueError (finding 9)."""
    d = report_dir.parent
    scores = [str(d / "cifar10.h5"), str(d / "ImageNet16-120.h5")]
    corr = d / "corr.csv"
    studies_in = {}
    if key == "search_zennas":
        table = pd.DataFrame({"space": ["zennas"], "budget": [1e6], "log": ["b1/log.h5"]})
    elif key != "correlations":
        table = pd.read_csv(d / f"{key}_in.csv")
    else:
        table = pd.read_csv(corr)
    bad = tmp_path / f"{key}.csv"
    change(table).to_csv(bad, index=False)
    if key == "correlations":
        corr = bad
    else:
        studies_in[key] = str(bad)
    with pytest.raises(InputError, match=message) as e:
        build_report(str(corr), scores, str(d / "gt.csv"), str(tmp_path / "out" / "index.html"), studies=studies_in)
    assert str(bad) in str(e.value)
    assert not (tmp_path / "out" / "index.html").exists()


def test_heatmap_compares_in_spearman_where_a_paper_gives_only_rho():
    corr = _corr([("nb201", "cifar10", "meco", 1000, 0.753, 0.734, 0.771, np.nan)])
    corr["spearman"], corr["paper_spearman"] = 0.918, 0.89
    table = headline_html(corr)
    cell = re.sub(r"<[^>]+>", " ", re.findall(r"<td[^>]*>(.*?)</td>", table)[0]).split()
    assert cell == ["0.753", "paper", "ρ", "0.89", "ours", "ρ", "0.918"]
    assert "paper ρ 0.890 (Spearman; no published τ), ours ρ 0.918" in html.unescape(table)
    corr["paper_spearman"] = np.nan  # nothing published in either coefficient: the bare τ
    cell = re.sub(r"<[^>]+>", " ", re.findall(r"<td[^>]*>(.*?)</td>", headline_html(corr))[0]).split()
    assert cell == ["0.753"]


def test_heatmap_caption_names_the_accuracy_the_run_correlated_with():
    corr = _corr([("nb201", "cifar10", "intrain", 100, 0.6, 0.5, 0.7, 0.669)])
    assert "Kendall τ against test accuracy" in headline_html(corr)
    corr["metric"] = "valid"
    assert "Kendall τ against validation accuracy" in headline_html(corr)


def test_smoke_settings_are_marked_with_the_numbers_that_make_them_one():
    from intrain.analysis.report import SMOKE, smoke_note

    small = pd.DataFrame({"n": [20, 20], "batch_size": [8, 64]})
    note = smoke_note("batch_size", small, None)
    assert note.startswith("Smoke setting: τ over 20 architectures") and "15,625" in note
    assert smoke_note("batch_size", small.assign(n=SMOKE.min_study_architectures), None) is None
    search = pd.DataFrame({"space": ["zennas"] * 3, "budget": [4.5e8, 6e8, 1e9], "best_arch": ["s"] * 3})
    note = smoke_note("search_zennas", search, {"search": {"iterations": 4}})
    assert "4 iterations per search" in note and "100,000" in note and "All 3 searches returned the same" in note
    assert smoke_note("search_zennas", search, {"search": {"iterations": 100_000}}) is None
    assert smoke_note("topk", small, None) is None


def test_report_marks_the_smoke_batch_study_and_has_a_cost_table_and_components_note(report_dir):
    page = (report_dir / "index.html").read_text()
    study = page[page.index('id="study-batch_size"') : page.index('id="study-seeds"')]
    assert 'class="smoke"' in study and "τ over 6 architectures" in study
    assert 'id="cost"' in page and "Median seconds per architecture each proxy took" in page
    cost_part = page[page.index('id="cost"') : page.index('id="scatter"')]
    assert "nb201/cifar10 seconds" in html.unescape(cost_part) and "shared probe" in cost_part
    cost = pd.read_csv(report_dir / "cost.csv")
    assert set(cost["proxy"]) == {"intrain"} and (cost["seconds_median"] > 0).all()
    assert "A component is a value a proxy stores beside its score" in page
    # every image is a captioned figure
    assert page.count("<img ") == page.count("<figcaption>") > 0


def test_tables_put_key_columns_first_and_long_tables_keep_their_header():
    table = pd.DataFrame(
        {"log": ["b450000000/log.h5"] * 20, "best_arch": ["x" * 60] * 20, "acc": [93.1] * 20, "flops": [4.5e8] * 20}
    )
    cell = html_table(table)
    heads = re.findall(r'<th scope="col" title="([^"]+)"', cell)
    assert heads == ["acc", "flops", "log", "best_arch"]
    assert cell.startswith('<div class="scroll tall">')  # 20 rows: its own scroll box, sticky header
    assert html_table(table.head(3)).startswith('<div class="scroll">')


def test_scatter_index_links_resolve_and_the_footer_points_at_the_references(report_dir):
    page = (report_dir / "index.html").read_text()
    scatter = page[page.index('id="scatter"') : page.index("</section>", page.index('id="scatter"'))]
    links = re.findall(r'href="#(scatter-[^"]+)"', scatter)
    assert links == ["scatter-intrain"] and 'id="scatter-intrain"' in scatter
    from intrain.analysis.report.page import REFERENCES

    foot = page[page.index("<footer") : page.index("</footer>")]
    if not REFERENCES.is_file():  # an installed package without the sources: the name, no link
        assert "docs/references.md of the intrain sources" in foot
        return
    href = re.search(r'href="([^"]+)"', foot).group(1)
    assert href == "references.md"  # a copy beside the page: the link survives moving the folder
    assert (report_dir / href).read_text() == REFERENCES.read_text()


def test_heatmap_names_the_source_of_every_published_value_shown():
    corr = _corr(
        [
            ("nb201", "cifar10", "intrain", 100, 0.70, 0.6, 0.78, 0.669),
            ("nb201", "cifar10", "flops", 100, 0.68, 0.6, 0.75, 0.623),
            ("nb201", "cifar10", "params", 100, 0.68, 0.6, 0.75, np.nan),  # nothing published: not listed
        ]
    )
    note = headline_html(corr).split('id="paper-sources">', 1)[1].split("</p>", 1)[0]
    assert "InTrain (CVPR 2026), NB201 table: intrain (nb201)" in note
    assert "VKDNW (CVPR 2025), NB201 table: flops (nb201)" in note
    assert "params" not in note


def test_table_rows_too_small_to_judge_are_marked_wherever_n_is_shown():
    table = pd.DataFrame({"space": ["nb101", "nb201"], "n": [4, 100], "kendall": [0.333, 0.702]})
    page = html_table(table)
    rows = re.findall(r"<tr([^>]*)><td", page)
    assert rows[0].startswith(' class="few"') and rows[1] == ""
    assert "Grey italic rows: n &lt; 20" in page
    assert "few" not in html_table(table.iloc[[1]])  # nothing to mark, no note


def test_ablation_verdict_names_a_variant_that_beats_the_shipped_score_everywhere():
    from intrain.analysis.report.sections import ablation_verdict

    rows = []
    for dataset in ("cifar10", "cifar100"):
        rows += [
            ("nb201", dataset, "gamma / log(L + 1)", 100, 0.05, 0.02, 0.08),  # above on both
            ("nb201", dataset, "o only", 100, -0.07, -0.1, -0.04),  # below on both
        ]
    rows.append(("nb101", "cifar10", "gamma / log(L + 1)", 4, 0.3, 0.1, 0.5))  # too few: not judged
    t = pd.DataFrame(
        rows, columns=["space", "dataset", "variant", "n", "minus_shipped", "minus_shipped_lo", "minus_shipped_hi"]
    )
    text = ablation_verdict(t)
    assert text.startswith("In this run gamma / log(L + 1) beats the shipped score on every judged benchmark")
    assert "nb101" not in text and "Below it: o only on nb201/cifar10 (-0.070)" in text
    assert ablation_verdict(t[t["variant"] == "o only"]).startswith("What it decides")  # no lead sentence


# ----------------------------------------------------------------------------- what batching costs (issue 30)


@pytest.fixture(scope="module")
def regret_report(report_dir, tmp_path_factory):
    """A report with the search-regret table (3 seeds: a smoke setting) beside the fixture's inputs."""
    from intrain.search.regret import paired_table, regret_runs

    from .test_search_regret import _space

    d = tmp_path_factory.mktemp("regret_report")
    space = _space(lambda acc: acc + np.random.default_rng(4).normal(0, 6, len(acc)))
    runs = regret_runs(space, [1, 4, 16, 64], seeds=3, ts=[10, 50, 200])
    paired_table(runs, space.ceiling(), n_boot=200).to_csv(d / "regret_in.csv", index=False)
    src = report_dir.parent
    build_report(
        str(src / "corr.csv"),
        [str(src / "cifar10.h5"), str(src / "ImageNet16-120.h5")],
        str(src / "gt.csv"),
        str(d / "out" / "index.html"),
        studies={"search_regret": str(d / "regret_in.csv")},
    )
    return d / "out"


def test_regret_section_appears_with_its_table_and_not_without(report_dir, regret_report):
    assert "what batching costs" not in (report_dir / "index.html").read_text()
    assert not (report_dir / "search_regret.png").exists()
    page = (regret_report / "index.html").read_text()
    section = page[page.index('id="study-search_regret"') :]
    section = section[: section.index("</section>")]
    assert "Search: what batching costs" in section and 'href="#study-search_regret"' in page
    assert "search_regret.png" in section and "Smoke setting" in section and "3 seeds per b" in section
    head = section[section.index("<thead>") : section.index("</thead>")]
    for col in ("mean_regret", "diff_vs_b1", "random_regret", "ceiling_regret", "mean_distinct_scored"):
        assert f'title="{col}"' in head
    assert 'title="vs_random_lo"' in head and 'title="random_lo"' not in head  # bands: in the CSV, not the page
    table = pd.read_csv(regret_report / "search_regret.csv")
    assert len(table) == 12 and {"random_lo", "random_hi"} <= set(table.columns)


def test_regret_figure_draws_every_b_and_both_references_legibly(regret_report):
    from intrain.analysis.render import MIN_TEXT_PX, figure_problems
    from intrain.analysis.report import read_text_record

    png = regret_report / "search_regret.png"
    record = read_text_record(png)
    texts = {t["text"] for t in record["texts"]}
    assert {"b = 1", "b = 4", "b = 16", "b = 64"} <= texts
    assert "random search (b = 1's evaluations)" in texts and "proxy ceiling (best score in space)" in texts
    assert record["width"] <= 760
    for width, shown in ((1280, record["width"]), (800, min(record["width"], 740))):
        problems, measured = figure_problems(
            width, [{"src": png.resolve().as_uri(), "shown": shown, "natural": record["width"], "caption": "c"}]
        )
        assert problems == [] and measured[0]["smallest_text_px"] >= MIN_TEXT_PX


def test_regret_report_renders_at_1280_and_800_px(regret_report):
    browser_or_skip()
    verdict = render_check(regret_report / "index.html")
    assert verdict["status"] == "ok", verdict["problems"]
    assert verdict["broken"] == 0 and verdict["empty"] == 0


def test_report_refuses_a_regret_table_without_the_columns_it_draws(regret_report, report_dir, tmp_path):
    bad = tmp_path / "regret.csv"
    pd.read_csv(regret_report / "search_regret.csv").drop(columns=["regret_hi"]).to_csv(bad, index=False)
    src = report_dir.parent
    with pytest.raises(InputError, match="column 'regret_hi' is missing") as e:
        build_report(
            str(src / "corr.csv"),
            [str(src / "cifar10.h5")],
            str(src / "gt.csv"),
            str(tmp_path / "out" / "index.html"),
            studies={"search_regret": str(bad)},
        )
    assert str(bad) in str(e.value)
