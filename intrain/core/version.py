"""The package version, in the core so that every layer can record it without importing the root."""

__version__ = "0.1.0"
