"""Bounded caches: memory fixed by a setting, whatever the traffic."""

from __future__ import annotations


class BoundedCache(dict):
    """A dict that empties itself when it grows past ``limit``: bounded memory, no bookkeeping
    per lookup (an LRU would cost more per line than the work it saves here)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
