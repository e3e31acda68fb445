"""Workflow config checks that answer in words: which key, what is wrong, how to fix it.

The workflow (``workflow/rules/common.smk``) calls `check_config` before snakemake's own
schema validation (which then only fills in defaults). Two layers:

1. the JSON schema (``intrain/data/config.schema.yaml``), each violation rewritten as
   ``config key spaces.nb201.sample: must be ...`` instead of a schema dump;
2. every explicit architecture (``spaces.<space>.archs``) parsed by its space's own parser, so a
   malformed NB201 string says which edge and which operation is wrong and lists the allowed ones.

Overlay files are read with `load_overlay` (YAML safe loader; a mapping or nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from intrain.core.errors import InputError

__all__ = [
    "MAX_OVERLAY_BYTES",
    "MAX_OVERLAY_DEPTH",
    "SCHEMA_PATH",
    "ConfigError",
    "check_archs",
    "check_config",
    "check_configfiles",
    "check_proxy_names",
    "load_overlay",
    "merge_overlay",
]

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "config.schema.yaml"


class ConfigError(InputError):
    """A workflow config value that the schema or a space's parser refuses; names the key."""


def _key(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _words(err) -> str:
    """One jsonschema error as a sentence (no regular expressions, no schema dumps)."""
    v, sch, inst = err.validator, err.schema if isinstance(err.schema, dict) else {}, err.instance
    desc = sch.get("description")
    hint = f" ({desc.strip()})" if isinstance(desc, str) and desc.strip() else ""
    if v == "additionalProperties" and isinstance(inst, dict):
        known = sorted(sch.get("properties", {}))
        extra = sorted(str(k) for k in inst if k not in sch.get("properties", {}))
        return f"unknown key(s) {extra}; allowed keys here: {known}"
    if v == "enum":
        return f"{_short(inst)} is not allowed; use one of {sch.get('enum')}"
    if v == "const":
        return f"{_short(inst)} is not allowed; use {sch.get('const')!r}"
    if v == "type":
        want = sch.get("type")
        want = " or ".join(want) if isinstance(want, list) else want
        return f"must be of type {want}, got {_short(inst)}"
    if v == "pattern":
        return f"{_short(inst)} is not in the expected form{hint or ''}"
    if v in ("oneOf", "anyOf"):
        return f"{_short(inst)} is not allowed{hint or ''}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[v]
        return f"must be {bound} {sch.get(v)}, got {_short(inst)}"
    if v == "minItems":
        return f"needs at least {sch.get('minItems')} item(s), got {_short(inst)}"
    if v == "uniqueItems":
        return f"lists an item twice: {_short(inst)}"
    if v == "minProperties":
        return f"needs at least {sch.get('minProperties')} entr(y/ies)"
    if v == "required":
        return err.message
    return f"{err.message[:200]}{hint}"


def _schema(path: str | Path | None) -> dict:
    return yaml.safe_load(Path(path or SCHEMA_PATH).read_text())


def check_schema(config: Any, schema_path: str | Path | None = None) -> None:
    """Validate against the JSON schema; the first (most relevant) violation as `ConfigError`."""
    import jsonschema

    schema = _schema(schema_path)
    cls = jsonschema.validators.validator_for(schema)
    try:
        errors = list(cls(schema).iter_errors(config))
    except (RecursionError, TypeError, ValueError) as e:  # values YAML can express but JSON cannot
        raise ConfigError(f"config cannot be checked: {type(e).__name__}: {e}") from None
    if not errors:
        return
    err = jsonschema.exceptions.best_match(errors)
    while err.context:  # oneOf/anyOf: the branch that came closest says more
        err = jsonschema.exceptions.best_match(err.context)
    raise ConfigError(f"config key {_key(err.absolute_path)}: {_words(err)}")


def _parser(space: str) -> Callable[[str], Any] | None:
    """The space's own ``normalize`` (built-in spaces need no torch for it); None for a space the
    registry does not know yet (a plugin named later in the config), which the workflow reports."""
    from intrain.spaces import SpaceError, get_space

    try:
        return get_space(space).normalize
    except SpaceError:
        return None


FIXES = {
    "nb201": "write it as |op~0|+|op~0|op~1|+|op~0|op~1|op~2| (docs/implementation.md)",
    "nb101": "write it as ROW-ROW-...|op,op,... (docs/implementation.md)",
}


def check_archs(config: dict) -> None:
    """Parse every ``spaces.<space>.archs`` entry with its space's parser; refuse the first bad one."""
    spaces = config.get("spaces") if isinstance(config, dict) else None
    if not isinstance(spaces, dict):
        return
    listed = {
        name: spec["archs"]
        for name, spec in spaces.items()
        if isinstance(spec, dict) and isinstance(spec.get("archs"), list)
    }
    if not listed:
        return
    for name, archs in listed.items():
        parse = _parser(name)
        if parse is None:
            continue
        for k, arch in enumerate(archs):
            try:
                parse(arch)
            except InputError as e:
                fix = FIXES.get(name, "copy the record's `net` from the benchmark file")
                raise ConfigError(f"config key spaces.{name}.archs[{k}]: {e}. Fix: {fix}") from None


def check_keys(config: Any, path: tuple[str, ...] = ()) -> None:
    """Every mapping key is text (YAML reads ``201:`` as a number, which no config key is).

    Examples:
        >>> check_keys({"spaces": {201: {}}})
        Traceback (most recent call last):
        ...
        intrain.planning.configcheck.ConfigError: config key spaces: the key 201 is not text (int); config keys are text: quote it ('201')
    """
    if isinstance(config, dict):
        for k, v in config.items():
            if not isinstance(k, str):
                raise ConfigError(
                    f"config key {'.'.join(path) or '(top level)'}: the key {_short(k)} is not text "
                    f"({type(k).__name__}); config keys are text: quote it ('{_short(k)}')"
                )
            check_keys(v, (*path, k))
    elif isinstance(config, list):
        for i, v in enumerate(config):
            check_keys(v, (*path, str(i)))


def check_config(config: dict, schema_path: str | Path | None = None) -> None:
    """Keys, schema, then architectures; raises `ConfigError` naming the key and the fix."""
    check_keys(config)
    check_schema(config, schema_path)
    check_archs(config)
    check_proxy_names(config)


def check_proxy_names(config: dict) -> None:
    """Every proxy named in ``scoring.proxies`` and ``baselines.sets.*.proxies`` (other than a
    ``module:Class`` path, whose class is checked when it registers) is a valid, unreserved name
    (`intrain.core.names.check_proxy_name`)."""
    from intrain.core.names import check_proxy_name

    lists = []
    scoring = config.get("scoring") if isinstance(config, dict) else None
    if isinstance(scoring, dict):
        lists.append(("scoring.proxies", scoring.get("proxies")))
    baselines = config.get("baselines") if isinstance(config, dict) else None
    sets = baselines.get("sets") if isinstance(baselines, dict) else None
    for name, spec in sets.items() if isinstance(sets, dict) else []:
        if isinstance(spec, dict):
            lists.append((f"baselines.sets.{name}.proxies", spec.get("proxies")))
    for key, names in lists:
        for k, proxy in enumerate(names if isinstance(names, list) else []):
            if isinstance(proxy, str) and ":" in proxy:
                continue
            try:
                check_proxy_name(proxy, f"config key {key}[{k}]")
            except InputError as e:
                raise ConfigError(str(e)) from None


#: Bytes of one config/overlay file read.
MAX_OVERLAY_BYTES = 1 << 20
#: Nesting of mappings/sequences in a config file (intrain's schema nests 4 deep).
MAX_OVERLAY_DEPTH = 32


class _BoundedLoader(yaml.SafeLoader):
    """The YAML safe loader without aliases (``*name``; a billion-laughs file is a few lines of
    aliases) and with nesting bounded; tags beyond YAML's standard ones are refused as before."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ConfigError(
                f"line {mark.line + 1}: YAML aliases (*name) are not read in config files; write the value out"
            )
        self._depth += 1
        try:
            if self._depth > MAX_OVERLAY_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"line {mark.line + 1}: nested more than {MAX_OVERLAY_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_overlay(text: str | bytes | Path, source: str = "config") -> dict:
    """A config file's mapping (an empty file is ``{}``), read with the YAML safe loader, no aliases,
    at most `MAX_OVERLAY_BYTES` bytes and `MAX_OVERLAY_DEPTH` levels.

    Examples:
        >>> load_overlay("seed: 1\\nspaces: {nb201: {sample: 10}}")
        {'seed': 1, 'spaces': {'nb201': {'sample': 10}}}
        >>> load_overlay("a: &x [1]\\nb: *x", "over.yaml")
        Traceback (most recent call last):
        ...
        intrain.planning.configcheck.ConfigError: over.yaml: line 2: YAML aliases (*name) are not read in config files; write the value out
    """
    if isinstance(text, Path):
        source = str(text) if source == "config" else source
        try:
            if text.stat().st_size > MAX_OVERLAY_BYTES:
                raise ConfigError(
                    f"{source}: {text.stat().st_size:,} bytes, more than the {MAX_OVERLAY_BYTES:,} "
                    "read from a config file"
                )
            text = text.read_bytes()
        except OSError as e:
            raise ConfigError(f"{source}: cannot be read ({e.strerror or e})") from None
    if len(text) > MAX_OVERLAY_BYTES:
        raise ConfigError(f"{source}: {len(text):,} bytes, more than the {MAX_OVERLAY_BYTES:,} read from a config file")
    try:
        loader = _BoundedLoader(text)  # a SafeLoader subclass: only YAML's standard tags are built
        try:
            raw = loader.get_single_data()
        finally:
            loader.dispose()
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML ({str(e)[:300]})") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ConfigError(f"{source}: not readable text ({type(e).__name__}: {str(e)[:200]})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a config file is a mapping of keys to values, got {type(raw).__name__}")
    _refuse_templates(raw, source)
    return raw


#: Snakemake evaluates a config file as a YTE template (Python expressions in ``?``-keys and
#: ``?``-values) when its top level holds this key; intrain's configs never need it.
YTE_MARKER = "__use_yte__"


def _refuse_templates(raw: Any, source: str, path: tuple[str, ...] = ()) -> None:
    """Refuse YTE template syntax: a config from someone else must be data, never Python.

    Examples:
        >>> _refuse_templates({"results": "?__import__('os')"}, "over.yaml")
        Traceback (most recent call last):
        ...
        intrain.planning.configcheck.ConfigError: over.yaml: config key 'results': a value starting with '?' is a YTE template expression (Python that Snakemake evaluates); intrain's configs hold data only
    """
    if isinstance(raw, dict):
        for k, v in raw.items():
            where = ".".join((*path, str(k)))
            if k == YTE_MARKER:
                raise ConfigError(
                    f"{source}: `{YTE_MARKER}` turns the file into a YTE template (Python that "
                    "Snakemake evaluates); intrain's configs hold data only: remove it"
                )
            if isinstance(k, str) and k.startswith("?"):
                raise ConfigError(
                    f"{source}: config key {_short(where)}: a key starting with '?' is a YTE "
                    "template expression (Python that Snakemake evaluates); intrain's configs hold "
                    "data only"
                )
            _refuse_templates(v, source, (*path, str(k)))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            _refuse_templates(v, source, (*path, str(i)))
    elif isinstance(raw, str) and raw.startswith("?"):
        raise ConfigError(
            f"{source}: config key {_short('.'.join(path))}: a value starting with '?' is a YTE "
            "template expression (Python that Snakemake evaluates); intrain's configs hold data only"
        )


def check_configfiles(paths) -> None:
    """Read every ``--configfile`` with `load_overlay` before snakemake's merged config is
    walked (snakemake's own loader keeps aliases; the checks would then expand them)."""
    for path in paths or []:
        load_overlay(Path(path), str(path))


def merge_overlay(base: dict, overlay: dict) -> dict:
    """``overlay`` on ``base`` as snakemake merges ``--configfile``s (nested mappings key by key)."""
    out = copy.deepcopy(base)
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_overlay(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out
