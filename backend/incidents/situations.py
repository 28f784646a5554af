"""What open incidents do to their TPS: the situation each raises, kept in memory per node."""

import asyncio
import time

from sqlalchemy import Engine
from sqlmodel import Session

from backend.incidents.service import incident_situations
from schemas.enums import Situation


class Situations:
    """TPS id -> situation raised by its open incidents, as of the newest read installed."""

    def __init__(self, engine: Engine, by_tps: dict[int, Situation] | None = None) -> None:
        self._engine = engine
        self.by_tps: dict[int, Situation] = by_tps or {}
        self.read_at = 0.0  # monotonic start of the read installed

    def get(self, tps_id: int) -> Situation | None:
        """The situation open incidents raise at a TPS (None: none open)."""
        return self.by_tps.get(tps_id)

    def swap(self, fresh: dict[int, Situation], read_at: float) -> list[int]:
        """Install a map read from `read_at`; return the TPS ids whose value changed."""
        if read_at < self.read_at:
            # A sweep and an incident step read concurrently: a read that began earlier must not
            # put back what the later one already saw (a TPS would flicker back to aman).
            return []
        self.read_at = read_at
        old = self.by_tps
        changed = [t for t in set(old) | set(fresh) if old.get(t) != fresh.get(t)]
        self.by_tps = fresh
        return sorted(changed)

    async def refresh(self) -> list[int]:
        """Read every TPS's incident situation again (worker thread); return the ids changed."""

        def read() -> dict[int, Situation]:
            with Session(self._engine) as session:
                return incident_situations(session=session)

        read_at = time.monotonic()
        return self.swap(await asyncio.to_thread(read), read_at)
