"""Render the report in headless Chromium and read back its self-check.

The report page counts figures that failed to load and tables without rows once the page has
loaded (see :mod:`intrain.report`); this runs Debian's ``chromium`` on the file, dumps the DOM
after scripts ran, and returns that verdict.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--virtual-time-budget=10000"]


class RenderError(RuntimeError):
    pass


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def render_check(html_path: str | Path, screenshot: str | Path | None = None, timeout: float = 120) -> dict:
    """Load the page headless; return {'status', 'images', 'broken', 'tables', 'empty'}."""
    browser = find_browser()
    if browser is None:
        raise RenderError("no Chromium found (install Debian's 'chromium' package)")
    url = Path(html_path).resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, *_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if screenshot is not None:
            subprocess.run([browser, *_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,2400",
                            f"--screenshot={Path(screenshot).resolve()}", url],
                           capture_output=True, text=True, timeout=timeout)
    m = re.search(r'data-render-check="render-check: (\w+) images=(\d+) broken=(\d+) tables=(\d+) empty=(\d+)"',
                  proc.stdout)
    if not m:
        raise RenderError(f"the page's render check did not run (chromium exit {proc.returncode}): "
                          f"{proc.stderr.strip()[-500:]}")
    status, images, broken, tables, empty = m.groups()
    return {"status": status, "images": int(images), "broken": int(broken), "tables": int(tables), "empty": int(empty)}
