"""A small LRU cache of saliency maps, owned by the worker that computes them.

Keyed by (film, target, model, method): moving the overlay between a film's findings or
toggling it off and on must not recompute a map that took a second.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from cxrviewer.explain.types import SaliencyMap, Target

CacheKey = tuple[Hashable, tuple[str, str], str, str]


class SaliencyCache:
    """At most ``capacity`` maps, least recently used dropped first; safe across threads.

    A 224 px map is 200 kB, so the default 64 maps hold about 13 MB.
    """

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = max(1, int(capacity))
        self._maps: OrderedDict[CacheKey, SaliencyMap] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(film_key: Hashable, target: Target, model_name: str, method: str) -> CacheKey:
        return (film_key, target.key, str(model_name), str(method))

    def get(self, key: CacheKey) -> SaliencyMap | None:
        with self._lock:
            found = self._maps.get(key)
            if found is None:
                self.misses += 1
                return None
            self._maps.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: CacheKey, saliency: SaliencyMap) -> None:
        with self._lock:
            self._maps[key] = saliency
            self._maps.move_to_end(key)
            while len(self._maps) > self.capacity:
                self._maps.popitem(last=False)

    def get_or_compute(self, key: CacheKey, compute: Callable[[], SaliencyMap]) -> SaliencyMap:
        """The cached map, or ``compute()``'s (stored); a Cancelled compute stores nothing."""
        found = self.get(key)
        if found is None:
            found = compute()
            self.put(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._maps.clear()

    def __len__(self) -> int:
        return len(self._maps)
