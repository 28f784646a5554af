"""The large export's data: N position fixes over the mini registry's officers (test_streaming*)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert
from sqlmodel import Session

from backend.positions.models import OfficerPosition
from tests.factories import MiniRegistry

N = 200_000
T0 = datetime(2024, 11, 27, 0, 0, tzinfo=UTC)


def fill_positions(engine: Engine, mini: MiniRegistry) -> None:
    """N position fixes, spread over the mini registry's four officers."""
    per = N // len(mini.officer_ids)
    with Session(engine) as s:
        for officer in mini.officer_ids:
            for start in range(0, per, 20_000):
                s.execute(
                    insert(OfficerPosition),
                    [
                        {
                            "officer_id": officer,
                            "device_time": T0 + timedelta(seconds=i),
                            "lat": -4.3 + i * 1e-6,
                            "lon": 104.3,
                            "received_at": T0 + timedelta(seconds=i, milliseconds=900),
                            "accuracy_m": 5.0,
                            "battery": 50.0,
                            "source": "traccar",
                        }
                        for i in range(start, min(start + 20_000, per))
                    ],
                )
        s.commit()
