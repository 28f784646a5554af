"""Custody steps: stored in intake's transaction, read per TPS and per kecamatan, PPK places."""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy import case, func, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from backend.areas import contains, kabupaten_in
from backend.audit.service import AuditRecord, append
from backend.custody.models import CustodyEvent, PpkPlace
from backend.db import RawDb, UtcDateTime
from backend.officers.models import Officer
from backend.photos.service import list_for_custody
from backend.positions.models import OfficerLastFix, OfficerPosition
from backend.regions.models import Region
from backend.tps.index import TpsRef
from backend.tps.models import Tps
from schemas.custody import (
    BoxOnRoad,
    CustodyOverview,
    CustodyStepPublic,
    CustodyTimeline,
    KecamatanCustody,
    PpkPlacePublic,
)
from schemas.enums import CustodyStep, RegionLevel, flags_to_list
from schemas.events import AnyFieldEvent, CustodyIn

_CHUNK = 300  # rows per multi-row INSERT: 300 x 18 parameters stays under every driver's limit
_COLS = (
    "event_id, tps_id, tps_code, kecamatan_code, kabupaten_code, step, device_time, "
    "received_at, officer_id, seal_numbers, escort_nrps, vehicle, ba_number, receiver_name, "
    "lat, lon, note, flags, source"
)
_ROW = "(" + ",".join("?" * 19) + ")"


class Step(Protocol):
    """A custody step as intake checked it (`intake.validate.Accepted` is one)."""

    @property
    def event(self) -> AnyFieldEvent:
        """The event as the device sent it."""

    @property
    def officer_id(self) -> int:
        """Who sent it."""

    @property
    def tps(self) -> TpsRef | None:
        """The TPS whose boxes it is about."""

    @property
    def received_at(self) -> datetime:
        """When it arrived."""

    @property
    def flags(self) -> int:
        """Its EventFlag bits."""

    @property
    def source(self) -> str:
        """Where it came from (ws, http, a chat channel)."""


def _json_list(values: list[str]) -> str | None:
    return orjson.dumps(values).decode() if values else None


def insert_events(db: RawDb, steps: Sequence[Step]) -> tuple[list[Any], set[Any]]:
    """Insert custody steps once by event id; return each one's bound key and the keys stored.

    A repeated event id is skipped by the unique index (`ON CONFLICT DO NOTHING`), so a step
    resent after a lost ack, or stored by another node, is a duplicate and not a second row.
    """
    keys: list[Any] = []
    rows: list[tuple[Any, ...]] = []
    for a in steps:
        e = a.event
        assert isinstance(e, CustodyIn) and a.tps is not None
        k = db.uuid(e.event_id)
        keys.append(k)
        rows.append(
            (
                k,
                a.tps.id,
                a.tps.code,
                a.tps.kecamatan_code,
                a.tps.kabupaten_code,
                e.step.value,
                db.time(e.device_time),
                db.time(a.received_at),
                a.officer_id,
                _json_list(e.seal_numbers),
                _json_list(e.escort_nrps),
                e.vehicle,
                e.ba_number,
                e.receiver_name,
                e.lat,
                e.lon,
                e.note,
                a.flags,
                a.source,
            )
        )
    if not db.is_sqlite:
        rows.sort(key=lambda r: r[0])  # locked in event-id order on every node: no deadlock
    inserted: set[Any] = set()
    cur = db.conn.cursor()
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        cur.execute(
            db.sql(
                f"INSERT INTO custody_event ({_COLS}) VALUES {','.join([_ROW] * len(chunk))} "
                "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
            ),
            [v for r in chunk for v in r],
        )
        inserted.update(r[0] for r in cur.fetchall())
    cur.close()
    return keys, inserted


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@dataclass(frozen=True, slots=True)
class RoadModel:
    """How long the road from a TPS to its PPK takes: straight distance x factor / speed."""

    road_factor: float = 1.3
    kmh: float = 30.0

    def travel(self, lat1: float, lon1: float, lat2: float, lon2: float) -> timedelta:
        """Expected driving time between two points."""
        km = distance_km(lat1, lon1, lat2, lon2) * self.road_factor
        return timedelta(hours=km / self.kmh)


