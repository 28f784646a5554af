"""Prepared databases: a registry, device credentials and an election day of pings.

The starting database is built once per run and copied for every measurement (SQLite: a file
copy; PostgreSQL: CREATE DATABASE ... TEMPLATE), so every server starts from the same state.
History rows go in through the driver (executemany / COPY), not through the server: a million
rows through intake would take longer than the benchmark itself.
"""

import random
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlmodel import Session, col, select

from backend.auth.service import hmac_secret, issue
from backend.config import Settings
from backend.db import make_engine
from backend.intake.service import PING_INDEX_KEY
from backend.migrate import upgrade
from backend.officers.models import Assignment, Officer
from backend.registry.build import build_registry
from backend.registry.records import Registry
from backend.registry.service import write_registry
from backend.tps.models import Tps
from bench.ids import PHASES, SITUATIONS, uuid7
from schemas.enums import CredentialKind, Role
from tests.conftest import PG_ADMIN_URL, TEST_SECRET, pg_available


def bench_settings(url: str) -> Settings:
    """Settings for preparing a database that `posko serve` nodes (tests/scale node_env) serve.

    The same secret as the nodes': the audit chain is keyed from it, and a node refuses to start
    on a chain keyed by another secret.
    """
    return Settings(database_url=url, secret_key=TEST_SECRET)


@dataclass
class Device:
    """A phone: its bearer token, HMAC key id and secret, and the TPS it reports on."""

    officer_id: int
    token: str
    key_id: int
    secret: str
    tps: list[str]


@dataclass
class Prepared:
    """A starting database and what clients need to talk to a server on it."""

    url: str  # SQLite: the template file's URL; PostgreSQL: the template database's URL
    devices: list[Device]
    viewer_token: str
    history: int  # ping rows already stored
    tps_codes: list[str]
    seconds: float  # time spent preparing

    def devices_json(self) -> list[dict[str, object]]:
        """Devices as JSON for the load processes."""
        return [asdict(d) for d in self.devices]


def _credentials(
    url: str, n_devices: int, per_kabupaten: bool = False
) -> tuple[list[Device], str, list[str]]:
    """Device tokens for n officers (or one per kabupaten, reporting on all its TPS)."""
    engine = make_engine(bench_settings(url))
    now = datetime.now(UTC)
    devices: list[Device] = []
    with Session(engine) as s:
        all_codes = list(s.exec(select(Tps.code).order_by(col(Tps.id))))
        codes_by_officer: dict[int, list[str]] = {}
        if per_kabupaten:
            # A device may report on TPS of its own kabupaten (or assigned to it) only.
            first: dict[str, Officer] = {}
            for o in s.exec(select(Officer).order_by(col(Officer.nrp))):
                first.setdefault(o.kabupaten_code, o)
            officers = list(first.values())
            by_kab: dict[str, list[str]] = {}
            for code, kab in s.exec(select(Tps.code, Tps.kabupaten_code)):
                by_kab.setdefault(kab, []).append(code)
            for o in officers:
                assert o.id is not None
                codes_by_officer[o.id] = by_kab.get(o.kabupaten_code, [])
        else:
            officers = list(s.exec(select(Officer).order_by(col(Officer.nrp)).limit(n_devices)))
            for oid, code in s.exec(
                select(Assignment.officer_id, Tps.code).join(
                    Tps, col(Assignment.tps_id) == col(Tps.id)
                )
            ):
                codes_by_officer.setdefault(oid, []).append(code)
        for o in officers:
            assert o.id is not None
            cred, token = issue(
                session=s,
                kind=CredentialKind.DEVICE,
                name="bench phone",
                officer_id=o.id,
                area_code=o.kabupaten_code,
                now=now,
            )
            assert cred.id is not None
            secret = hmac_secret(TEST_SECRET, cred.id, cred.token_hash)
            devices.append(
                Device(o.id, token, cred.id, secret, codes_by_officer.get(o.id) or all_codes[:5])
            )
        _, viewer = issue(
            session=s, kind=CredentialKind.PERSON, name="bench wall", role=Role.VIEWER, now=now
        )
    engine.dispose()
    return devices, viewer, all_codes


def _history_rows(
    n: int, officers: list[int], tps_ids: list[int], sqlite: bool
) -> Iterator[tuple[object, ...]]:
    """An election day of pings: 07:00 WIB until an hour ago, time-ordered event ids."""
    rng = random.Random(7)
    end = datetime.now(UTC) - timedelta(hours=1)
    start = end - timedelta(hours=10)
    span_ms = (end - start).total_seconds() * 1000
    start_ms = start.timestamp() * 1000
    for i in range(n):
        ms = int(start_ms + span_ms * i / max(n, 1))
        at = datetime.fromtimestamp(ms / 1000, UTC)
        eid = uuid7(ms)
        yield (
            uuid.UUID(eid).hex if sqlite else eid,
            rng.choice(officers),
            rng.choice(tps_ids),
            rng.choice(PHASES),
            rng.choice(SITUATIONS),
            at.isoformat(" ", "microseconds")[:26] if sqlite else at,
            (at + timedelta(milliseconds=300)).isoformat(" ", "microseconds")[:26]
            if sqlite
            else at + timedelta(milliseconds=300),
            None,
            None,
            None,
            0,
            "ws",
        )


