"""Registries for plan tests, exercise-mode settings, credentials, and a server on a fixed port."""

import random
from datetime import datetime

import pytest
from sqlalchemy import Engine

from backend.config import WIB, Settings
from backend.simulate.plan import OfficerInfo, TpsInfo
from backend.simulate.provision import Credentials, provision
from schemas.enums import RiskRating
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry

EXERCISE_START = datetime(2024, 11, 27, 5, 20, tzinfo=WIB)
EXERCISE_SPEED = 2400.0  # 14 real seconds = 05:20 to 14:40 on election day


def synthetic_registry(
    n_tps: int, n_officers: int, seed: int = 0
) -> tuple[list[TpsInfo], list[OfficerInfo]]:
    """TPS in desa of three on a serpentine grid, a few risky; officers on runs of neighbours."""
    rng = random.Random(seed)
    tps = []
    for i in range(n_tps):
        desa = i // 3
        column, row = divmod(desa, 20)
        if column % 2:
            row = 19 - row  # serpentine: the next desa is always next door
        risk = (
            RiskRating.SANGAT_RAWAN
            if i % 150 == 0
            else RiskRating.RAWAN
            if i % 20 == 1
            else RiskRating.KURANG_RAWAN
        )
        tps.append(
            TpsInfo(
                code=f"16.08.{desa // 30 + 1:02d}.{2000 + desa:04d}-{i % 3 + 1:03d}",
                risk=risk,
                lat=-4.0 - row * 0.03 + rng.uniform(-0.002, 0.002),
                lon=104.3 + column * 0.03 + rng.uniform(-0.002, 0.002),
                kecamatan_code=f"16.08.{desa // 30 + 1:02d}",
            )
        )
    officers: list[OfficerInfo] = []
    per = n_tps / n_officers
    for j in range(n_officers):
        codes = [t.code for t in tps[int(j * per) : int((j + 1) * per)]]
        if j % 10 == 9:  # a second officer at the previous officer's first TPS
            codes.append(officers[-1].tps[0])
        officers.append(OfficerInfo(f"85{j:06d}", tuple(codes)))
    return tps, officers


@pytest.fixture
def exercise_settings(settings: Settings) -> Settings:
    """The test settings on an exercise clock, with the real time rules for field events."""
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    return settings.model_copy(
        update={
            "clock_start": EXERCISE_START,
            "clock_speed": EXERCISE_SPEED,
            "late_after_s": default.late_after_s,
            "clock_skew_tolerance_s": default.clock_skew_tolerance_s,
            "max_age_s": default.max_age_s,
            "max_future_s": default.max_future_s,
        }
    )


@pytest.fixture
def creds(engine: Engine, mini: MiniRegistry, exercise_settings: Settings) -> Credentials:
    """A device token per officer of the mini registry, and a viewer token."""
    return provision(engine=engine, settings=exercise_settings, actor="test")


def start_server_on(settings: Settings, port: int) -> LiveServer:
    """Start the app on `port` (a restart on the same address), quietly."""
    return start_server(settings, port, log_level="critical")


def kill(server: LiveServer) -> None:
    """Stop a server the hard way: sockets dropped, queued events never committed or acked."""
    server.server.force_exit = True
    server.server.should_exit = True
    server.thread.join(timeout=15)
    # A process that dies leaves nothing behind; this in-process server leaves its writer's
    # connection open (no lifespan shutdown ran), which PostgreSQL's driver warns about.
    runtime = getattr(server.server.config.app.state, "runtime", None)
    db = getattr(getattr(runtime, "writer", None), "_db", None)
    if db is not None:
        db.close()
