"""Per-architecture condition bits stored with the scores (``/arch/flags``); no torch needed to read them."""

from __future__ import annotations

import enum

__all__ = ["Flag"]


class Flag(enum.IntFlag):
    """Per-architecture condition bits stored with the scores (``/arch/flags``).

    >>> Flag(3)
    <Flag.NONFINITE|COLLAPSED_LAYER: 3>
    """

    NONFINITE = 1  # a non-finite loss, activation statistic or gradient: score is NaN
    COLLAPSED_LAYER = 2  # some counted layer's activations were identically zero
    ZERO_GRAD = 4  # some counted parameter's gradient was identically zero
