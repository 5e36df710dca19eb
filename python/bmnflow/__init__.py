"""bmnflow: BM@N processing chains on PanDA, Rucio and FTS from Apache Airflow.

The logic lives in a Rust core (``bmnflow._core``); this package holds the thin Airflow layer
around it: hooks, operators, deferrable sensors and triggers, assets, and a pytest kit.
"""

from __future__ import annotations

import atexit
import logging

from bmnflow import _core

# The function shadows its module's name on the package, so `bmnflow.split(files)` works.
from bmnflow.split import split

__version__: str = _core.__version__

__all__ = ["__version__", "split", "sync_log_level"]


def sync_log_level() -> None:
    """Makes the Rust core send Python exactly the records the ``bmnflow`` logger keeps.

    The core decides without the interpreter lock which events to forward, so it is told the
    effective level; hooks call this when they are created, after Airflow set up logging.
    """
    _core.set_log_level(logging.getLogger("bmnflow").getEffectiveLevel())


sync_log_level()
# Rust threads may still be running at exit; they must stop calling into Python before the
# interpreter finalizes (registered after Airflow's own handlers, so it runs before them).
atexit.register(_core.shutdown)
