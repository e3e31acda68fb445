"""Render an HTML page in headless Chromium and check its layout at several widths.

`render_check` opens the page once per width (1280 and 800 px by default) over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: NUL-separated JSON on file descriptors
3 and 4, so nothing but the standard library is needed), injects a script that looks for

* horizontal overflow: the document wider than the viewport, or any element wider than the
  viewport (or sticking out of it) that is not inside a horizontally scrollable wrapper;
* broken images (``naturalWidth`` 0 once the page has loaded);
* empty tables (a ``<table>`` without a body row),
* illegible figures: for every image, the smallest text at its displayed size (font size × dpi /
  72 × displayed width / natural width) must be at least `MIN_TEXT_PX`; no two texts may
  overlap, none may be cut off at the image's edge; and every image needs a caption (a
  ``<figure>`` with a non-empty ``<figcaption>``). The text sizes and boxes come from the record
  `intrain.analysis.report.figures.save_figure` stores in each PNG (a ``tEXt`` chunk
  ``intrain:texts``); an image without one cannot be checked and is a problem too,

and optionally saves a full-page screenshot per width. The verdict names each problem.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from intrain.core.errors import IntrainError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
]
WIDTHS = (1280, 800)
HEIGHT = 900
MIN_TEXT_PX = 10.0  #: the smallest legible text on screen, in CSS pixels
TEXT_KEY = "intrain:texts"  #: the PNG text chunk a report figure's text record is stored in
_OVERLAP_PX = 1.0  #: two text boxes overlapping by more than this in both directions collide

#: The injected check; evaluates to a JSON-able object.
CHECK_JS = r"""(function () {
  var vw = document.documentElement.clientWidth;
  function describe(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim())
      s += '.' + el.className.trim().split(/\s+/).join('.');
    return s;
  }
  function scrolls(el) {
    for (var a = el.parentElement; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
      var o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  }
  var wide = [];
  Array.from(document.body ? document.body.querySelectorAll('*') : []).forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;
    // wholly left of the page: an off-canvas drawer (a docs theme's menu at narrow widths), which a
    // reader opens with its button and can never scroll to; a box only partly left of it is clipped
    if (r.right <= 0) return;
    if ((r.right > vw + 1 || r.left < -1) && !scrolls(el)) {
      wide.push({el: describe(el), width: Math.round(r.width), left: Math.round(r.left), right: Math.round(r.right)});
    }
  });
  // report the outermost offenders only: a wide child makes its parents wide too
  wide.sort(function (a, b) { return b.width - a.width; });
  var broken = Array.from(document.images).filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
    .map(function (i) { return i.getAttribute('src') || describe(i); });
  var empty = Array.from(document.querySelectorAll('table')).filter(function (t) {
    return t.querySelectorAll('tbody tr').length === 0;
  }).map(function (t) {
    var h = t.closest('section');
    h = h && h.querySelector('h2,h3');
    return describe(t) + (h ? ' under "' + h.textContent.trim() + '"' : '');
  });
  var figures = Array.from(document.images).map(function (i) {
    var f = i.closest('figure'), c = f && f.querySelector('figcaption');
    return {src: i.currentSrc || i.src, shown: i.getBoundingClientRect().width, natural: i.naturalWidth,
            caption: c ? c.textContent.trim() : ''};
  });
  return {viewport: vw, scroll_width: document.documentElement.scrollWidth,
          wide: wide.slice(0, 5), n_wide: wide.length, images: document.images.length, broken: broken,
          tables: document.querySelectorAll('table').length, empty: empty, figures: figures};
})()"""


class RenderError(IntrainError, RuntimeError):
    """No browser, a browser that fails, or a page with layout problems; the message says which."""


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class _Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (flat sessions)."""

    def __init__(self, timeout: float):
        browser = find_browser()
        if browser is None:
            raise RenderError("no Chromium found (install Debian's 'chromium' package)")
        self.deadline = time.monotonic() + timeout
        # Chromium's helper processes may still be writing the profile when it exits: a cleanup that
        # races them must not turn a finished check into a traceback (seen: ENOTEMPTY on 'Default')
        self.profile = tempfile.TemporaryDirectory(prefix="intrain-chromium-", ignore_cleanup_errors=True)
        to_child, self._write = os.pipe()  # the browser reads commands on fd 3
        self._read, from_child = os.pipe()  # and writes answers and events on fd 4

        def wire() -> None:  # in the child: the pipe ends onto fds 3 and 4 (via high numbers, so they never collide)
            a, b = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the browser's stderr; close() closes it)
        # close_fds=False: the fds set up by wire() must survive exec (Python's own are close-on-exec)
        self.proc = subprocess.Popen(
            [browser, *_FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=wire,
            close_fds=False,
        )
        os.close(to_child)
        os.close(from_child)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        for fd in (self._write, self._read):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        self.profile.cleanup()

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise RenderError("Chromium did not answer in time")
            ready, _, _ = select.select([self._read], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                self._stderr.seek(0)
                err = self._stderr.read().decode(errors="replace").strip()
                raise RenderError(f"Chromium closed the DevTools pipe (exit {self.proc.poll()}): {err[-500:]}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._write, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RenderError(f"{method}: {reply['error'].get('message')}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method and ev.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            ev = self._message()
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
            self.events.append(ev)

    def open(self, url: str, width: int, height: int = HEIGHT) -> str:
        """A new tab of the given viewport, loaded with ``url``; returns its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = str(self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"])
        self.send("Page.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session)
        self.wait_event("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session
        )
        if "exceptionDetails" in result:
            raise RenderError(
                f"script failed: {result['exceptionDetails'].get('text')} "
                f"{result['exceptionDetails'].get('exception', {}).get('description', '')}"
            )
        return result["result"].get("value")

    def screenshot(self, session: str, out: Path, width: int) -> None:
        """The whole page, viewport width wide."""
        height = self.evaluate(session, "document.documentElement.scrollHeight")
        height = int(min(max(height, HEIGHT), 16000))
        data = self.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
            session,
        )["data"]
        out.write_bytes(base64.b64decode(data))


def problems_of(width: int, check: dict[str, Any]) -> list[str]:
    """Readable problems of one width's check result (empty when the page is fine)."""
    out = []
    if check["scroll_width"] > check["viewport"] or check["wide"]:
        widest = (
            f"; widest: {check['wide'][0]['el']} ({check['wide'][0]['width']} px, "
            f"right edge at {check['wide'][0]['right']} px)"
            if check["wide"]
            else ""
        )
        out.append(
            f"at {width} px: horizontal overflow: the page is {check['scroll_width']} px wide in a "
            f"{check['viewport']} px viewport, {check['n_wide']} elements wider than the page outside a "
            f"scroll wrapper{widest}"
        )
    if check["broken"]:
        out.append(f"at {width} px: {len(check['broken'])} broken images: {', '.join(check['broken'][:5])}")
    if check["empty"]:
        out.append(f"at {width} px: {len(check['empty'])} empty tables (no body rows): {', '.join(check['empty'][:5])}")
    return out


def png_text_chunks(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``tEXt``/``zTXt``/``iTXt`` chunks of a PNG as ``{keyword: text}`` ({} for another file)."""
    out: dict[str, str] = {}
    try:
        data = Path(path).read_bytes()
    except OSError:
        return out
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return out
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"tEXt" and b"\0" in body:
            key, _, text = body.partition(b"\0")
            out[key.decode("latin-1")] = text.decode("latin-1")
        elif kind == b"zTXt" and b"\0" in body:
            key, _, rest = body.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt" and b"\0" in body:
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")  # language tag
            _, _, text = rest.partition(b"\0")  # translated keyword
            out[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
        elif kind == b"IEND":
            break
    return out


def _overlaps(texts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than `_OVERLAP_PX` in both directions."""
    out = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["bbox"], b["bbox"]
            if min(ax1, bx1) - max(ax0, bx0) > _OVERLAP_PX and min(ay1, by1) - max(ay0, by0) > _OVERLAP_PX:
                out.append((a["text"], b["text"]))
    return out


def figure_problems(
    width: int, figures: list[dict[str, Any]], min_px: float = MIN_TEXT_PX, unrecorded: str = "fail"
) -> tuple[list[str], list[dict[str, Any]]]:
    """Problems of the page's images at one viewport width, and per image what was measured:
    its smallest text on screen, overlapping texts, texts cut off, its caption. An image without a
    text record is a problem (``unrecorded="fail"``) or only listed as unchecked (``"skip"``)."""
    problems: list[str] = []
    measured: list[dict[str, Any]] = []
    for fig in figures:
        if not fig["natural"]:
            continue  # a broken image: reported as one, nothing to measure
        url = urllib.parse.urlparse(fig["src"])
        name = Path(urllib.request.url2pathname(url.path)).name if url.scheme == "file" else fig["src"]
        record = None
        if url.scheme == "file":
            raw = png_text_chunks(urllib.request.url2pathname(url.path)).get(TEXT_KEY)
            record = json.loads(raw) if raw else None
        entry: dict[str, Any] = {"image": name, "caption": bool(fig["caption"])}
        if not fig["caption"]:
            problems.append(f"at {width} px: image {name} has no caption (a <figure> with a <figcaption>)")
        if record is None:
            entry["unchecked"] = True
            if unrecorded == "skip":
                measured.append(entry)
                continue
            problems.append(
                f"at {width} px: image {name} holds no text record ({TEXT_KEY}); its legibility cannot be "
                "checked (save it with intrain.analysis.report.figures.save_figure)"
            )
            measured.append(entry)
            continue
        natural = fig["natural"]
        scale = fig["shown"] / natural if natural else 0.0
        texts = record["texts"]
        if texts:
            small = min(texts, key=lambda t: t["size_pt"])
            px = small["size_pt"] * record["dpi"] / 72 * scale
            entry["smallest_text_px"] = round(px, 1)
            if px < min_px:
                problems.append(
                    f"at {width} px: image {name}: text {small['text']!r} is {px:.1f} px on screen "
                    f"({small['size_pt']:g} pt at {record['dpi']:g} dpi, shown at {fig['shown']:.0f} of "
                    f"{natural} px), under {min_px:g} px"
                )
        clashes = _overlaps(texts)
        entry["overlaps"] = len(clashes)
        if clashes:
            a, b = clashes[0]
            problems.append(f"at {width} px: image {name}: {len(clashes)} overlapping texts, e.g. {a!r} and {b!r}")
        cut = [
            t["text"]
            for t in texts
            if t["bbox"][0] < -1
            or t["bbox"][1] < -1
            or t["bbox"][2] > record["width"] + 1
            or t["bbox"][3] > record["height"] + 1
        ]
        entry["cut_off"] = len(cut)
        if cut:
            problems.append(f"at {width} px: image {name}: {len(cut)} texts cut off at its edge, e.g. {cut[0]!r}")
        measured.append(entry)
    return problems, measured


def screenshot_path(screenshot: str | Path, width: int) -> Path:
    """``page.png`` -> ``page-1280.png``."""
    p = Path(screenshot)
    return p.with_name(f"{p.stem}-{width}{p.suffix or '.png'}")


def render_check(
    html_path: str | Path,
    screenshot: str | Path | None = None,
    widths: Sequence[int] = WIDTHS,
    timeout: float = 90,
    unrecorded: str = "fail",
) -> dict[str, Any]:
    """Load the page headless at each width and check it.

    Returns ``{'status': 'ok'|'failed', 'problems': [...], 'images', 'broken', 'tables', 'empty',
    'widths': {width: raw check}, 'figures': {width: per image measurements}, 'screenshots': [...]}``; ``screenshot`` ``page.png`` saves
    ``page-1280.png`` and ``page-800.png``.
    """
    path = Path(html_path)
    if not path.is_file():
        raise RenderError(f"{path}: no such file")
    url = path.resolve().as_uri()
    browser = _Browser(timeout)
    checks: dict[int, dict[str, Any]] = {}
    shots: list[str] = []
    try:
        browser.send("Target.setDiscoverTargets", {"discover": False})
        for width in widths:
            session = browser.open(url, width)
            checks[width] = browser.evaluate(session, CHECK_JS)
            if screenshot is not None:
                shot = screenshot_path(screenshot, width)
                shot.parent.mkdir(parents=True, exist_ok=True)
                browser.screenshot(session, shot, width)
                shots.append(str(shot))
    finally:
        browser.close()
    problems = [p for w in widths for p in problems_of(w, checks[w])]
    legibility: dict[int, list[dict[str, Any]]] = {}
    for w in widths:
        found, legibility[w] = figure_problems(w, checks[w].get("figures", []), unrecorded=unrecorded)
        problems += found
    first = checks[widths[0]]
    return {
        "status": "failed" if problems else "ok",
        "problems": problems,
        "images": first["images"],
        "broken": max(len(c["broken"]) for c in checks.values()),
        "tables": first["tables"],
        "empty": max(len(c["empty"]) for c in checks.values()),
        "widths": checks,
        "figures": legibility,
        "screenshots": shots,
    }


def run_script(html_path: str | Path, expression: str, width: int = WIDTHS[0], timeout: float = 60) -> Any:
    """Evaluate ``expression`` in the loaded page (for tests of the page's own scripts)."""
    browser = _Browser(timeout)
    try:
        session = browser.open(Path(html_path).resolve().as_uri(), width)
        return browser.evaluate(session, expression)
    finally:
        browser.close()
