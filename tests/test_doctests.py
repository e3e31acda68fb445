"""Every ``>>>`` example in the package's docstrings runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

import intrain

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "plugin" / "src"
MODULES = sorted(m.name for m in pkgutil.walk_packages(intrain.__path__, "intrain.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", ["intrain", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


@pytest.mark.parametrize("name", ["intrain_example.proxies", "intrain_example.space"])
def test_example_plugin_docstrings(name, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_PLUGIN))
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    sys.modules.pop(name, None)
