"""Tracker keys resolved with a short cache, and when each silent phone was last asked for a fix."""

import time

from sqlalchemy import Engine
from sqlmodel import Session

from backend.positions.service import TrackerOwner, hash_key, officer_for_key

KEY_MAX_LEN = 200  # longer is no key of ours: refused without a database read
_CACHE_MAX = 50_000  # a spray of random ids must not grow memory


class TrackerKeys:
    """Resolves a tracker key to its officer; results (misses too) are cached for `cache_s`."""

    def __init__(self, engine: Engine, cache_s: float) -> None:
        self._engine = engine
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, TrackerOwner | None]] = {}
        self._asked: dict[int, float] = {}

    def cached(self, key: str) -> tuple[bool, TrackerOwner | None]:
        """(whether the cache knows the key, its owner) without touching the database."""
        if not key or len(key) > KEY_MAX_LEN:
            return True, None
        hit = self._cache.get(hash_key(key))
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def load(self, key: str) -> TrackerOwner | None:
        """Read the key's owner from the database (blocking: call in a worker thread)."""
        with Session(self._engine) as s:
            owner = officer_for_key(session=s, key=key)
        if len(self._cache) > _CACHE_MAX:
            self._cache.clear()
        self._cache[hash_key(key)] = (time.monotonic() + self._cache_s, owner)
        return owner

    def clear(self) -> None:
        """Forget cached keys (after binding or revoking in this process)."""
        self._cache.clear()

    def may_ask(self, officer_id: int, every_s: float) -> bool:
        """Whether a reportLocation may go to this officer's phone now (at most once per bound)."""
        now = time.monotonic()
        last = self._asked.get(officer_id)
        if last is not None and now - last < every_s:
            return False
        self._asked[officer_id] = now
        return True