@dataclass(frozen=True, slots=True)
class Box:
    """A TPS's boxes as their custody steps tell: the first report of each step."""

    tps_id: int
    tps: str
    kecamatan_code: str
    kabupaten_code: str
    tps_lat: float
    tps_lon: float
    sealed_at: datetime | None = None
    departed_at: datetime | None = None
    arrived_at: datetime | None = None
    handed_at: datetime | None = None
    has_ba: bool = False  # some handover report carries the berita acara's number

    @property
    def furthest(self) -> CustodyStep | None:
        """The furthest step reported (any arrival order gives the same)."""
        for step, at in (
            (CustodyStep.SERAH_TERIMA, self.handed_at),
            (CustodyStep.TIBA, self.arrived_at),
            (CustodyStep.BERANGKAT, self.departed_at),
            (CustodyStep.SEGEL, self.sealed_at),
        ):
            if at is not None:
                return step
        return None

    @property
    def on_the_road(self) -> bool:
        """Left the TPS, not yet arrived at the PPK nor handed over."""
        return self.departed_at is not None and self.arrived_at is None and self.handed_at is None


def _first(step: CustodyStep) -> Any:
    # The first report of each step, typed back to an aware datetime (SQLite stores text).
    return type_coerce(
        func.min(case((col(CustodyEvent.step) == step.value, col(CustodyEvent.device_time)))),
        UtcDateTime(),
    )


def list_boxes(
    *,
    session: Session,
    area_code: str | None = None,
    tps_codes: Iterable[str] | None = None,
    unfinished: bool = False,
    at: datetime | None = None,
) -> list[Box]:
    """Every TPS with a custody step in the area (or of `tps_codes`), one GROUP BY.

    `unfinished`: only boxes not yet handed over with a berita acara number (what the alert
    rules can still say something about): the sweeper's read stays small all night.
    `at`: from the steps stored by then (a replayed moment, a report's period end).
    """
    has_ba = func.max(
        case(
            (
                (col(CustodyEvent.step) == CustodyStep.SERAH_TERIMA.value)
                & col(CustodyEvent.ba_number).is_not(None),
                1,
            ),
            else_=0,
        )
    )
    q = (
        sa_select(
            col(Tps.id),
            col(Tps.code),
            col(Tps.kecamatan_code),
            col(Tps.kabupaten_code),
            col(Tps.lat),
            col(Tps.lon),
            _first(CustodyStep.SEGEL),
            _first(CustodyStep.BERANGKAT),
            _first(CustodyStep.TIBA),
            _first(CustodyStep.SERAH_TERIMA),
            has_ba,
        )
        .join(Tps, col(Tps.id) == col(CustodyEvent.tps_id))
        .group_by(
            col(Tps.id),
            col(Tps.code),
            col(Tps.kecamatan_code),
            col(Tps.kabupaten_code),
            col(Tps.lat),
            col(Tps.lon),
        )
    )
    if area_code is not None:
        q = q.where(kabupaten_in(col(CustodyEvent.kabupaten_code), area_code))
    if tps_codes is not None:
        q = q.where(col(Tps.code).in_(list(tps_codes)))
    if unfinished:
        q = q.having(or_(_first(CustodyStep.SERAH_TERIMA).is_(None), has_ba == 0))
    if at is not None:
        q = q.where(col(CustodyEvent.received_at) <= at)
    return [
        Box(
            tps_id=r[0],
            tps=r[1],
            kecamatan_code=r[2],
            kabupaten_code=r[3],
            tps_lat=r[4],
            tps_lon=r[5],
            sealed_at=r[6],
            departed_at=r[7],
            arrived_at=r[8],
            handed_at=r[9],
            has_ba=bool(r[10]),
        )
        for r in session.execute(q)
    ]


