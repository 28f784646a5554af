"""What an officer's phone reads: who it belongs to, its TPS, and TPS of its unit's area.

Cheap on purpose: 298 phones ask for their home every minute or so. Each answer is two
queries (the officer with its unit, then the TPS with their state, names and last reporter in
one join), whatever the number of TPS.
"""

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from backend.officers.models import Assignment, Officer, Unit, UnitKecamatan
from backend.regions.models import Region
from backend.tps.models import Tps, TpsState
from schemas.enums import Phase
from schemas.field import TpsCard

SEARCH_WORDS = 5  # words of a search that count; the rest are ignored
_NUMBER_DIGITS = 3  # a TPS number has at most three digits; longer digits are part of a code


def officer_of(*, session: Session, officer_id: int) -> tuple[Officer, Unit, bool] | None:
    """The officer, its unit, and whether the unit lists the kecamatan it covers."""
    covers = exists().where(col(UnitKecamatan.unit_id) == col(Unit.id))
    row = session.execute(
        sa_select(Officer, Unit, covers)
        .join(Unit, col(Unit.id) == col(Officer.unit_id))
        .where(col(Officer.id) == officer_id)
    ).first()
    return None if row is None else (row[0], row[1], bool(row[2]))


def _cards(officer_id: int) -> tuple[Any, Any, Any]:
    """TPS joined with their state, desa and kecamatan names, last reporter and my assignment.

    Returns the query and the desa and assignment aliases (to search and order by).
    """
    desa = aliased(Region)
    kec = aliased(Region)
    last = aliased(Officer)
    mine = aliased(Assignment)
    query = (
        sa_select(
            col(Tps.code),
            col(Tps.number),
            col(desa.name),
            col(kec.name),
            col(Tps.risk),
            col(Tps.lat),
            col(Tps.lon),
            col(TpsState.phase),
            col(TpsState.situation),
            col(TpsState.last_seen_at),
            col(last.rank),
            col(last.name),
            col(mine.officer_id),
        )
        .outerjoin(TpsState, col(TpsState.tps_id) == col(Tps.id))
        .join(desa, col(desa.code) == col(Tps.desa_code))
        .join(kec, col(kec.code) == col(Tps.kecamatan_code))
        .outerjoin(last, col(last.id) == col(TpsState.last_officer_id))
        .outerjoin(mine, and_(col(mine.tps_id) == col(Tps.id), col(mine.officer_id) == officer_id))
    )
    return query, desa, mine


def _to_cards(rows: Any, expected: Phase | None) -> list[TpsCard]:
    return [
        TpsCard(
            code=code,
            number=number,
            desa=desa,
            kecamatan=kecamatan,
            risk=risk,
            lat=lat,
            lon=lon,
            phase=phase,
            situation=situation,
            last_seen_at=seen,
            last_officer=f"{rank} {name}" if name is not None else None,
            expected_phase=expected,
            is_assigned=assigned is not None,
        )
        for (
            code,
            number,
            desa,
            kecamatan,
            risk,
            lat,
            lon,
            phase,
            situation,
            seen,
            rank,
            name,
            assigned,
        ) in rows
    ]


def assigned_tps(*, session: Session, officer_id: int, expected: Phase | None) -> list[TpsCard]:
    """The officer's own TPS, by code."""
    query, _, _ = _cards(officer_id)
    q = query.join(
        Assignment,
        and_(col(Assignment.tps_id) == col(Tps.id), col(Assignment.officer_id) == officer_id),
    ).order_by(col(Tps.code))
    return _to_cards(session.execute(q).all(), expected)


def _like(text: str) -> str:
    # The search is a literal: `%` and `_` typed by the officer match themselves.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _word_matches(word: str, desa_name: Any) -> ColumnElement[bool] | None:
    """A search word: a TPS number ("3", "003"), else part of the code or of the desa's name."""
    if word.isascii() and word.isdigit() and len(word) <= _NUMBER_DIGITS:
        # Not a code fragment: "2" would match nearly every code.
        return col(Tps.number) == int(word)
    if word.lower() == "tps":
        return None  # "TPS 3" is how people say it
    pattern = _like(word.lower())
    return or_(
        col(Tps.code).like(pattern, escape="\\"),
        func.lower(desa_name).like(pattern, escape="\\"),
    )


def search_tps(
    *,
    session: Session,
    officer_id: int,
    unit: Unit,
    unit_lists_kecamatan: bool,
    q: str,
    limit: int,
    expected: Phase | None,
) -> list[TpsCard]:
    """TPS of the unit's area matching every word of `q` (number, part of the code or desa name).

    A unit's area is the kecamatan it covers; a unit that lists none (the Polres) covers its
    kabupaten. The officer's own TPS come first, then by code.
    """
    if unit_lists_kecamatan:
        covered = sa_select(col(UnitKecamatan.kecamatan_code)).where(
            col(UnitKecamatan.unit_id) == unit.id
        )
        area: ColumnElement[bool] = col(Tps.kecamatan_code).in_(covered)
    else:
        area = col(Tps.kabupaten_code) == unit.kabupaten_code
    base, desa, mine = _cards(officer_id)
    words = q.split()[:SEARCH_WORDS]
    query = (
        base.where(area, *(m for w in words if (m := _word_matches(w, desa.name)) is not None))
        .order_by(col(mine.officer_id).is_(None), col(Tps.code))
        .limit(limit)
    )
    return _to_cards(session.execute(query).all(), expected)
