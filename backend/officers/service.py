"""Read officers with their units and assignments."""

from collections import defaultdict

from sqlmodel import Session, col, select

from backend.areas import kabupaten_in
from backend.officers.models import Assignment, Officer, Unit
from backend.tps.models import Tps
from schemas.registry import OfficerPublic


def get_by_nrp(*, session: Session, nrp: str) -> Officer | None:
    """One officer by NRP."""
    return session.exec(select(Officer).where(col(Officer.nrp) == nrp)).first()


def get_with_area(*, session: Session, nrp: str) -> tuple[Officer, str] | None:
    """One officer by NRP, with the area of its unit (the area its device tokens belong to)."""
    row = session.exec(
        select(Officer, col(Unit.kabupaten_code))
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(Officer.nrp) == nrp)
    ).first()
    return None if row is None else (row[0], row[1])


def list_public(*, session: Session, area_code: str | None = None) -> list[OfficerPublic]:
    """Officers of an area (None = all), ordered by NRP."""
    q = select(Officer, Unit).join(Unit, col(Unit.id) == col(Officer.unit_id))
    if area_code is not None:
        q = q.where(kabupaten_in(col(Officer.kabupaten_code), area_code))
    rows = session.exec(q.order_by(col(Officer.nrp))).all()
    tps: dict[int, list[str]] = defaultdict(list)
    aq = (
        select(Assignment.officer_id, Tps.code)
        .join(Tps, col(Tps.id) == col(Assignment.tps_id))
        .order_by(col(Tps.code))
    )
    for oid, code in session.exec(aq):
        tps[oid].append(code)
    return [
        OfficerPublic(
            nrp=o.nrp,
            name=o.name,
            rank=o.rank,
            unit=u.name,
            unit_code=u.code,
            tps=tps.get(o.id or -1, []),
            last_seen_at=o.last_seen_at,
            last_received_at=o.last_received_at,
            clock_offset_s=o.clock_offset_s,
        )
        for o, u in rows
    ]
