"""The project's own error types: every refusal of user input is an [`IntrainError`][intrain.core.errors.IntrainError].

Callers (the CLI, the workflow, fuzz tests) can catch one base class and show its message; any
other exception type escaping a loader or parser is a bug. Subclasses also derive from the
built-in type that older code raised (``ValueError``, ``RuntimeError``) so ``except`` clauses
written against those keep working.
"""

from __future__ import annotations

__all__ = ["InputError", "IntrainError", "UnsafeInputError"]


class IntrainError(Exception):
    """Base class of every error intrain raises on purpose (bad input, missing files, ...)."""


class InputError(IntrainError, ValueError):
    """A file, string or value handed to intrain that is malformed; the message says what and where."""


class UnsafeInputError(InputError):
    """A file that asks to run code or build objects intrain never loads (e.g. a pickle global)."""
