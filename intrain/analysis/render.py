"""Render an HTML page in headless Chromium and check its layout at several widths.

:func:`render_check` opens the page once per width (1280 and 800 px by default) over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: NUL-separated JSON on file descriptors
3 and 4, so nothing but the standard library is needed), injects a script that looks for

* horizontal overflow: the document wider than the viewport, or any element wider than the
  viewport (or sticking out of it) that is not inside a horizontally scrollable wrapper;
* broken images (``naturalWidth`` 0 once the page has loaded);
* empty tables (a ``<table>`` without a body row),

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
import subprocess
import tempfile
import time
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
  return {viewport: vw, scroll_width: document.documentElement.scrollWidth,
          wide: wide.slice(0, 5), n_wide: wide.length, images: document.images.length, broken: broken,
          tables: document.querySelectorAll('table').length, empty: empty};
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
        self.profile = tempfile.TemporaryDirectory(prefix="intrain-chromium-")
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


def screenshot_path(screenshot: str | Path, width: int) -> Path:
    """``page.png`` -> ``page-1280.png``."""
    p = Path(screenshot)
    return p.with_name(f"{p.stem}-{width}{p.suffix or '.png'}")


def render_check(
    html_path: str | Path, screenshot: str | Path | None = None, widths: Sequence[int] = WIDTHS, timeout: float = 90
) -> dict[str, Any]:
    """Load the page headless at each width and check it.

    Returns ``{'status': 'ok'|'failed', 'problems': [...], 'images', 'broken', 'tables', 'empty',
    'widths': {width: raw check}, 'screenshots': [...]}``; ``screenshot`` ``page.png`` saves
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
    first = checks[widths[0]]
    return {
        "status": "failed" if problems else "ok",
        "problems": problems,
        "images": first["images"],
        "broken": max(len(c["broken"]) for c in checks.values()),
        "tables": first["tables"],
        "empty": max(len(c["empty"]) for c in checks.values()),
        "widths": checks,
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