COLS = (
    "event_id, officer_id, tps_id, phase, situation, device_time, received_at, lat, lon, "
    "note, flags, source"
)


def prepare_sqlite(
    path: Path,
    *,
    history: int,
    n_devices: int = 200,
    registry: Registry | None = None,
    per_kabupaten: bool = False,
) -> Prepared:
    """Build the starting SQLite file: registry, devices, `history` pings already stored."""
    t0 = time.perf_counter()
    url = f"sqlite:///{path}"
    engine = make_engine(bench_settings(url))
    upgrade(engine)
    with Session(engine) as s:
        write_registry(session=s, registry=registry or build_registry(seed=2024))
    engine.dispose()
    devices, viewer, codes = _credentials(url, n_devices, per_kabupaten)
    conn = sqlite3.connect(path, isolation_level=None)
    officers = [r[0] for r in conn.execute("SELECT id FROM officer")]
    tps_ids = [r[0] for r in conn.execute("SELECT id FROM tps")]
    rows = _history_rows(history, officers, tps_ids, sqlite=True)
    conn.execute("BEGIN")
    while chunk := [r for _, r in zip(range(50_000), rows, strict=False)]:
        conn.executemany(f"INSERT INTO ping ({COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", chunk)
    # The per-TPS lookup is up to date, as the writer keeps it during the day.
    conn.execute(
        "INSERT INTO ping_by_tps (tps_id, device_time, ping_id) "
        "SELECT tps_id, device_time, id FROM ping ORDER BY tps_id, device_time, id"
    )
    top = conn.execute("SELECT coalesce(max(id), 0) FROM ping").fetchone()[0]
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (PING_INDEX_KEY, str(top)),
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return Prepared(url, devices, viewer, history, codes, time.perf_counter() - t0)


def copy_sqlite(prepared: Prepared, dest: Path) -> str:
    """A fresh copy of the starting file; returns its URL."""
    src = Path(prepared.url.split("///", 1)[1])
    for suffix in ("-wal", "-shm"):
        Path(str(dest) + suffix).unlink(missing_ok=True)
    shutil.copyfile(src, dest)
    return f"sqlite:///{dest}"


def count_pings(url: str) -> int:
    """Rows in the ping table (a read beside the running server)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=30)
        try:
            return int(conn.execute("SELECT count(*) FROM ping").fetchone()[0])
        finally:
            conn.close()
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM ping")).scalar_one())
    finally:
        eng.dispose()


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_admin(sql: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(sql))
    finally:
        admin.dispose()


def ensure_pg_database(url: str) -> str:
    """Create the PostgreSQL database of `url` when missing (a fresh machine); return `url`."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            q = text("SELECT count(*) FROM pg_database WHERE datname = :n")
            if not c.execute(q, {"n": name}).scalar_one():
                c.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return url


@contextmanager
def prepare_pg(*, history: int, n_devices: int = 200) -> Iterator[Prepared | None]:
    """The starting PostgreSQL database, dropped afterwards; None if there is no server."""
    if not pg_available():
        yield None
        return
    t0 = time.perf_counter()
    name = f"posko_bench_tpl_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        url = _pg_url(name)
        engine = make_engine(bench_settings(url))
        upgrade(engine)
        with Session(engine) as s:
            write_registry(session=s, registry=build_registry(seed=2024))
        engine.dispose()
        devices, viewer, codes = _credentials(url, n_devices)
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            officers = [r[0] for r in conn.execute("SELECT id FROM officer")]
            tps_ids = [r[0] for r in conn.execute("SELECT id FROM tps")]
            with conn.cursor() as cur, cur.copy(f"COPY ping ({COLS}) FROM STDIN") as copy:
                for row in _history_rows(history, officers, tps_ids, sqlite=False):
                    copy.write_row(row)
            conn.execute(
                "INSERT INTO ping_by_tps (tps_id, device_time, ping_id) "
                "SELECT tps_id, device_time, id FROM ping"
            )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
        yield Prepared(url, devices, viewer, history, codes, time.perf_counter() - t0)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def copy_pg(prepared: Prepared) -> Iterator[str]:
    """A fresh copy of the starting PostgreSQL database, dropped afterwards."""
    tpl = prepared.url.rsplit("/", 1)[1]
    name = f"posko_bench_{uuid.uuid4().hex[:8]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_CACHE: dict[int, Prepared] = {}


def shared_sqlite(history: int) -> Prepared:
    """The starting SQLite file for this process's suites, built once (removed at exit)."""
    if history not in _CACHE:
        import atexit
        import tempfile

        work = Path(tempfile.mkdtemp(prefix="posko-bench-start-"))
        atexit.register(shutil.rmtree, work, True)
        _CACHE[history] = prepare_sqlite(work / "start.db", history=history)
    return _CACHE[history]
