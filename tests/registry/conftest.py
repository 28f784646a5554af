"""Fixtures for registry tests: reference data location, built registries, fresh databases."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from backend.config import DEFAULT_REGION_DATA, Settings
from backend.db import make_engine
from backend.intake.models import Ping
from backend.migrate import ensure_schema
from backend.officers.models import Assignment, Officer
from backend.registry.build import build_registry
from backend.registry.records import Registry
from backend.tps.models import Tps
from schemas.enums import Phase, Situation
from tests.conftest import PG_ADMIN_URL, TEST_DB, TEST_SECRET, fresh_pg_database, pg_available
from tests.factories import NOW
from tests.helpers import incident, ping
from tests.ops.harness import Field

DATA_DIR = DEFAULT_REGION_DATA  # shipped in the repository: tests never depend on the environment
DESA_GEOJSON = DATA_DIR / "oku_timur_desa.geojson"


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The default registry (seed 2024, the shipped reference data), built once."""
    return build_registry(seed=2024, region_data_dir=DATA_DIR)


@pytest.fixture
def make_db(tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """Create migrated databases of this run's kind; disposed (and dropped) afterwards."""
    engines: list[Engine] = []
    with ExitStack() as stack:

        def make(name: str = "posko.db") -> Engine:
            if TEST_DB == "postgres":
                if not pg_available():
                    pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
                url = stack.enter_context(fresh_pg_database())
            else:
                url = f"sqlite:///{tmp_path / name}"
            engine = make_engine(Settings(database_url=url))
            ensure_schema(engine)
            engines.append(engine)
            return engine

        yield make
        for engine in engines:
            engine.dispose()


@pytest.fixture
def engine(make_db: Callable[[str], Engine]) -> Engine:
    """A fresh, empty, migrated SQLite database."""
    return make_db("posko.db")


def add_ping(engine: Engine, tps_code: str) -> None:
    """Store one status ping about a TPS, from an officer assigned to it."""
    with Session(engine) as session:
        tps = session.exec(select(Tps).where(Tps.code == tps_code)).one()
        officer_id = session.exec(
            select(Assignment.officer_id).where(Assignment.tps_id == tps.id)
        ).first()
        assert officer_id is not None
        now = datetime.now(UTC)
        session.add(
            Ping(
                event_id=uuid.uuid4(),
                officer_id=officer_id,
                tps_id=tps.id,
                phase=Phase.PERSIAPAN,
                situation=Situation.AMAN,
                device_time=now,
                received_at=now,
                source="ws",
            )
        )
        session.commit()


def foreign_key_violations(engine: Engine) -> list[tuple[object, ...]]:
    """Rows that break a foreign key, as SQLite reports them."""
    if engine.dialect.name != "sqlite":
        return []  # PostgreSQL enforces every foreign key at write time: nothing to find
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql("PRAGMA foreign_key_check").all()]


def hold_election_day(engine: Engine) -> dict[str, int]:
    """Run a few field events through the real intake path (audited batches); return row counts.

    Three officers report their TPS in one batch and one of them an incident in a second: the
    audit chain then holds intake entries that vouch for the transitions and the report.
    """
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=TEST_SECRET,
        max_age_s=10 * 365 * 24 * 3600.0,
        max_future_s=10 * 365 * 24 * 3600.0,
        clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
        late_after_s=10 * 365 * 24 * 3600.0,
    )
    with Session(engine) as session:
        pairs = session.exec(
            select(Officer.nrp, Tps.code)
            .join(Assignment, col(Assignment.officer_id) == col(Officer.id))
            .join(Tps, col(Tps.id) == col(Assignment.tps_id))
            .order_by(col(Tps.code))
            .limit(3)
        ).all()
    field = Field(engine, settings)
    try:
        field.send([(nrp, ping(code, at=NOW)) for nrp, code in pairs], at=NOW)
        nrp, code = pairs[0]
        field.send([(nrp, incident(code, at=NOW))], at=NOW)
    finally:
        field.close()
    tables = ("ping", "incident_report", "incident", "incident_step", "tps_transition")
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    return {t: n for t, n in counts.items() if n}
