"""Drive the real intake path and the alert sweep at chosen clock times, without a server."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.alerts.models import Alert
from backend.alerts.service import SweepChanges, sweep
from backend.config import Settings
from backend.db import RawDb
from backend.incidents.service import IncidentRules
from backend.intake.service import BatchOutcome, store_batch
from backend.intake.validate import Checker, Item
from backend.tps.index import RegistryIndex

WIB_OFFSET = "+07:00"


def wib(day: int, hhmm: str) -> datetime:
    """A moment in WIB, e.g. wib(27, "07:30"), as aware UTC."""
    return datetime.fromisoformat(f"2024-11-{day:02d}T{hhmm}:00{WIB_OFFSET}").astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert as scenario tests compare it."""

    kind: str
    subject: str
    raised_at: datetime
    cleared_at: datetime | None
    parent: str | None  # subject of the outage it is held under


class Field:
    """The field and the post, at clock times the test chooses."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.index = RegistryIndex()
        with Session(engine) as s:
            self.index.load(s)
        self.checker = Checker(settings, self.index)
        self.rules = IncidentRules()
        self.db = RawDb(engine)
        self.officer_by_nrp = {o.nrp: o.id for o in self.index.officers.values()}

    def close(self) -> None:
        """Release the write connection."""
        self.db.close()

    def send(self, events: list[tuple[str, dict[str, Any]]], *, at: datetime) -> BatchOutcome:
        """Store (NRP, event) pairs received at `at`, in one group commit like the writer's."""
        items: list[Item] = [
            self.checker.check(
                e, officer_id=self.officer_by_nrp[nrp], source="ws", remote=None, now=at
            )
            for nrp, e in events
        ]
        self.db.begin()
        try:
            outcome = store_batch(self.db, items, rules=self.rules)
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        assert outcome.rejected == 0, outcome.acks
        return outcome

    def sweep(
        self, at: datetime, *, since: datetime | None = None, stalled: bool = False
    ) -> SweepChanges:
        """One sweeper tick at clock time `at`."""
        return sweep(
            engine=self.engine,
            settings=self.settings,
            now=at,
            listening_since=since or wib(27, "06:00"),
            intake_stalled=stalled,
        )

    def alerts(self) -> set[AlertRow]:
        """Every alert ever raised, as comparable rows."""
        with Session(self.engine) as s:
            rows = list(s.exec(select(Alert).order_by(col(Alert.id))))
            by_id = {a.id: a for a in rows}
            return {
                AlertRow(
                    kind=a.kind.value,
                    subject=a.subject,
                    raised_at=a.raised_at,
                    cleared_at=a.cleared_at,
                    parent=by_id[a.parent_id].subject if a.parent_id else None,
                )
                for a in rows
            }
