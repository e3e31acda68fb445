"""Search spaces: a registry of [`Space`][intrain.spaces.base.Space] objects, built-in and plugged in.

A space is registered under the name the config uses (``nb201``, ``nb101``, ``nds_darts``, ...);
the workflow, scorer and artifact code only talk to the [`Space`][intrain.spaces.base.Space] protocol, never to a
concrete space. Spaces come from three places, looked up in this order:

1. the built-in ones (``nb201``, ``nb101``, seven ``nds_*``, ``zennas``), each in its own folder;
2. [`register_space`][intrain.spaces.register_space] (the workflow registers ``spaces.<name>.plugin: module:Class`` through
   the ``INTRAIN_SPACE_PLUGINS`` environment variable, ``name=module:Class`` joined by ``;``, so
   every CLI job of the run sees the same spaces);
3. the entry-point group ``intrain.spaces`` of installed packages.

Modules are imported only when their space is asked for, and no space module imports torch at
module level, so ``get_space("nb201").normalize(...)`` works without torch (``build`` loads it).

Examples:
    >>> from intrain.spaces import get_space, list_spaces
    >>> "nb201" in list_spaces() and "nds_darts" in list_spaces()
    True
    >>> get_space("nb201").canonical("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    '0'
"""

from __future__ import annotations

import importlib
import os
from functools import lru_cache
from importlib import metadata

from intrain.spaces.base import DatasetSpec, Description, GroundTruthError, Space, SpaceError, check_space

__all__ = [
    "DatasetSpec",
    "Description",
    "GroundTruthError",
    "Space",
    "SpaceError",
    "get_space",
    "list_spaces",
    "load_plugin",
    "register_space",
]

ENTRY_POINT_GROUP = "intrain.spaces"
PLUGIN_ENV = "INTRAIN_SPACE_PLUGINS"

_registered: dict[str, str] = {}  # name -> "module:Class" from register_space
_loaded: dict[tuple[str, str], Space] = {}  # (name, origin) -> instance


@lru_cache(maxsize=1)
def _builtin() -> dict[str, str]:
    """Built-in name -> ``module:Class``; one NDS class serves the seven design spaces."""
    from intrain.spaces.nds.encoding import DESIGN_SPACES

    return {
        "nb201": "intrain.spaces.nb201:NB201Space",
        "nb101": "intrain.spaces.nb101:NB101Space",
        **{name: "intrain.spaces.nds:NDSSpace" for name in DESIGN_SPACES},
        "zennas": "intrain.spaces.zennas:ZenNASSpace",
        "zoo": "intrain.spaces.zoo:ZooSpace",
    }


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _from_env() -> dict[str, str]:
    pairs = {}
    for item in filter(None, (s.strip() for s in os.environ.get(PLUGIN_ENV, "").split(";"))):
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise SpaceError(f"{PLUGIN_ENV}: {item!r} is not NAME=module:Class")
        pairs[name.strip()] = target.strip()
    return pairs


def load_plugin(target: str) -> Space:
    """The space a ``module.path:ClassName`` string names (a [`Space`][intrain.spaces.base.Space] subclass or instance).

    A module that fails to import, a missing attribute or an object that is not a space is a
    [`SpaceError`][intrain.spaces.base.SpaceError] (an [`InputError`][intrain.core.errors.InputError]) naming the module and the reason.

    Examples:
        >>> load_plugin("intrain.spaces.nb101:NB101Space").benchmark
        'nb101_2500'
        >>> load_plugin("json:dumps")
        Traceback (most recent call last):
        ...
        intrain.spaces.base.SpaceError: space plugin 'json:dumps' is not a space: expected a subclass of intrain.spaces.Space, got function
    """
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SpaceError(f"space plugin {target!r} must look like 'module.path:ClassName'")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # the plugin's own import error, whatever its type
        raise SpaceError(
            f"space plugin {target!r}: cannot import module {module_name!r} ({type(e).__name__}: {e})"
        ) from e
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SpaceError(f"space plugin {target!r}: module {module_name!r} has no attribute {attr!r}") from None
    return check_space(obj, f"space plugin {target!r}")


def register_space(name: str, target: str) -> None:
    """Make ``get_space(name)`` load the space ``target`` (``module:Class``) names, checked now.

    ``register_space("nb201_again", "intrain.spaces.nb201:NB201Space")`` makes
    ``get_space("nb201_again")`` an NB201 space named ``nb201_again``.
    """
    load_plugin(target)
    _registered[name] = target


def _tables() -> tuple[dict, ...]:
    """Name -> source tables in lookup order (built-ins win; entry points are scanned last)."""
    return _builtin(), _registered, _from_env(), _entry_points()


def list_spaces() -> list[str]:
    """Every space name [`get_space`][intrain.spaces.get_space] accepts (built-in, registered, entry points), sorted."""
    return sorted(set().union(*_tables()))


def get_space(name: str) -> Space:
    """The space registered as ``name``, or the one a ``module:Class`` string names.

    An unknown name is a [`SpaceError`][intrain.spaces.base.SpaceError] that lists the available spaces.
    """
    if ":" in name:
        return _instance(name, name)
    for table in (_builtin, lambda: _registered, _from_env, _entry_points):
        source = table().get(name)
        if source is not None:
            return _instance(name, source)
    raise SpaceError(f"unknown search space {name!r}; available: {', '.join(list_spaces())}")


def _instance(name: str, source: str | metadata.EntryPoint) -> Space:
    origin = source if isinstance(source, str) else source.value
    key = (name, origin)
    if key not in _loaded:
        space = load_plugin(origin)
        if ":" not in name and space.name != name:
            # one class may serve several registered names (NDS does): the instance's name shadows the class's
            space.name = name  # type: ignore[misc]
        _loaded[key] = space
    return _loaded[key]
