"""The figure-legibility check of ``intrain render-check``: the smallest text of every image at its
displayed size, overlapping and cut-off texts (from the text record save_figure stores in the PNG),
and a caption for every figure; it fails on deliberately bad figures and passes on good ones."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from intrain.analysis.render import MIN_TEXT_PX, figure_problems, png_text_chunks, render_check
from intrain.analysis.report.figures import read_text_record, save_figure, styled

from .helpers import browser_or_skip


@styled
def _good(out):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([1, 2, 3], [3, 1, 2], label="a line")
    ax.set_xlabel("x label")
    ax.set_title("a title")
    ax.legend()
    return save_figure(fig, out)


def _tiny(out):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([1, 2, 3])
    ax.tick_params(labelsize=5)  # 5 pt at 100 dpi: 6.9 px
    return save_figure(fig, out)


def _overlapping(out):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.text(0.5, 0.5, "first label", fontsize=12)
    ax.text(0.52, 0.5, "second label", fontsize=12)
    return save_figure(fig, out)


def _too_wide(out):  # 10 pt text, but 20 inches wide: scaled down to fit the page, ~5 px at 800
    fig, ax = plt.subplots(figsize=(20, 3))
    ax.plot([1, 2, 3])
    return save_figure(fig, out)


def _page(tmp_path, images, caption=True):
    figs = "".join(
        f"<figure><img src='{i.name}' alt='x'><figcaption>{'what it shows' if caption else ''}</figcaption></figure>"
        for i in images
    )
    page = tmp_path / "index.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
        "<style>body{max-width:80rem;margin:0 auto;padding:1rem}img{max-width:100%;height:auto}</style>"
        f"</head><body>{figs}</body></html>"
    )
    return page


def test_save_figure_stores_every_drawn_text_with_its_size_and_box(tmp_path):
    png = _good(tmp_path / "good.png")
    record = read_text_record(png)
    assert record is not None and record["dpi"] == 100 and record["width"] == 600 and record["height"] == 300
    texts = {t["text"]: t for t in record["texts"]}
    assert {"x label", "a title", "a line"} <= set(texts)
    assert texts["a title"]["size_pt"] == 10 and min(t["size_pt"] for t in record["texts"]) == 9
    x0, y0, x1, y1 = texts["a title"]["bbox"]
    assert 0 <= x0 < x1 <= 600 and 0 <= y0 < y1 < 60  # top of the image, measured from the top
    assert "intrain:texts" in png_text_chunks(png)


def test_figure_problems_measure_text_at_the_displayed_width(tmp_path):
    """No browser needed: the arithmetic on a stored record (font pt × dpi / 72 × shown / natural)."""
    png = _good(tmp_path / "good.png")
    url = png.resolve().as_uri()
    ok, measured = figure_problems(800, [{"src": url, "shown": 600, "natural": 600, "caption": "c"}])
    assert ok == [] and measured[0]["smallest_text_px"] == pytest.approx(9 * 100 / 72, abs=0.05)
    # the same image squeezed to 400 px: 9 pt -> 8.3 px
    small, _ = figure_problems(800, [{"src": url, "shown": 400, "natural": 600, "caption": "c"}])
    assert len(small) == 1 and f"under {MIN_TEXT_PX:g} px" in small[0] and "good.png" in small[0]
    uncaptioned, _ = figure_problems(1280, [{"src": url, "shown": 600, "natural": 600, "caption": ""}])
    assert uncaptioned == ["at 1280 px: image good.png has no caption (a <figure> with a <figcaption>)"]


def test_figure_problems_find_overlapping_and_cut_off_texts(tmp_path):
    url = _overlapping(tmp_path / "o.png").resolve().as_uri()
    problems, measured = figure_problems(1280, [{"src": url, "shown": 600, "natural": 600, "caption": "c"}])
    assert measured[0]["overlaps"] == 1
    assert any("overlapping texts, e.g. 'first label' and 'second label'" in p for p in problems)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.text(0.9, 0.5, "runs off the right edge of the image", transform=fig.transFigure)
    url = save_figure(fig, tmp_path / "cut.png").resolve().as_uri()
    problems, _ = figure_problems(1280, [{"src": url, "shown": 400, "natural": 400, "caption": "c"}])
    assert any("cut off at its edge" in p for p in problems)


def test_an_image_without_a_text_record_cannot_pass(tmp_path):
    fig, _ = plt.subplots(figsize=(4, 3))
    fig.savefig(tmp_path / "plain.png", dpi=100)
    plt.close(fig)
    url = (tmp_path / "plain.png").resolve().as_uri()
    problems, _ = figure_problems(1280, [{"src": url, "shown": 400, "natural": 400, "caption": "c"}])
    assert len(problems) == 1 and "plain.png holds no text record" in problems[0]
    # a docs site's screenshots and logos: skipped on request (listed as unchecked), caption still required
    skipped, measured = figure_problems(
        1280, [{"src": url, "shown": 400, "natural": 400, "caption": ""}], unrecorded="skip"
    )
    assert measured[0]["unchecked"] and skipped == [
        "at 1280 px: image plain.png has no caption (a <figure> with a <figcaption>)"
    ]


@pytest.mark.parametrize(
    ("draw", "message"),
    [
        (_tiny, "px on screen (5 pt at 100 dpi"),
        (_overlapping, "overlapping texts"),
        (_too_wide, "under 10 px"),
    ],
)
def test_render_check_fails_on_a_deliberately_bad_figure(tmp_path, draw, message):
    browser_or_skip()
    page = _page(tmp_path, [_good(tmp_path / "good.png"), draw(tmp_path / "bad.png")])
    verdict = render_check(page)
    assert verdict["status"] == "failed"
    assert all("bad.png" in p for p in verdict["problems"]), verdict["problems"]
    assert any(message in p for p in verdict["problems"]), verdict["problems"]


def test_render_check_wants_a_caption_for_every_figure_and_passes_good_ones(tmp_path):
    browser_or_skip()
    good = _good(tmp_path / "good.png")
    verdict = render_check(_page(tmp_path, [good]))
    assert verdict["status"] == "ok", verdict["problems"]
    assert [f["smallest_text_px"] for f in verdict["figures"][800]] == [pytest.approx(12.5, abs=0.05)]
    verdict = render_check(_page(tmp_path, [good], caption=False))
    assert verdict["status"] == "failed" and "has no caption" in verdict["problems"][0]
