"""The garbage collector paused while many long-lived objects are made at once.

Its passes over them free nothing: making or loading 100,000 accounts spent two thirds of its time
in them (enrichment/prepared.py), and the database import of the same list 1.6 of its 10.8 s.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_collection() -> Iterator[None]:
    """No collection inside the block; the collector is back on after it if it was on before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