def ppk_places(*, session: Session, kecamatan_codes: Iterable[str]) -> dict[str, PpkPlacePublic]:
    """Each kecamatan's PPK place: as an admin set it, else the registry's kecamatan point.

    The registry's point is the kecamatan's own (`region.lat/lon`, its office where the
    registry has one), else the middle of its TPS: a PPK sits in the kecamatan's town.
    """
    codes = sorted(set(kecamatan_codes))
    if not codes:
        return {}
    out = {
        p.kecamatan_code: PpkPlacePublic(
            kecamatan_code=p.kecamatan_code,
            name=p.name,
            lat=p.lat,
            lon=p.lon,
            is_default=False,
            updated_by=p.updated_by,
            updated_at=p.updated_at,
        )
        for p in session.exec(select(PpkPlace).where(col(PpkPlace.kecamatan_code).in_(codes)))
    }
    rest = [c for c in codes if c not in out]
    if not rest:
        return out
    regions = {
        r.code: r
        for r in session.exec(
            select(Region).where(
                col(Region.code).in_(rest), col(Region.level) == RegionLevel.KECAMATAN
            )
        )
    }
    middles = {
        kec: (lat, lon)
        for kec, lat, lon in session.execute(
            sa_select(col(Tps.kecamatan_code), func.avg(col(Tps.lat)), func.avg(col(Tps.lon)))
            .where(col(Tps.kecamatan_code).in_(rest))
            .group_by(col(Tps.kecamatan_code))
        )
    }
    for code in rest:
        region = regions.get(code)
        point: tuple[float | None, float | None] = (
            (region.lat, region.lon) if region is not None else (None, None)
        )
        if point[0] is None or point[1] is None:
            point = middles.get(code, (None, None))
        if point[0] is None or point[1] is None:
            continue  # a kecamatan with neither a point nor a TPS: no road to measure
        name = f"PPK Kecamatan {region.name}" if region is not None else f"PPK {code}"
        out[code] = PpkPlacePublic(
            kecamatan_code=code, name=name, lat=point[0], lon=point[1], is_default=True
        )
    return out


class PpkPlaceError(ValueError):
    """A PPK place that cannot be set: the field at fault and why (404 or 422)."""

    def __init__(self, field_name: str, reason: str, status: int) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
        self.status = status


def set_ppk_place(
    *,
    session: Session,
    kecamatan_code: str,
    name: str,
    lat: float,
    lon: float,
    actor: str,
    actor_area: str | None,
    now: datetime,
) -> PpkPlacePublic:
    """Set a kecamatan's PPK place (inside the actor's area), audited, committed."""
    region = session.get(Region, kecamatan_code)
    if (
        region is None
        or region.level is not RegionLevel.KECAMATAN
        or not contains(actor_area, kecamatan_code)
    ):
        # Outside the actor's area a kecamatan does not exist for them.
        raise PpkPlaceError("kecamatan", f"no kecamatan {kecamatan_code} in your area", 404)
    before = ppk_places(session=session, kecamatan_codes=[kecamatan_code]).get(kecamatan_code)
    row = session.get(PpkPlace, kecamatan_code)
    if row is None:
        row = PpkPlace(
            kecamatan_code=kecamatan_code,
            name=name,
            lat=lat,
            lon=lon,
            updated_by=actor,
            updated_at=now,
        )
    else:
        row.name, row.lat, row.lon, row.updated_by, row.updated_at = name, lat, lon, actor, now
    session.add(row)
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="ppk.place",
                subject_kind="kecamatan",
                subject=kecamatan_code,
                data={
                    "name": name,
                    "lat": lat,
                    "lon": lon,
                    "before": before.model_dump(mode="json") if before is not None else None,
                },
                area_code=".".join(kecamatan_code.split(".")[:2]),
            )
        ],
    )
    session.commit()
    return ppk_places(session=session, kecamatan_codes=[kecamatan_code])[kecamatan_code]


def expected_at(box: Box, ppk: PpkPlacePublic | None, road: RoadModel) -> datetime | None:
    """When the boxes should be at the PPK: departure + the road's expected time."""
    if box.departed_at is None or ppk is None:
        return None
    return box.departed_at + road.travel(box.tps_lat, box.tps_lon, ppk.lat, ppk.lon)


@dataclass(slots=True)
class Escorts:
    """Who escorts a TPS's boxes: the officer who reported the departure and the NRPs named."""

    officer_ids: set[int] = field(default_factory=set)
    nrps: set[str] = field(default_factory=set)
    vehicle: str | None = None
    lat: float | None = None  # where the departure was reported, if the phone knew
    lon: float | None = None


