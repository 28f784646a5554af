"""The history replay reads: each incident's changing columns and reports after every change.

Incidents are updated in place (status, severity, assignee, a merge moves reports away), so the
rows alone cannot say what an incident looked like at 10:00. Every path that changes one calls
`record_versions` in the same transaction; backend/replay reads the version in force at a moment.
Plain DBAPI SQL, so intake's raw connection and an ORM session's share one function.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session

from backend.db import sqlite_time

_CHUNK = 500  # ids per IN (...): far under every driver's parameter limit


def record_versions(cur: Any, *, is_sqlite: bool, ids: Sequence[int], at: datetime) -> None:
    """Append the current row of each incident in `ids` to `incident_version`, stamped `at`."""
    mark = "?" if is_sqlite else "%s"
    stamp = sqlite_time(at) if is_sqlite else at
    unique = sorted(set(ids))
    for i in range(0, len(unique), _CHUNK):
        chunk = unique[i : i + _CHUNK]
        marks = ",".join([mark] * len(chunk))
        cur.execute(
            "SELECT incident_id, id FROM incident_report "
            f"WHERE incident_id IN ({marks}) ORDER BY id",
            chunk,
        )
        reports: dict[int, list[int]] = {}
        for incident_id, report_id in cur.fetchall():
            reports.setdefault(incident_id, []).append(report_id)
        cur.execute(
            "SELECT id, version, status, severity, opened_at, updated_at, assignee, "
            f"merged_into_id, is_sos FROM incident WHERE id IN ({marks})",
            chunk,
        )
        rows = [
            (r[0], stamp, *r[1:], orjson.dumps(reports.get(r[0], [])).decode())
            for r in cur.fetchall()
        ]
        if rows:
            cur.executemany(
                "INSERT INTO incident_version (incident_id, at, version, status, severity, "
                "opened_at, updated_at, assignee, merged_into_id, is_sos, report_ids) VALUES "
                f"({','.join([mark] * 11)})",
                rows,
            )


def record_versions_in(session: Session, *, ids: Sequence[int], at: datetime) -> None:
    """`record_versions` inside an ORM session's transaction (flushes it first)."""
    session.flush()
    conn = session.connection()
    cur = conn.connection.cursor()
    try:
        record_versions(cur, is_sqlite=conn.dialect.name == "sqlite", ids=ids, at=at)
    finally:
        cur.close()
