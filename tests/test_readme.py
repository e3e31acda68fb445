"""The README's Python snippet runs as written and prints the scores and per-layer statistics."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import REPO


def test_readme_python_snippet_runs():
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has no Python snippet"
    out = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "'intrain':" in out.stdout and "'synflow':" in out.stdout and "'naswot':" in out.stdout
    assert "Conv2d" in out.stdout and "Linear" in out.stdout and "pr" in out.stdout
    assert len(text.splitlines()) < 150
