"""Names that become columns, and the columns the analysis keeps for itself: one list, checked at
every door (config, plugin registration, ``intrain import``).

A proxy's name becomes a column of every score table (``read_scores``, correlations, exports).
An imported proxy called ``flags`` or ``acc_cifar10`` would silently replace the column the
analysis itself uses (a wrong tau, no warning), a name with ``.`` reads as a component, and a
name with markup or ``$`` reaches HTML and plot text. So a proxy name is ASCII letters, digits
and ``_``, starting with a letter, at most `MAX_PROXY_NAME` characters
(`PROXY_NAME_PATTERN`), and neither one of `RESERVED_COLUMNS` nor starting with one of
`RESERVED_PREFIXES`.

Examples:
    >>> check_proxy_name("naswot")
    'naswot'
    >>> check_proxy_name("acc_cifar10", "peer.json: record 3: field 'acc_cifar10'")
    Traceback (most recent call last):
    ...
    intrain.core.errors.InputError: peer.json: record 3: field 'acc_cifar10': proxy name 'acc_cifar10' is reserved: columns starting with 'acc_' hold what the analysis itself uses; rename the proxy
"""

from __future__ import annotations

import re

from intrain.core.bounded import short_repr
from intrain.core.errors import InputError

__all__ = [
    "MAX_ARCH_ID",
    "MAX_PROXY_NAME",
    "PROXY_NAME_PATTERN",
    "RESERVED_COLUMNS",
    "RESERVED_PREFIXES",
    "check_arch_id",
    "check_component_name",
    "check_proxy_name",
    "check_real",
    "is_reserved",
]

#: Longest proxy name.
MAX_PROXY_NAME = 64
#: A proxy name: an ASCII letter, then letters, digits or ``_`` (no ``.``: that marks components).
PROXY_NAME_PATTERN = re.compile(rf"[A-Za-z][A-Za-z0-9_]{{0,{MAX_PROXY_NAME - 1}}}")
#: Columns that sit beside proxy columns and are not proxies: score tables (``read_scores``),
#: ground truths and selections (``canonical``), CSV/Parquet exports (``naslib`` ... ``time``).
RESERVED_COLUMNS: frozenset[str] = frozenset(
    {
        "arch_index",
        "arch",
        "canonical",
        "representative",
        "representative_arch",
        "flags",
        "seconds",
        "pass_seconds",
        "loss",
        "members",
        "space",
        "dataset",
        "naslib",
        "hash",
        "val_accuracy",
        "time",
    }
)
#: Column prefixes reserved the same way: ground-truth accuracies (``acc_``, ``valid_``, ...),
#: stored costs (``cost_``), per-proxy export times (``time_``), peer values (``peer_``).
RESERVED_PREFIXES: tuple[str, ...] = ("acc_", "valid_", "test_", "train_", "cost_", "time_", "peer_")


def is_reserved(name: str) -> bool:
    """True when ``name`` is a column the analysis uses itself."""
    return name in RESERVED_COLUMNS or name.startswith(RESERVED_PREFIXES)


def check_proxy_name(name: object, where: str = "proxy name") -> str:
    """``name`` when it is a valid, unreserved proxy name; else [`InputError`][intrain.core.errors.InputError] naming ``where``."""
    if not isinstance(name, str):
        raise InputError(f"{where}: a proxy name must be text, got {type(name).__name__}")
    if len(name) > MAX_PROXY_NAME:
        raise InputError(
            f"{where}: proxy name {short_repr(name)} has {len(name)} characters, more than "
            f"{MAX_PROXY_NAME}; rename the proxy"
        )
    if not PROXY_NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"{where}: proxy name {short_repr(name)} must be an ASCII letter followed by letters, "
            "digits or '_'; rename the proxy"
        )
    if name in RESERVED_COLUMNS:
        raise InputError(
            f"{where}: proxy name {name!r} is reserved: a column of that name holds what the "
            "analysis itself uses; rename the proxy"
        )
    if name.startswith(RESERVED_PREFIXES):
        prefix = next(p for p in RESERVED_PREFIXES if name.startswith(p))
        raise InputError(
            f"{where}: proxy name {name!r} is reserved: columns starting with {prefix!r} hold what "
            "the analysis itself uses; rename the proxy"
        )
    return name


def check_component_name(name: object, where: str = "component name") -> str:
    """A proxy component's name (column ``<proxy>.<component>``): the proxy-name pattern, never reserved."""
    if not isinstance(name, str) or not PROXY_NAME_PATTERN.fullmatch(name):
        raise InputError(
            f"{where}: component name {short_repr(name)} must be an ASCII letter followed by at most "
            f"{MAX_PROXY_NAME - 1} letters, digits or '_'"
        )
    return name


#: Largest architecture id read from a file (NB101 has 423,624; every benchmark fits in int32).
MAX_ARCH_ID = 2**31 - 1


def check_arch_id(value: object, where: str = "id") -> int:
    """An architecture id from a file: an integer in ``0..MAX_ARCH_ID`` (never a float, NaN, bool).

    Examples:
        >>> check_arch_id(2631)
        2631
        >>> check_arch_id(float("nan"), "zc.json: cifar10 / (0, 1) / id")
        Traceback (most recent call last):
        ...
        intrain.core.errors.InputError: zc.json: cifar10 / (0, 1) / id: expected an integer architecture id in 0..2147483647, got nan
    """
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) <= MAX_ARCH_ID:
        raise InputError(f"{where}: expected an integer architecture id in 0..{MAX_ARCH_ID}, got {short_repr(value)}")
    return int(value)


def check_real(value: object, where: str = "value") -> float:
    """A score or time from a file as float64: a real number (NaN and infinities pass, to be flagged
    downstream as today); booleans, text and numbers beyond float64's range are refused."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{where}: expected a number, got {short_repr(value)}")
    try:
        return float(value)
    except (OverflowError, ValueError):
        raise InputError(f"{where}: the number {short_repr(value)} is beyond the float64 range") from None
