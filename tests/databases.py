"""Test databases: PostgreSQL ones reset and reused, templates migrated once per process.

Migrating a database runs every Alembic script (0.1 s on SQLite, up to 0.4 s on PostgreSQL on
the shared machine) and dropping a used PostgreSQL database waits for its checkpoint (up to
1.5 s); over the suite's ~700 database tests that was minutes. So each test process (each
pytest-xdist worker) migrates two templates once, the bare schema and the schema with the mini
registry, and each test gets a copy: a file copy on SQLite (~1 ms), `CREATE DATABASE ...
TEMPLATE` on PostgreSQL, where a used copy is reset in a thread and handed out again (_Pool).
Databases no longer needed are dropped by a thread of their own, off the tests' path.
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
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from tests.factories import MiniRegistry, seed_mini

PG_ADMIN_URL = os.environ.get(
    "POSKO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_ADMIN_DB = make_url(PG_ADMIN_URL).database or "postgres"
TEMPLATE_SECRET = "test-template-secret"  # nothing keyed is written while migrating or seeding


# A commit on a test database does not wait for its WAL to reach the disk. What a test checks
# still holds: a committed row is seen at once by every session, and survives the kill of the
# process that wrote it (kill -9 tests) since PostgreSQL itself keeps running; only a crash of
# the PostgreSQL server or of the machine could lose the last ~0.2 s of commits. The server is
# shared, so its own settings (fsync) are left alone: this is the database's.
_NO_COMMIT_WAIT = 'ALTER DATABASE "{name}" SET synchronous_commit = off'

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


def _sql(*statements: str) -> None:
    # A connection of its own each time (no pool): the admin engine must never hold a
    # connection to a template, or PostgreSQL refuses to copy it.
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as c:
            for statement in statements:  # one by one: CREATE DATABASE refuses a transaction
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


def _new_name() -> str:
    """A name for a test database, never used before."""
    return f"posko_t_{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_pg_database(template: str | None = None) -> Iterator[str]:
    """Create a PostgreSQL database (empty, or a copy of `template`), yield its URL, drop it."""
    name = _new_name()
    _sql(
        f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""),
        _NO_COMMIT_WAIT.format(name=name),
    )
    try:
        yield pg_url_of(name)
    finally:
        DROPPER.drop(name)


def _conninfo(name: str) -> str:
    """A libpq URI for database `name` on the test server (psycopg, without SQLAlchemy)."""
    return make_url(pg_url_of(name)).set(drivername="postgresql").render_as_string(False)


# What a test could change besides rows, in one digest: schemas, tables, columns, constraints,
# indexes, triggers, functions, views, extensions, row security, the database's own settings
# and flags. A database whose digest differs from its template's copy is dropped, not reused.
_SHAPE_SQL = """
SELECT md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) FROM (
  SELECT 'n ' || nspname AS x FROM pg_namespace
   WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
  UNION ALL
  SELECT 'c ' || c.relnamespace::regnamespace || '.' || c.relname || ' '
         || c.relkind::text || c.relpersistence::text || ' ' || c.relrowsecurity
    FROM pg_class c WHERE c.relnamespace::regnamespace::text NOT LIKE 'pg\\_%'
     AND c.relnamespace::regnamespace::text <> 'information_schema'
  UNION ALL
  SELECT 'a ' || a.attrelid::regclass || '.' || a.attname || ' '
         || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'k ' || conrelid::regclass || '.' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'i ' || pg_get_indexdef(i.indexrelid) FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 't ' || pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger
   WHERE NOT tgisinternal
  UNION ALL
  SELECT 'f ' || p.oid::regprocedure || ' ' || md5(p.prosrc) FROM pg_proc p
   WHERE p.pronamespace::regnamespace::text NOT LIKE 'pg\\_%'
     AND p.pronamespace::regnamespace::text <> 'information_schema'
  UNION ALL
  SELECT 'v ' || c.oid::regclass || ' ' || md5(pg_get_viewdef(c.oid)) FROM pg_class c
   WHERE c.relkind IN ('v', 'm') AND c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'e ' || extname || ' ' || extversion FROM pg_extension
  UNION ALL
  SELECT 'p ' || polrelid::regclass || '.' || polname FROM pg_policy
  UNION ALL
  SELECT 's ' || array_to_string(s.setconfig, ',') FROM pg_db_role_setting s
    JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = current_database()
  UNION ALL
  SELECT 'd ' || datallowconn || ' ' || datconnlimit || ' ' || datistemplate FROM pg_database
   WHERE datname = current_database()
  UNION ALL
  SELECT 'l ' || count(*) FROM pg_largeobject_metadata
  UNION ALL
  SELECT 'x ' || count(*) FROM pg_prepared_xacts WHERE database = current_database()
) shape
"""


@dataclass
class _Seed:
    """What a fresh copy of a template holds besides its shape: rows and sequence positions."""

    shape: str  # _SHAPE_SQL's digest
    tables: list[str]  # every table of the public schema
    rows: dict[str, bytes]  # table -> its rows in COPY's text format (tables with rows only)
    sequences: list[tuple[str, int, bool]]  # sequence, last_value, is_called


def _read_seed(name: str) -> _Seed:
    """The seed of a fresh copy `name` (read once per template, from its first copy)."""
    with psycopg.connect(_conninfo(name)) as conn:
        shape = conn.execute(_SHAPE_SQL).fetchone()[0]  # type: ignore[index]
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        rows: dict[str, bytes] = {}
        with conn.cursor() as cur:
            for t in tables:
                with cur.copy(f'COPY "{t}" TO STDOUT') as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
                if data:
                    rows[t] = data
        sequences = []
        for (seq,) in conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall():
            last, called = conn.execute(f'SELECT last_value, is_called FROM "{seq}"').fetchone()  # type: ignore[misc]
            sequences.append((seq, int(last), bool(called)))
    return _Seed(shape=shape, tables=tables, rows=rows, sequences=sequences)


_TRUNCATE_ABOVE_BYTES = 256 * 1024


class _Changed(Exception):
    """A used database whose shape is no longer its template's: it is dropped, not reused."""


