"""Each alert's changing columns after every change, for replay (see backend/replay)."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlmodel import Session

from backend.db import UtcDateTime

_CHUNK = 500  # ids per statement (a sweep may raise hundreds of thousands at once)
_COPY = text(
    "INSERT INTO alert_version (alert_id, at, version, severity, detail, parent_id, "
    "acknowledged_at, acknowledged_by, silenced_at, silenced_by, silenced_until) "
    "SELECT id, :at, version, severity, detail, parent_id, acknowledged_at, acknowledged_by, "
    "silenced_at, silenced_by, silenced_until FROM alert WHERE id IN :ids"
).bindparams(bindparam("at", type_=UtcDateTime()), bindparam("ids", expanding=True))


def record_versions(session: Session, *, ids: Iterable[int], at: datetime) -> None:
    """Copy the alerts' rows as they are now in this transaction into `alert_version`."""
    unique = sorted(set(ids))
    if not unique:
        return
    session.flush()
    for i in range(0, len(unique), _CHUNK):
        session.execute(_COPY, {"at": at, "ids": unique[i : i + _CHUNK]})
