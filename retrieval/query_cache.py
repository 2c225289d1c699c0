"""Query vectors kept in memory (LRU): a repeated or popular question skips the dense encoder (~3 ms)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class QueryVectorCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, embed) -> np.ndarray:  # noqa: ANN001  (embed: str -> vector)
        if self.size == 0:
            return embed(text)
        with self._lock:
            vector = self._items.get(text)
            if vector is not None:
                self._items.move_to_end(text)
                self.hits += 1
                return vector
            self.misses += 1
        vector = embed(text)
        vector.setflags(write=False)  # shared between requests: nobody may change it
        with self._lock:
            self._items[text] = vector
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return vector