def escorts_of(
    *, session: Session, tps_ids: Iterable[int], at: datetime | None = None
) -> dict[int, Escorts]:
    """The escorts of each TPS's departure(s), NRPs resolved to officers where known.

    `at`: of the departures stored by then.
    """
    ids = sorted(set(tps_ids))
    out: dict[int, Escorts] = defaultdict(Escorts)
    if not ids:
        return {}
    named: set[str] = set()
    q = (
        sa_select(
            col(CustodyEvent.tps_id),
            col(CustodyEvent.officer_id),
            col(CustodyEvent.escort_nrps),
            col(CustodyEvent.vehicle),
            col(CustodyEvent.lat),
            col(CustodyEvent.lon),
        )
        .where(
            col(CustodyEvent.tps_id).in_(ids),
            col(CustodyEvent.step) == CustodyStep.BERANGKAT.value,
        )
        .order_by(col(CustodyEvent.device_time))
    )
    if at is not None:
        q = q.where(col(CustodyEvent.received_at) <= at)
    rows = session.execute(q).all()
    for tps_id, officer_id, nrps, vehicle, lat, lon in rows:
        e = out[tps_id]
        e.officer_ids.add(officer_id)
        listed = orjson.loads(nrps) if nrps else []
        e.nrps.update(listed)
        named.update(listed)
        e.vehicle = e.vehicle or vehicle
        if e.lat is None and lat is not None:
            e.lat, e.lon = lat, lon
    if named:
        by_nrp = dict(
            session.execute(
                sa_select(col(Officer.nrp), col(Officer.id)).where(col(Officer.nrp).in_(named))
            ).all()
        )
        for e in out.values():
            e.officer_ids.update(by_nrp[n] for n in e.nrps if n in by_nrp)
    if rows:
        senders = dict(
            session.execute(
                sa_select(col(Officer.id), col(Officer.nrp)).where(
                    col(Officer.id).in_({r[1] for r in rows})
                )
            ).all()
        )
        for e in out.values():
            e.nrps.update(senders[o] for o in e.officer_ids if o in senders)
    return dict(out)


def convoy_fixes(
    *,
    session: Session,
    officer_ids: Iterable[int],
    now: datetime,
    window: timedelta,
    radius_m: float,
) -> dict[int, list[tuple[datetime, float, float]]]:
    """What the convoy rule needs of each officer's fixes, reduced in the database.

    The rule (`alerts/rules.py: standing_still`) walks back from the newest fix while the fixes
    stay within the radius, and calls it a stop when that reaches back past `now - window`.
    So per officer only three facts matter: the newest fix (`officer_last_fix`), whether any
    fix since `now - window` lies outside the radius around it (a box of that half-side: the
    corners let a stop be up to 1.4x the radius wide), and the last fix before `now - window`.
    Returned as the fixes that give the rule the same answer: [newest] when something in the
    window lies outside, else [the last before the window, newest]. A phone sending every
    10 s would otherwise hand the sweeper 180 rows per escort every 2 s.
    """
    ids = sorted(set(officer_ids))
    if not ids:
        return {}
    start = now - window
    dlat = radius_m / 110_540.0
    p = aliased(OfficerPosition)
    far = (
        sa_select(func.count())
        .where(
            col(p.officer_id) == col(OfficerLastFix.officer_id),
            col(p.device_time) >= start,
            or_(
                col(p.lat) < col(OfficerLastFix.lat) - dlat,
                col(p.lat) > col(OfficerLastFix.lat) + dlat,
                col(p.lon) < col(OfficerLastFix.lon) - _dlon(radius_m),
                col(p.lon) > col(OfficerLastFix.lon) + _dlon(radius_m),
            ),
        )
        .scalar_subquery()
    )

    def before(column: Any) -> Any:
        return (
            sa_select(column)
            .where(col(p.officer_id) == col(OfficerLastFix.officer_id), col(p.device_time) < start)
            .order_by(col(p.device_time).desc())
            .limit(1)
            .scalar_subquery()
        )

    out: dict[int, list[tuple[datetime, float, float]]] = {}
    for oid, at, lat, lon, n_far, b_at, b_lat, b_lon in session.execute(
        sa_select(
            col(OfficerLastFix.officer_id),
            col(OfficerLastFix.device_time),
            col(OfficerLastFix.lat),
            col(OfficerLastFix.lon),
            far,
            type_coerce(before(col(p.device_time)), UtcDateTime()),
            before(col(p.lat)),
            before(col(p.lon)),
        ).where(col(OfficerLastFix.officer_id).in_(ids), col(OfficerLastFix.device_time) >= start)
    ):
        newest = (at, lat, lon)
        out[oid] = [newest] if n_far or b_at is None else [(b_at, b_lat, b_lon), newest]
    return out


