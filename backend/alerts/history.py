"""Each alert's changing columns after every change, for replay (see backend/replay)."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, text
from sqlmodel import Session

from backend.alerts.models import Alert, AlertVersion
from backend.db import UtcDateTime

# The columns a version keeps, as named in both tables.
COLUMNS = (
    "version",
    "severity",
    "detail",
    "parent_id",
    "acknowledged_at",
    "acknowledged_by",
    "silenced_at",
    "silenced_by",
    "silenced_until",
)
_ALERT: Table = Alert.__table__  # type: ignore[attr-defined]
_VERSION: Table = AlertVersion.__table__  # type: ignore[attr-defined]
RETURNED = tuple(_ALERT.c[c] for c in ("id", *COLUMNS))  # for UPDATE ... RETURNING
_COPY = text(
    "INSERT INTO alert_version (alert_id, at, version, severity, detail, parent_id, "
    "acknowledged_at, acknowledged_by, silenced_at, silenced_by, silenced_until) "
    "SELECT id, :at, version, severity, detail, parent_id, acknowledged_at, acknowledged_by, "
    "silenced_at, silenced_by, silenced_until FROM alert WHERE id = :id"
).bindparams(bindparam("at", type_=UtcDateTime()))


def record_versions(session: Session, *, ids: Iterable[int], at: datetime) -> None:
    """Copy a few alerts' rows as they are now in this transaction into `alert_version`."""
    session.flush()
    for i in sorted(set(ids)):
        # One primary-key lookup each: an `IN (hundreds of ids)` on a young alert table was
        # planned as a sequential scan (~390 ms a statement nationally); sweeps use `record`.
        session.execute(_COPY, {"at": at, "id": i})


def record(session: Session, *, rows: Iterable[Mapping[str, Any]], at: datetime) -> None:
    """Write versions from rows the caller just wrote (`id` and `COLUMNS`), reading nothing."""
    values = [
        {"alert_id": r["id"], "at": at, **{c: r[c] for c in COLUMNS}}
        for r in sorted(rows, key=lambda r: r["id"])
    ]
    if values:
        session.execute(insert(_VERSION), values)