class _Pool:
    """Copies of the PostgreSQL templates, each reset after its test and handed out again.

    A copy (CREATE DATABASE ... TEMPLATE) cost the server ~0.4 s and its drop ~0.26 s and a
    checkpoint (7 Dec, load ~14), for each of the pass's ~500 tests, on the same two cores as
    the tests. A used copy is instead emptied (DELETE; TRUNCATE for a table a test filled),
    given its template's rows and sequence positions again, and renamed, so a connection left
    over from its last test can never reach the next one: ~0.18 s, no checkpoint. A copy whose
    shape a test changed (a column, a trigger, a setting of the database) is dropped and a new
    copy made.

    The reset runs in a thread of its own while the next test runs on another copy: each
    template has two copies in turn, and nothing of this is on a test's path once both exist.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-reset")
        self._ready: dict[str, list[Future[str]]] = {}  # template -> copies, oldest first
        self._seeds: dict[str, _Seed] = {}
        self._lock = threading.Lock()

    def _copy(self, template: str) -> str:
        name = _new_name()
        _sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"', _NO_COMMIT_WAIT.format(name=name))
        with self._lock:
            known = template in self._seeds
        if not known:
            seed = _read_seed(name)
            with self._lock:
                self._seeds.setdefault(template, seed)
        return name

    def _reset(self, template: str, name: str) -> str:
        """Database `name` as its template's fresh copy, under a new name (or a new copy)."""
        try:
            return self._renew(template, name)
        except Exception:  # changed, or held by a connection that would not go: start afresh
            DROPPER.drop(name)
            return self._copy(template)

    def _renew(self, template: str, name: str) -> str:
        with self._lock:
            seed = self._seeds[template]
        with psycopg.connect(_conninfo(_ADMIN_DB), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            with psycopg.connect(_conninfo(name)) as conn:
                conn.execute("SET LOCAL lock_timeout = '5s'")
                if conn.execute(_SHAPE_SQL).fetchone()[0] != seed.shape:  # type: ignore[index]
                    raise _Changed(name)
                # Replica mode: no trigger or foreign key check fires, so the tables empty
                # in any order and the seed's rows go back as they were (they passed once).
                conn.execute("SET LOCAL session_replication_role = replica")
                # DELETE, not TRUNCATE, for the small tables: TRUNCATE gives every table and
                # index new files (1.5 s for the ~180 here on the busy machine, and 0.3 s
                # more at commit); a DELETE of a few rows is a fraction of a millisecond.
                # A table a test filled is truncated, or its dead rows would slow the next.
                big = [
                    t
                    for (t,) in conn.execute(
                        "SELECT relname FROM pg_class WHERE relkind = 'r' "
                        "AND relnamespace = 'public'::regnamespace "
                        "AND pg_relation_size(oid) > %s",
                        (_TRUNCATE_ABOVE_BYTES,),
                    )
                ]
                if big:
                    conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in big) + " CASCADE")
                conn.execute("; ".join(f'DELETE FROM "{t}"' for t in seed.tables))
                with conn.cursor() as cur:
                    for table, data in seed.rows.items():
                        with cur.copy(f'COPY "{table}" FROM STDIN') as copy:
                            copy.write(data)
                if seed.sequences:
                    conn.execute(
                        "SELECT "
                        + ", ".join(
                            f"setval('\"{s}\"', {last}, {str(called).lower()})"
                            for s, last, called in seed.sequences
                        )
                    )
            new = _new_name()
            admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{new}"')
        return new

    def take(self, template: str) -> str:
        """A fresh copy of `template`: a reset one if ready, else made now (and one ahead)."""
        waiting = self._ready.setdefault(template, [])
        name = None
        if waiting:
            with contextlib.suppress(Exception):  # a failed reset: make one now, as without
                name = waiting.pop(0).result()
        if name is None:
            name = self._copy(template)
        if not waiting:  # the copy the next test takes while this one's is reset
            waiting.append(self._pool.submit(self._copy, template))
        return name

    def give_back(self, template: str, name: str) -> None:
        """Reset `name` in the background for a later test of the same template."""
        self._ready.setdefault(template, []).append(self._pool.submit(self._reset, template, name))

    def close(self) -> None:
        """Drop every copy (their templates are dropped next)."""
        for waiting in self._ready.values():
            for ready in waiting:
                with contextlib.suppress(Exception):
                    DROPPER.drop(ready.result())
        self._ready.clear()
        self._pool.shutdown()


class Templates:
    """Migrated databases (bare, and with the mini registry) made once, copied for each test."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.directory = directory
        self._pool = _Pool()
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
            template = self.template(seeded)
            name = self._pool.take(template)
            try:
                yield from self._noted(pg_url_of(name), migrated, seeded)
            finally:
                self._pool.give_back(template, name)
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
            self._pool.close()
            for name in self._made.values():
                DROPPER.drop(name)
        self._made.clear()
