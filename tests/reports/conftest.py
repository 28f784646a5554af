"""Report tests reuse the operations fixtures, and seed one election morning through intake."""

from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.incidents.lifecycle import Action
from backend.incidents.models import Incident
from backend.incidents.service import transition
from tests.custody.builders import custody
from tests.factories import MiniRegistry
from tests.helpers import incident, ping
from tests.ops.conftest import field, ops_server, settings, tokens
from tests.ops.harness import Field, wib

__all__ = ["field", "morning", "ops_server", "settings", "tokens"]


@dataclass(frozen=True)
class Morning:
    """What was sent on the seeded morning, so tests can check the report's counts against it."""

    mini: MiniRegistry
    kericuhan_id: int
    politik_uang_id: int
    logistik_id: int


def seed_morning(field: Field, mini: MiniRegistry) -> Morning:
    """Voting day 06:30-07:50 WIB through the real intake, plus one incident handled at 07:40.

    Officer i guards TPS 3i..3i+2; officers 0, 1 are the Polres's, 2, 3 Polsek Belitang's;
    TPS 0-5 lie in Martapura (16.08.01), TPS 6-11 in Belitang (16.08.03).
    """
    tps, nrp = mini.tps_codes, mini.officer_nrps
    # Officer 3 reports once at 06:30 (TPS 9 voting early, a logistics problem), then silence.
    field.send(
        [
            (nrp[3], ping(tps[9], "pemungutan", at=wib(27, "06:30"))),
            (nrp[3], incident(tps[9], "logistik", 1, at=wib(27, "06:30"))),
        ],
        at=wib(27, "06:30"),
    )
    at = wib(27, "07:20")
    field.send(
        [
            (nrp[1], incident(tps[3], "kericuhan", 3, at=at)),
            (nrp[2], incident(tps[6], "politik_uang", 2, at=at)),
        ],
        at=at,
    )
    at = wib(27, "07:35")
    field.send(
        [(nrp[i // 3], ping(tps[i], "pemungutan", at=at)) for i in range(3, 9)],
        at=at,
    )
    at = wib(27, "07:50")
    field.send(
        [
            # The boxes: TPS 0 sealed, TPS 1 sealed and on the road, TPS 2 handed over.
            (nrp[0], ping(tps[0], "selesai_hitung", at=at)),
            (nrp[0], custody(tps[0], "segel", at=at)),
            (nrp[0], custody(tps[1], "segel", at=at)),
            (nrp[0], custody(tps[1], "berangkat", at=at, minutes=1)),
            *[
                (nrp[0], custody(tps[2], step, at=at, minutes=n))
                for n, step in enumerate(("segel", "berangkat", "tiba", "serah_terima"))
            ],
        ],
        at=at,
    )
    with Session(field.engine) as s:
        ids = {i.category.value: i.id for i in s.exec(select(Incident).order_by(col(Incident.id)))}
        pu = ids["politik_uang"]
        assert pu is not None
        for n, (action, kw) in enumerate(
            [
                (Action.ACCEPT, {}),
                (Action.DISPATCH, {"unit_code": "polsek-belitang"}),
                (Action.RESOLVE, {}),
            ]
        ):
            transition(
                session=s,
                incident_id=pu,
                action=action,
                expected_version=n,
                actor="test",
                now=wib(27, "07:40"),
                **kw,  # type: ignore[arg-type]
            )
    return Morning(mini, ids["kericuhan"] or 0, pu, ids["logistik"] or 0)


@pytest.fixture
def morning(engine: Engine, field: Field, mini: MiniRegistry) -> Morning:
    """The seeded morning."""
    return seed_morning(field, mini)