def _dlon(radius_m: float) -> float:
    # Degrees of longitude the radius spans at 11 degrees of latitude, Indonesia's widest: a
    # little generous nearer the equator, never too strict.
    return radius_m / (111_320.0 * math.cos(math.radians(11.0)))


def _kecamatan_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    return dict(
        session.execute(
            sa_select(col(Region.code), col(Region.name)).where(col(Region.code).in_(wanted))
        ).all()
    )


def custody_counts(
    session: Session, area: str | None, at: datetime | None = None
) -> list[KecamatanCustody]:
    """Per kecamatan of the area: TPS sealed, on the road (arrived among them), received.

    Each TPS counts once, at the furthest custody step reported for it (by `at` if given: a
    replayed moment, a report's period end). `area` is a province or kabupaten code already
    narrowed to the caller's (None: national). Kecamatan with no custody step yet are listed
    too, with zeros, so a report shows where nothing moved.
    Positional or keyword: the situation report calls it as `custody_counts(session, area)`.
    """
    tps_q = sa_select(col(Tps.kecamatan_code), func.count()).group_by(col(Tps.kecamatan_code))
    if area is not None:
        tps_q = tps_q.where(kabupaten_in(col(Tps.kabupaten_code), area))
    totals = dict(session.execute(tps_q).all())
    counts: dict[str, dict[str, int]] = {
        k: {"sealed": 0, "on_road": 0, "arrived": 0, "received": 0} for k in totals
    }
    for box in list_boxes(session=session, area_code=area, at=at):
        c = counts.setdefault(
            box.kecamatan_code, {"sealed": 0, "on_road": 0, "arrived": 0, "received": 0}
        )
        step = box.furthest
        if step is CustodyStep.SERAH_TERIMA:
            c["received"] += 1
        elif step is CustodyStep.SEGEL:
            c["sealed"] += 1
        else:
            c["on_road"] += 1
            c["arrived"] += step is CustodyStep.TIBA
    names = _kecamatan_names(session, counts)
    return [
        KecamatanCustody(
            kecamatan_code=k,
            name=names.get(k, k),
            tps=totals.get(k, 0),
            **c,
        )
        for k, c in sorted(counts.items())
    ]


def _last_fixes(
    session: Session, officer_ids: set[int], at: datetime | None
) -> dict[int, tuple[datetime, float, float]]:
    """Each officer's newest fix: now (officer_last_fix), or as known at `at` (received by then)."""
    last: dict[int, tuple[datetime, float, float]] = {}
    if not officer_ids:
        return last
    if at is None:
        q = sa_select(
            col(OfficerLastFix.officer_id),
            col(OfficerLastFix.device_time),
            col(OfficerLastFix.lat),
            col(OfficerLastFix.lon),
        ).where(col(OfficerLastFix.officer_id).in_(officer_ids))
    else:
        q = (
            sa_select(
                col(OfficerPosition.officer_id),
                col(OfficerPosition.device_time),
                col(OfficerPosition.lat),
                col(OfficerPosition.lon),
            )
            .where(
                col(OfficerPosition.officer_id).in_(officer_ids),
                col(OfficerPosition.received_at) <= at,
                col(OfficerPosition.device_time) <= at,
            )
            .order_by(col(OfficerPosition.device_time))
        )
    for oid, t, lat, lon in session.execute(q):
        last[oid] = (t, lat, lon)  # in time order: the newest stays
    return last


