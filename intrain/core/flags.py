"""Per-architecture condition bits stored with the scores (``/arch/flags``), without torch.

The probe sets them; analysis (correlation tables, reports) counts them from artifacts.

Examples:
    >>> Flag.NONFINITE | Flag.ZERO_GRAD
    <Flag.NONFINITE|ZERO_GRAD: 5>
    >>> bool(5 & Flag.COLLAPSED_LAYER)
    False
"""

from __future__ import annotations

import enum

__all__ = ["Flag"]


class Flag(enum.IntFlag):
    """Per-architecture condition bits stored with the scores (``/arch/flags``)."""

    NONFINITE = 1  # a non-finite loss, activation statistic or gradient: score is NaN
    COLLAPSED_LAYER = 2  # some counted layer's activations were identically zero
    ZERO_GRAD = 4  # some counted parameter's gradient was identically zero
    OUT_OF_MEMORY = 8  # the device ran out of memory scoring it: scores are NaN (set with NONFINITE)
    #: some proxy is undefined on this network (it lacks the structure the proxy reads, e.g. NASWOT on
    #: a network without a nonlinearity module): that proxy's score is NaN, its reason is stored
    #: with it (``Result.reasons``, docs/layers.md); the other proxies' scores are unaffected
    UNDEFINED = 16
    #: a proxy's finite value covers only part of the network: it holds weight-bearing module types the
    #: proxy does not read (e.g. Conv3d, LSTM); ``Result.coverage`` names them (``intrain.score`` only)
    PARTIAL = 32
