"""A small LRU of search results, keyed by everything that decides them.

Many users type the same first questions; a repeated identical search (same words, filters, top_k,
settings and index generation) is answered from here. The searcher clears it when the index changes.
"""
from __future__ import annotations

import threading
from collections import OrderedDict


class ResultCache:
    """Thread-safe least-recently-used map of search keys to SearchResult (frozen, so shareable)."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return None

    def put(self, key, value) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
