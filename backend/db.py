"""Engine, SQLite pragmas, the timezone-aware time column, and the session dependency."""

import sqlite3
import uuid as uuidlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Engine, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from backend.audit.keys import ENGINE_OPTION, AuditKey
from backend.config import Settings


class UtcDateTime(TypeDecorator[datetime]):
    """Store UTC, always hand back timezone-aware datetimes (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; refuse naive datetimes, whose zone nobody knows."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what SQLite returns naive."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_TIMES_KEPT = 16_384  # datetimes RawDb.time remembers (a few batches' worth), then forgets
BUSY_TIMEOUT_MS = 30_000  # SQLite: how long a connection waits for another's write lock


def sqlite_time(value: datetime) -> str:
    """Format an aware datetime the way SQLAlchemy stores it in SQLite (for raw hot-path SQL)."""
    # "YYYY-MM-DD HH:MM:SS.ffffff": C-level isoformat, then cut the "+00:00".
    if value.tzinfo is not UTC:  # pydantic's own UTC zone goes through astimezone, slowly
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """Create the engine for the configured database, with SQLite tuned for group commits."""
    url = settings.database_url
    # Every connection carries the audit chain's key (backend/audit/keys.py), never the database.
    kwargs["execution_options"] = {
        **kwargs.get("execution_options", {}),
        ENGINE_OPTION: AuditKey.from_settings(settings),
    }
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if kwargs.pop("null_pool", False):
            kwargs["poolclass"] = NullPool
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        synchronous = settings.sqlite_synchronous

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets dashboards read while the writer commits; FULL makes every acked commit
            # survive power loss (the fsync is paid once per batch, not per event).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA cache_size=-16384")  # 16 MiB per reader; the writer takes more
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session bound to the engine (FastAPI dependency body)."""
    with Session(engine) as session:
        yield session


def enum_column(enum: type[StrEnum], *, nullable: bool = False, index: bool = False) -> Column[Any]:
    """A portable VARCHAR column that stores an enum's values (what the wire and people read)."""
    return Column(
        SAEnum(
            enum,
            values_callable=lambda e: [m.value for m in e],
            native_enum=False,
            length=24,
            validate_strings=True,
        ),
        nullable=nullable,
        index=index,
    )


class RawDb:
    """A DBAPI connection for the hot paths, hiding the few differences of SQLite and PostgreSQL.

    The ORM costs ~5 µs per row in type processing; intake writes tens of thousands of rows per
    second, so its statements go to the driver directly. SQL is written with `?` placeholders.
    """

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self.is_sqlite = self.dialect == "sqlite"
        self.audit_key: AuditKey | None = engine.get_execution_options().get(ENGINE_OPTION)
        fairy = engine.raw_connection()
        fairy.detach()  # owned by this object for its whole life, never returned to the pool
        conn: Any = fairy.dbapi_connection
        self.conn = conn
        if self.is_sqlite:
            self.conn.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves
            # The writer keeps the hot right edges of the ping and event-id B-trees in memory.
            self.conn.execute("PRAGMA cache_size=-65536")
        self._sql_cache: dict[str, str] = {}
        # id -> (datetime, its SQLite text). A batch binds the same few datetime objects many
        # times (device and receive times reappear in the state, transition, officer and
        # position rows): formatting each once took ~1/6 of the writer's batch. Holding the
        # object keeps its id from being reused while the entry lives.
        self._times: dict[int, tuple[datetime, str]] = {}

    def sql(self, text: str) -> str:
        """Translate `?` placeholders to the driver's style."""
        if self.is_sqlite:
            return text
        out = self._sql_cache.get(text)
        if out is None:
            out = self._sql_cache[text] = text.replace("?", "%s")
        return out

    def time(self, value: datetime | None) -> Any:
        """Bind a datetime the way the column type stores it."""
        if value is None or not self.is_sqlite:
            return value
        hit = self._times.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        text = sqlite_time(value)
        if len(self._times) >= _TIMES_KEPT:
            self._times.clear()
        self._times[id(value)] = (value, text)
        return text

    def read_time(self, value: Any) -> datetime | None:
        """Read back a stored datetime as timezone-aware UTC."""
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def uuid(self, value: uuidlib.UUID) -> Any:
        """Bind a UUID the way SQLAlchemy's Uuid type stores it."""
        return value.hex if self.is_sqlite else value

    def read_uuid(self, value: Any) -> uuidlib.UUID:
        """Read back a stored UUID."""
        return value if isinstance(value, uuidlib.UUID) else uuidlib.UUID(hex=str(value))

    def insert_all_new(self, sql: str, rows: list[tuple[Any, ...]]) -> bool:
        """SQLite: insert rows with one cached single-row statement; True if every row went in.

        `sql` skips conflicting rows (ON CONFLICT DO NOTHING). If any was skipped, nothing of
        this call is kept (rolled back to a savepoint) and False tells the caller to insert
        them again in a way that says which ones (RETURNING). A multi-row INSERT ... RETURNING
        is compiled anew for every row count and cost ~3 x as much per row, measured; a batch
        holding a duplicate is the rare case.
        """
        conn = self.conn
        conn.execute("SAVEPOINT insert_all_new")
        # The statement's own row count (summed over executemany), not total_changes, which
        # would also count rows a trigger wrote and could hide a skipped one.
        if conn.executemany(sql, rows).rowcount == len(rows):
            conn.execute("RELEASE insert_all_new")
            return True
        conn.execute("ROLLBACK TO insert_all_new")
        conn.execute("RELEASE insert_all_new")
        return False

    @property
    def is_broken(self) -> bool:
        """Whether the connection is gone for good (PostgreSQL: lost, terminated); SQLite never."""
        return bool(getattr(self.conn, "closed", False) or getattr(self.conn, "broken", False))

    def begin(self) -> None:
        """Start a write transaction (SQLite: take the write lock now, not at first write)."""
        if self.is_sqlite:
            self.conn.execute("BEGIN IMMEDIATE")

    def try_begin(self) -> bool:
        """SQLite: take the write lock only if it is free now; False if another connection holds it.

        PostgreSQL has no such lock to wait for at BEGIN: always True.
        """
        if not self.is_sqlite:
            return True
        self.conn.execute("PRAGMA busy_timeout=0")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return False
            raise
        finally:
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return True

    def commit(self) -> None:
        """Commit the transaction."""
        if self.is_sqlite:
            self.conn.execute("COMMIT")
        else:
            self.conn.commit()

    def rollback(self) -> None:
        """Roll back, tolerating a transaction that is already gone."""
        try:
            if self.is_sqlite:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            else:
                self.conn.rollback()
        except Exception:
            pass

    def close(self) -> None:
        """Close the connection."""
        self.rollback()
        self.conn.close()


@contextmanager
def command_engine(
    database_url: str | None = None, *, migrate: bool = True
) -> Iterator[tuple[Settings, Engine]]:
    """Settings and a ready engine for one CLI command; the engine is disposed afterwards."""
    from backend.migrate import upgrade  # migrations import the models, which import this

    settings = Settings(database_url=database_url) if database_url else Settings()
    engine = make_engine(settings)
    try:
        if migrate:
            upgrade(engine)
        yield settings, engine
    finally:
        engine.dispose()
