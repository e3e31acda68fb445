"""Logging set-up shared by the CLI entry points."""

from __future__ import annotations

import logging
import os


def setup(verbosity: int = 0) -> None:
    level = (
        logging.DEBUG
        if verbosity > 0
        else getattr(logging, os.environ.get("INTRAIN_LOG", "INFO").upper(), logging.INFO)
    )
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
