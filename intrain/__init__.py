"""intrain: a reproducible benchmark harness for zero-cost NAS proxies.

The public surface is listed in ``__all__`` and loaded lazily: ``import intrain`` imports neither
torch nor h5py, so the workflow and the analysis commands do not pay for them.

Examples:
    >>> import intrain
    >>> "intrain" in intrain.list_proxies()
    True
"""

from __future__ import annotations

import importlib
from typing import Any

from intrain.core.version import __version__

#: public name -> module that defines it
_EXPORTS = {
    "score": "scoring.api",
    "Result": "scoring.api",
    "rank_population": "scoring.api",
    "list_proxies": "proxies",
    "get_proxy": "proxies",
    "Proxy": "proxies.base",
    "register_pass": "proxies.base",
    "register_collector": "proxies.base",
    "Collector": "proxies.base",
    "PassContext": "proxies.base",
    "get_space": "spaces",
    "list_spaces": "spaces",
    "read_scores": "core.artifacts",
    "read_layers": "core.artifacts",
    "read_params": "core.artifacts",
    "correlation_table": "analysis.correlate",
    "Flag": "core.flags",
    "IntrainError": "core.errors",
    "InputError": "core.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'intrain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
