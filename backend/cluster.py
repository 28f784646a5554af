"""Work that must run once across the cluster: a lease in the database, and a task that keeps it.

Every node runs the same periodic loops. A loop that must run on one node only (the alert
sweeper, the rollup check) asks `acquire(name=...)` on each tick and does its work only when it
gets a grant. The lease is one row per name in the `lease` table, taken or renewed by a single
compare-and-set statement:

    INSERT ... ON CONFLICT (name) DO UPDATE ... WHERE lease.holder = me OR lease.expires_at < now

so two nodes can never both hold an unexpired lease: PostgreSQL serialises the two upserts on
the row, and the second one sees the first one's holder and a future expiry. A holder that dies
(kill -9, power, network) simply stops renewing; the lease expires after `ttl_s` and the next
node to ask takes it. On PostgreSQL "now" is the database's clock (`clock_timestamp()`), so the
nodes' own clocks may drift without two holders appearing; SQLite is one machine anyway.

`fence` grows by one each time the lease changes hands. Work whose effects must not be repeated
by a paused former holder can write the fence next to its result and refuse a lower one; the
work here is idempotent (the check applies differences, the sweeper's tables have constraints),
so the lease only saves doing it twice.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy import Column, Engine, text
from sqlmodel import Field, SQLModel

from backend.db import UtcDateTime, sqlite_time
from backend.metrics import METRICS

log = logging.getLogger("posko.cluster")


class Lease(SQLModel, table=True):
    """Who may run a named periodic job until when; taken over only once expired."""

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=120)
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    fence: int = 1


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    """A lease this node holds: until when, and its fencing number."""

    name: str
    holder: str
    fence: int
    expires_at: datetime


_LEASED_RUNS = Counter(
    "posko_leased_runs",
    "Runs of cluster-wide jobs on this node",
    ["job"],
    registry=METRICS.registry,
)
_LEASE_HELD = Gauge(
    "posko_lease_held",
    "1 while this node holds the job's lease",
    ["job"],
    registry=METRICS.registry,
)


def node_id() -> str:
    """A name for this process that no other process shares (host, pid, random)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


_PG_ACQUIRE = text(
    "INSERT INTO lease (name, holder, expires_at, fence) "
    "VALUES (:name, :holder, clock_timestamp() + make_interval(secs => :ttl), 1) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
    "fence = CASE WHEN lease.holder = excluded.holder THEN lease.fence ELSE lease.fence + 1 END "
    "WHERE lease.holder = excluded.holder OR lease.expires_at < clock_timestamp() "
    "RETURNING fence, expires_at"
)
_SQLITE_ACQUIRE = text(
    "INSERT INTO lease (name, holder, expires_at, fence) VALUES (:name, :holder, :expires, 1) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
    "fence = CASE WHEN lease.holder = excluded.holder THEN lease.fence ELSE lease.fence + 1 END "
    "WHERE lease.holder = excluded.holder OR lease.expires_at < :now "
    "RETURNING fence, expires_at"
)


def acquire(*, engine: Engine, name: str, holder: str, ttl_s: float) -> LeaseGrant | None:
    """Take or renew the lease `name` for `ttl_s` seconds; the grant if `holder` has it now."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            row = conn.execute(_PG_ACQUIRE, {"name": name, "holder": holder, "ttl": ttl_s}).first()
        else:
            now = datetime.now(UTC)
            row = conn.execute(
                _SQLITE_ACQUIRE,
                {
                    "name": name,
                    "holder": holder,
                    "now": sqlite_time(now),
                    "expires": sqlite_time(now + timedelta(seconds=ttl_s)),
                },
            ).first()
    if row is None:
        return None
    expires = row[1]
    if isinstance(expires, str):
        expires = datetime.fromisoformat(expires).replace(tzinfo=UTC)
    return LeaseGrant(name=name, holder=holder, fence=int(row[0]), expires_at=expires)


def release(*, engine: Engine, name: str, holder: str) -> bool:
    """Give the lease up now (clean shutdown), so another node need not wait for it to expire."""
    with engine.begin() as conn:
        res = conn.execute(
            text("UPDATE lease SET expires_at = :past WHERE name = :name AND holder = :holder"),
            {
                "name": name,
                "holder": holder,
                "past": sqlite_time(datetime(2000, 1, 1, tzinfo=UTC))
                if conn.dialect.name == "sqlite"
                else datetime(2000, 1, 1, tzinfo=UTC),
            },
        )
        return bool(res.rowcount)


def current_holder(*, engine: Engine, name: str) -> str | None:
    """The node holding an unexpired lease `name`, if any."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            row = conn.execute(
                text(
                    "SELECT holder FROM lease WHERE name = :name "
                    "AND expires_at >= clock_timestamp()"
                ),
                {"name": name},
            ).first()
        else:
            row = conn.execute(
                text("SELECT holder FROM lease WHERE name = :name AND expires_at >= :now"),
                {"name": name, "now": sqlite_time(datetime.now(UTC))},
            ).first()
    return str(row[0]) if row else None


Work = Callable[[LeaseGrant], Awaitable[object]]


class LeasedTask:
    """Runs `work` every `interval_s` on whichever single node holds the lease `name`.

    Each tick renews (or tries to take) the lease, then runs the work if it is held. The lease
    lasts `ttl_s` (default three intervals), so a dead holder is replaced within `ttl_s` plus
    one interval, and a holder that misses one renewal does not lose it.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        name: str,
        interval_s: float,
        work: Work,
        ttl_s: float | None = None,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.name = name
        self.interval_s = interval_s
        self.ttl_s = ttl_s if ttl_s is not None else 3 * interval_s
        if self.ttl_s <= interval_s:
            raise ValueError("a lease must outlive the interval between renewals")
        self.holder = holder or node_id()
        self.grant: LeaseGrant | None = None
        self.runs = 0
        self._work = work
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this node held the lease at its last tick."""
        return self.grant is not None

    async def start(self) -> None:
        """Start ticking."""
        self._task = asyncio.create_task(self._run(), name=f"posko-leased-{self.name}")

    async def stop(self) -> None:
        """Stop ticking and hand the lease over at once."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.grant is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    release, engine=self.engine, name=self.name, holder=self.holder
                )
            self.grant = None
            _LEASE_HELD.labels(self.name).set(0)

    async def tick(self) -> bool:
        """Renew or take the lease and, if held, run the work once; return whether it ran."""
        try:
            grant = await asyncio.to_thread(
                acquire, engine=self.engine, name=self.name, holder=self.holder, ttl_s=self.ttl_s
            )
        except Exception:
            # Database unreachable: we cannot know whether we still hold it, so act as if not.
            log.warning("lease %s: cannot reach the database", self.name, exc_info=True)
            grant = None
        if (grant is None) != (self.grant is None):
            log.info("lease %s %s by %s", self.name, "taken" if grant else "lost", self.holder)
        self.grant = grant
        _LEASE_HELD.labels(self.name).set(1 if grant else 0)
        if grant is None:
            return False
        await self._work(grant)
        self.runs += 1
        _LEASED_RUNS.labels(self.name).inc()
        return True

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("leased job %s failed; next tick retries", self.name)
            await asyncio.sleep(self.interval_s)
