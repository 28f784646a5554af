"""Test databases: PostgreSQL ones made and dropped cheaply, templates migrated once per process.

Migrating a database runs every Alembic script (0.1 s on SQLite, up to 0.4 s on PostgreSQL on
the shared machine) and dropping a used PostgreSQL database waits for its checkpoint (up to
1.5 s); over the suite's ~700 database tests that was minutes. So each test process (each
pytest-xdist worker) migrates two templates once, the bare schema and the schema with the mini
registry, and each test gets a copy: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on
PostgreSQL. Used databases are dropped by a thread of their own, off the tests' path.
"""

import contextlib
import copy
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from tests.factories import MiniRegistry, seed_mini

PG_ADMIN_URL = os.environ.get(
    "POSKO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEMPLATE_SECRET = "test-template-secret"  # nothing keyed is written while migrating or seeding


_pg_answered = False


def pg_available() -> bool:
    """Whether the test PostgreSQL answers (once it has, this process stops asking)."""
    global _pg_answered
    if _pg_answered:
        return True
    try:
        eng = create_engine(PG_ADMIN_URL, poolclass=NullPool)
        with eng.connect():
            pass
        eng.dispose()
    except Exception:  # any failure means "not here"
        return False
    _pg_answered = True
    return True


def pg_url_of(name: str) -> str:
    """The URL of database `name` on the test server."""
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _sql(statement: str) -> None:
    # A connection of its own each time (no pool): the admin engine must never hold a
    # connection to a template, or PostgreSQL refuses to copy it.
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as c:
            c.execute(text(statement))
    finally:
        admin.dispose()


class _Dropper:
    """Drops used PostgreSQL databases in a background thread, so no test waits for it."""

    def __init__(self) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def drop(self, name: str) -> None:
        """Drop database `name` soon (its connections are cut: WITH (FORCE))."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-dropper", daemon=True)
                self._thread.start()
        self._queue.put(name)

    def _run(self) -> None:
        while (name := self._queue.get()) is not None:
            # A database left over costs disk, never a test result.
            with contextlib.suppress(Exception):
                _sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def wait(self) -> None:
        """Finish every pending drop (end of the session)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=120)


DROPPER = _Dropper()


@contextmanager
def fresh_pg_database(template: str | None = None) -> Iterator[str]:
    """Create a PostgreSQL database (empty, or a copy of `template`), yield its URL, drop it."""
    name = f"posko_t_{uuid.uuid4().hex[:12]}"
    _sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield pg_url_of(name)
    finally:
        DROPPER.drop(name)


class _Spares:
    """One copy of each PostgreSQL template made ahead, while a test runs on the previous one.

    A copy took ~0.28 s of each database test's time on PostgreSQL (a quarter of a worker's
    time in the pass); made in a thread of its own beside the test, the next test finds it ready.
    One spare per template at a time, so this process never copies a template twice at once.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-spare")
        self._next: dict[str, Future[str]] = {}

    @staticmethod
    def _copy(template: str) -> str:
        name = f"posko_t_{uuid.uuid4().hex[:12]}"
        _sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def take(self, template: str) -> str:
        """A fresh copy of `template` (the spare, or one made now); the next spare is started."""
        spare = self._next.pop(template, None)
        name = None
        if spare is not None:
            with contextlib.suppress(Exception):  # a failed spare: make one now, as without
                name = spare.result()
        if name is None:
            name = self._copy(template)
        self._next[template] = self._pool.submit(self._copy, template)
        return name

    def close(self) -> None:
        """Drop the spares not taken (their templates are dropped next)."""
        for spare in self._next.values():
            with contextlib.suppress(Exception):
                DROPPER.drop(spare.result())
        self._next.clear()


class Templates:
    """Migrated databases (bare, and with the mini registry) made once, copied for each test."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.directory = directory
        self._spares = _Spares()
        self._made: dict[bool, str] = {}  # seeded? -> SQLite path or PostgreSQL database name
        self._mini: MiniRegistry | None = None
        self._copies: dict[str, bool] = {}  # database URL made from a template -> seeded?

    def template(self, seeded: bool) -> str:
        """The template's SQLite path or PostgreSQL database name, made on first use."""
        if seeded in self._made:
            return self._made[seeded]
        label = "mini" if seeded else "schema"
        if self.kind == "postgres":
            where = f"posko_tpl_{uuid.uuid4().hex[:12]}_{label}"
            _sql(f'CREATE DATABASE "{where}"')
            url = pg_url_of(where)
        else:
            where = str(self.directory / f"template-{label}.db")
            url = f"sqlite:///{where}"
        settings = Settings(_env_file=None, database_url=url, secret_key=TEMPLATE_SECRET)  # type: ignore[call-arg]
        engine = make_engine(settings)
        try:
            upgrade(engine)
            if seeded:
                self._mini = seed_mini(engine)
            if self.kind != "postgres":
                with engine.connect() as conn:  # everything into the main file, which is copied
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
        self._made[seeded] = where
        return where

    @contextmanager
    def database(self, tmp_path: Path, *, migrated: bool, seeded: bool) -> Iterator[str]:
        """A database of this run's kind for one test: empty, or a copy of a template."""
        if self.kind == "postgres":
            if not migrated:
                with fresh_pg_database() as url:
                    yield from self._noted(url, migrated, seeded)
                return
            name = self._spares.take(self.template(seeded))
            try:
                yield from self._noted(pg_url_of(name), migrated, seeded)
            finally:
                DROPPER.drop(name)
            return
        path = tmp_path / "posko.db"
        if migrated:
            shutil.copyfile(self.template(seeded), path)
        yield from self._noted(f"sqlite:///{path}", migrated, seeded)

    def _noted(self, url: str, migrated: bool, seeded: bool) -> Iterator[str]:
        if migrated:
            self._copies[url] = seeded
        try:
            yield url
        finally:
            self._copies.pop(url, None)

    def migrated(self, url: str) -> bool:
        """Whether the database at `url` is a template's copy (already at the head revision)."""
        return url in self._copies

    def mini_in(self, url: str) -> MiniRegistry | None:
        """The mini registry already in the database at `url` (a copy: tests may change it)."""
        if not self._copies.get(url):
            return None
        return copy.deepcopy(self._mini)

    def close(self) -> None:
        """Drop the PostgreSQL templates (SQLite ones go with the temporary directory)."""
        if self.kind == "postgres":
            self._spares.close()
            for name in self._made.values():
                DROPPER.drop(name)
        self._made.clear()
