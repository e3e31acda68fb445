"""intrain: a reproducible benchmark harness for zero-cost NAS proxies."""

__version__ = "0.1.0"