def overview(
    *,
    session: Session,
    area: str | None,
    road: RoadModel,
    now: datetime,
    margin: timedelta,
    at: datetime | None = None,
) -> CustodyOverview:
    """`GET /api/v1/custody`: counts per kecamatan and each box on the road with its position.

    `at`: as it stood then (a replayed moment; `now` should be the same moment).
    """
    kecamatan = custody_counts(session=session, area=area, at=at)
    boxes = [
        b
        for b in list_boxes(session=session, area_code=area, at=at)
        if b.departed_at is not None and b.handed_at is None
    ]
    ppk = ppk_places(session=session, kecamatan_codes=(b.kecamatan_code for b in boxes))
    escorts = escorts_of(session=session, tps_ids=(b.tps_id for b in boxes), at=at)
    officer_ids = {o for e in escorts.values() for o in e.officer_ids}
    last = _last_fixes(session, officer_ids, at)
    on_road = []
    for b in sorted(boxes, key=lambda b: (b.kecamatan_code, b.tps)):
        place = ppk.get(b.kecamatan_code)
        due = expected_at(b, place, road)
        if place is None or due is None or b.departed_at is None:
            continue
        e = escorts.get(b.tps_id, Escorts())
        # The newest fix of an escort since the departure: where the boxes are now.
        fixes = [last[o] for o in e.officer_ids if o in last and last[o][0] >= b.departed_at]
        pos_at: datetime | None = None
        if fixes:
            pos_at, lat, lon = max(fixes, key=lambda f: f[0])
        elif e.lat is not None and e.lon is not None:
            lat, lon = e.lat, e.lon
        else:
            lat, lon = b.tps_lat, b.tps_lon
        on_road.append(
            BoxOnRoad(
                tps=b.tps,
                kecamatan_code=b.kecamatan_code,
                departed_at=b.departed_at,
                arrived_at=b.arrived_at,
                expected_at=due,
                overdue=b.arrived_at is None and now >= due + margin,
                lat=lat,
                lon=lon,
                position_at=pos_at,
                vehicle=e.vehicle,
                escorts=sorted(e.nrps),
                ppk_lat=place.lat,
                ppk_lon=place.lon,
            )
        )
    return CustodyOverview(
        area=area,
        kecamatan=kecamatan,
        on_road=on_road,
        sealed=sum(k.sealed for k in kecamatan),
        on_road_total=sum(k.on_road for k in kecamatan),
        received=sum(k.received for k in kecamatan),
    )


PHOTO_URL = "/api/v1/photos/"  # where photos/views.py serves a photo by id


def timeline(
    *, session: Session, tps: Tps, road: RoadModel, at: datetime | None = None
) -> CustodyTimeline:
    """A TPS's custody steps in device-time order, with who, when, where and the seals' photo.

    `at`: only what was stored by then (a replayed moment), photos included.
    """
    q = (
        sa_select(CustodyEvent, col(Officer.nrp), col(Officer.name))
        .join(Officer, col(Officer.id) == col(CustodyEvent.officer_id))
        .where(col(CustodyEvent.tps_id) == tps.id)
        .order_by(col(CustodyEvent.device_time), col(CustodyEvent.id))
    )
    if at is not None:
        q = q.where(col(CustodyEvent.received_at) <= at)
    rows = session.execute(q).all()
    photos = {
        p.custody_event_id: p.id
        for p in list_for_custody(
            session=session, custody_event_ids=[ev.id for ev, _, _ in rows if ev.id is not None]
        )
        if p.index == 0 and (at is None or p.received_at <= at)
    }
    steps = [
        CustodyStepPublic(
            step=ev.step,
            device_time=ev.device_time,
            received_at=ev.received_at,
            officer_nrp=nrp,
            officer_name=name,
            seal_numbers=orjson.loads(ev.seal_numbers) if ev.seal_numbers else [],
            escort_nrps=orjson.loads(ev.escort_nrps) if ev.escort_nrps else [],
            vehicle=ev.vehicle,
            ba_number=ev.ba_number,
            receiver_name=ev.receiver_name,
            lat=ev.lat,
            lon=ev.lon,
            note=ev.note,
            flags=flags_to_list(ev.flags),
            source=ev.source,
            photo_url=f"{PHOTO_URL}{photos[ev.id]}" if ev.id in photos else None,
            photo_thumb_url=f"{PHOTO_URL}{photos[ev.id]}/thumb" if ev.id in photos else None,
        )
        for ev, nrp, name in rows
    ]
    place = ppk_places(session=session, kecamatan_codes=[tps.kecamatan_code]).get(
        tps.kecamatan_code
    )
    boxes = list_boxes(session=session, tps_codes=[tps.code], at=at)
    due = expected_at(boxes[0], place, road) if boxes else None
    return CustodyTimeline(
        tps=tps.code, kecamatan_code=tps.kecamatan_code, steps=steps, expected_at=due, ppk=place
    )
