"""Zero-cost proxies by name: the built-in families, installed plugins and ``module:Class`` paths.

This module imports no torch: the workflow validates proxy names while parsing the Snakefile, and
listing them should cost nothing. A proxy's family module (and torch) is imported the first
time the proxy is looked up with [`get_proxy`][intrain.proxies.get_proxy].

Names a user may give wherever a proxy is asked for (``scoring.proxies``, ``--proxies``,
``intrain.score(model, proxies=...)``):

- a built-in name (`BUILTIN`; ``intrain``, ``synflow``, ``naswot``, ...);
- a name that an installed package registers under the entry-point group ``intrain.proxies``
  (``myproxy = mypackage.proxies:MyProxy`` in its ``pyproject.toml``);
- ``module.path:ClassName``, any importable [`Proxy`][intrain.proxies.base.Proxy] subclass.

Examples:
    >>> "synflow" in list_proxies()
    True
    >>> check_proxy_names(["intrain", "naswoot"])
    Traceback (most recent call last):
    ...
    intrain.core.errors.InputError: unknown proxy 'naswoot'; did you mean 'naswot'? available: az_nas, flops, grad_norm, grad_norm_layers, gradalign_i, gradalign_ii, grasp, intrain, jacov, lga, meco, meco_opt, naswot, params, snip, swap, synflow, tenas, vkdnw, zen, zico (or a plugin as 'module.path:ClassName')
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING

from intrain.core.errors import InputError

if TYPE_CHECKING:
    from intrain.proxies.base import Proxy

__all__ = [
    "BUILTIN",
    "ENTRY_POINT_GROUP",
    "check_proxy_names",
    "get_proxy",
    "list_proxies",
    "load_all",
    "proxy_class",
]

#: Built-in proxy name -> the module of its family (imported on first use).
BUILTIN: dict[str, str] = {
    "intrain": "intrain",
    "params": "cost",
    "flops": "cost",
    "grad_norm": "gradient",
    "grad_norm_layers": "gradient",
    "snip": "gradient",
    "grasp": "gradient",
    "synflow": "synflow",
    "naswot": "activation",
    "jacov": "activation",
    "zen": "zen",
    "zico": "zico",
    "tenas": "kernel",
    "gradalign_i": "kernel",
    "gradalign_ii": "kernel",
    "lga": "kernel",
    "az_nas": "az_nas",
    "vkdnw": "vkdnw",
    "meco": "meco",
    "meco_opt": "meco",
    "swap": "swap",
}
#: Built-in proxies that read only the InTrain probe's own statistics (no collector, no pass).
#: Torch-free planning metadata: the workflow groups datasets into one shared forward with it while
#: the DAG is built (`needs_only_probe`); tests/test_proxies.py checks it against each class.
PROBE_ONLY: frozenset[str] = frozenset({"intrain", "params"})
ENTRY_POINT_GROUP = "intrain.proxies"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, str]:
    """Installed plugins' proxies: name -> 'module:Class' (read from package metadata, not imported)."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def list_proxies() -> list[str]:
    """Built-in and installed proxy names, sorted (``module:Class`` plugins are open-ended)."""
    return sorted(set(BUILTIN) | set(_entry_points()))


def _import_class(path: str, what: str) -> type:
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise InputError(f"{what} {path!r}: expected 'module.path:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:
        raise InputError(f"{what} {path!r}: module {module_name!r} failed to import ({type(e).__name__}: {e})") from e
    try:
        obj: object = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise InputError(f"{what} {path!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not isinstance(obj, type):
        raise InputError(f"{what} {path!r}: {attr!r} is not a class (got {type(obj).__name__})")
    return obj


def proxy_class(name: str) -> type[Proxy]:
    """The `Proxy` subclass a name refers to (importing its module, and torch, on first use)."""
    from intrain.proxies.base import REGISTRY, Proxy, register

    if name in BUILTIN:
        importlib.import_module(f"{__name__}.{BUILTIN[name]}")
        return REGISTRY[name]
    if name in REGISTRY:  # a plugin class already imported (and registered) in this process
        return REGISTRY[name]
    path = _entry_points().get(name, name if ":" in name else None)
    if path is None:
        close = difflib.get_close_matches(name.lower(), list_proxies(), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"unknown proxy {name!r}; {hint}available: {', '.join(list_proxies())} "
            "(or a plugin as 'module.path:ClassName')"
        )
    what = f"proxy plugin (entry point {name!r})" if name in _entry_points() else "proxy plugin"
    cls = _import_class(path, what)
    if not (isinstance(cls, type) and issubclass(cls, Proxy)):
        raise InputError(f"{what} {path!r} is not a subclass of intrain.proxies.base.Proxy (got {cls!r})")
    if getattr(cls, "name", None) in BUILTIN:
        raise InputError(f"{what} {path!r}: its name {cls.name!r} is a built-in proxy's; choose another")
    try:
        return register(cls)
    except ValueError as e:
        raise InputError(f"{what} {path!r}: {e}") from None


def get_proxy(name: str) -> Proxy:
    """An instance of the proxy ``name`` (built-in, entry point or ``module:Class``)."""
    return proxy_class(name)()


def check_proxy_names(names: Iterable[str]) -> None:
    """Raise [`InputError`][intrain.core.errors.InputError] naming the first proxy that cannot be used (plugins are imported)."""
    for name in names:
        if name not in BUILTIN:  # built-in names need no import to be known good
            proxy_class(name)


def needs_only_probe(names: Iterable[str]) -> bool:
    """True when every proxy reads only the probe's statistics (built-ins without importing torch).

    Examples:
        >>> needs_only_probe(["intrain", "params"]), needs_only_probe(["intrain", "synflow"])
        (True, False)
    """
    for name in names:
        if name in BUILTIN:
            if name not in PROBE_ONLY:
                return False
        elif proxy_class(name)().active_needs:  # a plugin: its class says (its module may import torch)
            return False
    return True


def load_all() -> dict[str, type[Proxy]]:
    """Import every built-in family and installed plugin; the registry of proxy classes by name."""
    from intrain.proxies.base import REGISTRY

    for name in list_proxies():
        proxy_class(name)
    return dict(REGISTRY)
