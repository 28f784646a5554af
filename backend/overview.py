"""Rows per area that read across domains: TPS counts, open incidents and open TPS alerts.

The state domains never read alerts (tests/test_layers.py), yet a national screen must put the
areas with unseen or late TPS first; this module sits above them and is the one source of the
rows of `GET /api/v1/rollup` and of the /nasional page, so both always agree on the numbers and
on the one "problems first" order (`problem_key`).
"""

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.alerts.models import Alert
from backend.areas import kabupaten_in
from backend.deps import ReaderDep, RuntimeDep, SessionDep, scoped_area
from backend.incidents.models import Incident
from backend.tps.rollup import LEVEL_LENGTH, add_rows, count_by_area, region_names
from schemas.enums import OPEN_STATUSES
from schemas.errors import problem_responses
from schemas.ops import AlertKind, AlertSubjectKind
from schemas.rollup import AreaCount, Rollup, RollupLevel

router = APIRouter(prefix="/api/v1", tags=["state"], responses=problem_responses(401, 403))


def _code_at(level: str, kabupaten: str, kecamatan: str | None) -> str | None:
    return {"province": kabupaten[:2], "kabupaten": kabupaten}.get(level, kecamatan)


def open_incidents_by_severity(
    *, session: Session, level: str, area_code: str | None
) -> dict[str, dict[int, int]]:
    """Open incidents per area code at `level` inside `area_code`, by severity (1-4)."""
    q = (
        select(
            col(Incident.kabupaten_code),
            col(Incident.kecamatan_code),
            col(Incident.severity),
            func.count(),
        )
        .where(col(Incident.status).in_(OPEN_STATUSES))
        .group_by(
            col(Incident.kabupaten_code), col(Incident.kecamatan_code), col(Incident.severity)
        )
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(Incident.kabupaten_code), area_code))
    out: dict[str, dict[int, int]] = {}
    for kabupaten, kecamatan, severity, n in session.exec(q):
        code = _code_at(level, kabupaten, kecamatan)
        if code:
            by_sev = out.setdefault(code, {})
            by_sev[int(severity)] = by_sev.get(int(severity), 0) + int(n)
    return out


def open_alerts_by_area(
    *, session: Session, level: str, area_code: str | None, kinds: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Open alerts of `kinds` about TPS, per area code at `level` inside `area_code`, by kind.

    The sweeper already judges every TPS against its grace and the calendar (not seen, behind
    schedule) and keeps one open alert per TPS; counting those open alerts is cheap at any
    scale, where judging 435k TPS again per screen refresh would not be.
    """
    q = (
        select(col(Alert.kabupaten_code), col(Alert.kecamatan_code), col(Alert.kind), func.count())
        .where(
            col(Alert.cleared_at).is_(None),
            col(Alert.kind).in_(list(kinds)),
            col(Alert.subject_kind) == AlertSubjectKind.TPS,
        )
        .group_by(col(Alert.kabupaten_code), col(Alert.kecamatan_code), col(Alert.kind))
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(Alert.kabupaten_code), area_code))
    out: dict[str, dict[str, int]] = {}
    for kabupaten, kecamatan, kind, n in session.exec(q):
        code = _code_at(level, kabupaten or "", kecamatan) if kabupaten else None
        if code:
            by_kind = out.setdefault(code, {})
            key = kind.value if hasattr(kind, "value") else str(kind)
            by_kind[key] = by_kind.get(key, 0) + int(n)
    return out


ROW_ALERTS = (AlertKind.TPS_NOT_VISITED.value, AlertKind.BEHIND_SCHEDULE.value)


def problem_key(row: AreaCount) -> tuple[int, int, int, int, int, int, int, str]:
    """Sort key that puts the areas needing the command post first.

    Order, by absolute numbers: TPS in gangguan (a disturbance reported now: someone must
    respond), TPS not seen (nobody knows their state, and sending someone is what the post can
    do), severe open incidents, TPS behind schedule, all open incidents, waspada, ditunda (a
    postponement follows a disturbance already counted, and is being handled), then the code
    so the list does not shuffle. Absolute rather than per-TPS shares: forty troubled TPS in a
    big province need more people than three in a small one, and a share would hide them.
    """
    return (
        -row.gangguan,
        -row.not_seen,
        -row.severe_incidents,
        -row.behind,
        -row.open_incidents,
        -row.waspada,
        -row.ditunda,
        row.code,
    )


def area_rows(*, session: Session, level: str, area_code: str | None) -> list[AreaCount]:
    """One row per area at `level` inside `area_code`, problems first; never reads TPS rows."""
    counts = count_by_area(session=session, level=level, area_code=area_code)
    incidents = open_incidents_by_severity(session=session, level=level, area_code=area_code)
    alerts = open_alerts_by_area(
        session=session, level=level, area_code=area_code, kinds=ROW_ALERTS
    )
    codes = sorted(counts.keys() | incidents.keys() | alerts.keys())
    names = region_names(session=session, codes=codes)
    rows = [
        AreaCount(
            code=code,
            name=names.get(code, code),
            total=sum(counts.get(code, ({}, {}))[0].values()),
            phases=counts.get(code, ({}, {}))[0],
            situations=counts.get(code, ({}, {}))[1],
            not_seen=alerts.get(code, {}).get(AlertKind.TPS_NOT_VISITED.value, 0),
            behind=alerts.get(code, {}).get(AlertKind.BEHIND_SCHEDULE.value, 0),
            incidents=incidents.get(code, {}),
        )
        for code in codes
    ]
    return sorted(rows, key=problem_key)


@router.get("/rollup", response_model=Rollup)
def read_rollup(
    principal: ReaderDep,
    session: SessionDep,
    rt: RuntimeDep,
    level: RollupLevel = "province",
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
) -> Rollup:
    """Counts per province, kabupaten or kecamatan inside your area, problems first.

    A national wall starts at `level=province`, drills to `level=kabupaten&area=16`, then to
    `level=kecamatan&area=16.08` or the TPS of `/api/v1/tps?area=16.08`: it never needs 435k
    markers. Read from tps_rollup (milliseconds at national scale, see bench/national.md).
    """
    scope = scoped_area(principal.area_code, area)
    depth = LEVEL_LENGTH[level]
    if scope is not None and len(scope) > depth:
        own = principal.area_code is not None and len(principal.area_code) > depth
        raise HTTPException(
            status.HTTP_403_FORBIDDEN if own else status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail={
                "field": "level",
                "reason": f"{level} is above {'your area' if own else scope}",
            },
        )
    rows = area_rows(session=session, level=level, area_code=scope)
    total = add_rows(scope or "", "", rows)
    return Rollup(
        level=level,
        area=scope,
        taken_at=rt.clock.now(),
        total=total.total,
        phases=total.phases,
        situations=total.situations,
        data=rows,
    )
