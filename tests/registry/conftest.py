"""Fixtures for registry tests: reference data location, built registries, fresh databases."""

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from backend.config import DEFAULT_REGION_DATA, Settings
from backend.db import make_engine
from backend.intake.models import Ping
from backend.migrate import ensure_schema
from backend.officers.models import Assignment
from backend.registry.build import Registry, build_registry
from backend.tps.models import Tps
from schemas.enums import Phase, Situation
from tests.conftest import PG_ADMIN_URL, TEST_DB, fresh_pg_database, pg_available

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
