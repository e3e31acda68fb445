"""The environment every job of a run inherits, computed from the config (no side effects here).

Rules call the ``intrain`` command of the Python that runs Snakemake, so a virtual environment
works without being activated; plugin spaces (``spaces.<name>.plugin``) reach every CLI job
through [`intrain.spaces.PLUGIN_ENV`][intrain.spaces.PLUGIN_ENV]. ``workflow/rules/common.smk`` applies the result to
``os.environ`` (cluster jobs re-parse the Snakefile and compute it again).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from intrain.spaces import PLUGIN_ENV

__all__ = ["job_environment", "space_plugins"]


def space_plugins(config: Mapping[str, Any]) -> dict[str, str]:
    """``name -> module:Class`` of every space the config loads from a plugin (enabled or not,
    as before: a disabled plugin space is still registered but never scored).

    Examples:
        >>> space_plugins({"spaces": {"nb201": {}, "toy": {"plugin": "pkg.mod:Toy"}}})
        {'toy': 'pkg.mod:Toy'}
    """
    return {name: spec["plugin"] for name, spec in config["spaces"].items() if spec.get("plugin")}


def job_environment(config: Mapping[str, Any], environ: Mapping[str, str], executable: str) -> dict[str, str]:
    """The variables to set: ``PATH`` led by ``executable``'s folder and, when the config names
    plugin spaces, `PLUGIN_ENV` with them appended to what ``environ`` already holds.

    Examples:
        >>> env = job_environment({"spaces": {"toy": {"plugin": "m:T"}}}, {"PATH": "/bin"}, "/venv/bin/python")
        >>> env["PATH"].split(os.pathsep), env["INTRAIN_SPACE_PLUGINS"]
        (['/venv/bin', '/bin'], 'toy=m:T')
    """
    out = {"PATH": os.pathsep.join([os.path.dirname(executable), environ.get("PATH", "")])}
    plugins = space_plugins(config)
    if plugins:
        inherited = environ.get(PLUGIN_ENV, "")
        out[PLUGIN_ENV] = ";".join([inherited, *(f"{n}={t}" for n, t in sorted(plugins.items()))]).strip(";")
    return out
