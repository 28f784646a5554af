"""The dashboard's reads: the backend's service functions, called in-process from worker threads.

Every function here is blocking (SQLite, CPU) and is meant to run under `asyncio.to_thread`,
never on the event loop that also carries field intake.
"""

import functools
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from backend.areas import AreaError, contains, is_area_code, narrow
from backend.auth.service import AuthError, Principal
from backend.incidents.service import list_public as list_incidents
from backend.intake.models import Ping
from backend.officers.service import get_by_nrp
from backend.officers.service import list_public as list_officers
from backend.overview import area_rows
from backend.registry.boundaries import cached_extent
from backend.replay.service import officers_at, tps_detail_at
from backend.runtime import Runtime
from backend.tps.liveness import grace_table
from backend.tps.models import Tps
from backend.tps.rollup import add_rows, region_names
from backend.tps.service import area_clause, list_views, timeline, timeline_rows
from dashboard.figures import (
    TIMELINE_BIN_S,
    TimelineInput,
    day_window,
    expand_runs,
    not_seen_bins,
)
from schemas.enums import Phase, RiskRating, Situation
from schemas.live import IncidentPublic, TpsTimeline, TpsView
from schemas.registry import OfficerPublic
from schemas.rollup import AreaCount

SILENT_AFTER = timedelta(minutes=30)
GEO_KECAMATAN = "oku_timur_kecamatan.geojson"  # as served by /api/v1/geo/kecamatan


@functools.cache
def boundary_extent(region_data_dir: Path) -> tuple[float, float, float, float] | None:
    """[west, south, east, north] of the kecamatan boundaries, or None without the file."""
    path = region_data_dir / GEO_KECAMATAN
    if not path.is_file():
        return None
    lons: list[float] = []
    lats: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], (int, float)):
            lons.append(float(coords[0]))
            lats.append(float(coords[1]))
        else:
            for c in coords:
                walk(c)

    for feature in orjson.loads(path.read_bytes())["features"]:
        walk(feature["geometry"]["coordinates"])
    return (min(lons), min(lats), max(lons), max(lats)) if lons else None


@dataclass(frozen=True, slots=True)
class MapBoundaries:
    """What the map's boundary layers span, and which version of them it draws."""

    extent: tuple[float, float, float, float]  # [west, south, east, north]
    version: str | None  # the import's stamp (busts browser caches); None: the data directory


def map_boundaries(rt: Runtime) -> MapBoundaries | None:
    """Outlines imported into the database, else the data directory's; None without either."""
    with Session(rt.engine) as session:
        stored = cached_extent(session=session)
    if stored is not None:
        stamp, extent = stored
        return MapBoundaries(extent=extent, version=stamp)
    from_files = boundary_extent(rt.settings.region_data_dir)
    return MapBoundaries(extent=from_files, version=None) if from_files else None


def principal_of(rt: Runtime, token: str | None) -> Principal | None:
    """The reading principal behind a browser's cookie, or None."""
    try:
        principal = rt.resolver.resolve(token, now=rt.clock.now())
    except AuthError:
        return None
    if principal.area_code is not None and not is_area_code(principal.area_code):
        return None  # a malformed area scopes nothing (the guard already turned it away)
    return principal if principal.can_read else None


@dataclass(frozen=True, slots=True)
class Filters:
    """What the commander narrowed the picture to (empty: everything in the area)."""

    kecamatan: tuple[str, ...] = ()
    desa: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()
    situation: tuple[str, ...] = ()
    risk: tuple[str, ...] = ()

    def keep(self, v: TpsView) -> bool:
        """Whether a TPS passes every filter."""
        return (
            (not self.kecamatan or v.kecamatan_code in self.kecamatan)
            and (not self.desa or v.desa_code in self.desa)
            and (not self.phase or (v.phase.value if v.phase else "belum") in self.phase)
            and (
                not self.situation
                or (v.situation.value if v.situation else "belum") in self.situation
            )
            and (not self.risk or v.risk.value in self.risk)
        )

    @property
    def key(self) -> str:
        """A short stable text of the filters (the map keeps the user's view while it stays)."""
        parts = (self.kecamatan, self.desa, self.phase, self.situation, self.risk)
        return "|".join(",".join(p) for p in parts)


@dataclass(frozen=True, slots=True)
class Picture:
    """The current state of an area: TPS, open incidents, the clock and the grace table."""

    now: datetime
    clock_speed: float
    exercise: str | None
    grace: dict[str, dict[str, float | None]]
    tps: list[TpsView]
    incidents: list[IncidentPublic]


def read_picture(rt: Runtime, *, area_code: str | None) -> Picture:
    """Every TPS of the area with its state, and the open incidents."""
    with Session(rt.engine) as session:
        tps = list_views(session=session, area_code=area_code)
        incidents = list_incidents(session=session, area_code=area_code, open_only=True)
    return Picture(
        now=rt.clock.now(),
        clock_speed=rt.clock.speed,
        exercise=rt.settings.exercise_label(),
        grace=grace_table(rt.settings),
        tps=tps,
        incidents=incidents,
    )


def read_timeline(
    rt: Runtime,
    *,
    area_code: str | None,
    codes: set[str] | None = None,
    now: datetime | None = None,
) -> TimelineInput:
    """The election day so far in bins: phases, situations and when each TPS went unseen.

    `now`: the end of "so far" (default the clock's now; a replayed moment: dashboard/replay.py).
    """
    now = now or rt.clock.now()
    start, _ = day_window(now)
    end = max(now, start + timedelta(seconds=1))
    grace = grace_table(rt.settings)
    longest = max((g for row in grace.values() for g in row.values() if g is not None), default=0)
    with Session(rt.engine) as session:
        bins, rows = timeline_rows(
            session=session, area_code=area_code, start=start, end=end, bin_s=TIMELINE_BIN_S
        )
        info = {
            v.code: (v.kecamatan, v.risk.value)
            for v in list_views(session=session, area_code=area_code)
        }
        seen = _ping_times(
            session, area_code=area_code, since=start - timedelta(seconds=longest), until=end
        )
    if codes is not None:
        rows = [r for r in rows if r.code in codes]
    names = {r.kecamatan_code: info[r.code][0] for r in rows if r.code in info}
    not_seen = {}
    for r in rows:
        phases = expand_runs(r.phase, bins)
        gaps = not_seen_bins(
            phases,
            seen.get(r.code, []),
            risk=info.get(r.code, ("", RiskRating.KURANG_RAWAN.value))[1],
            start=start,
            bin_s=TIMELINE_BIN_S,
            grace=grace,
        )
        if gaps:
            not_seen[r.code] = gaps
    return TimelineInput(
        start=start,
        now=now,
        bin_s=TIMELINE_BIN_S,
        bins=bins,
        rows=rows,
        kecamatan_names=names,
        not_seen=not_seen,
    )


def _ping_times(
    session: Session, *, area_code: str | None, since: datetime, until: datetime
) -> dict[str, list[datetime]]:
    """Device times of the pings of each TPS in a period, oldest first.

    The transitions table says when phases and situations changed, not when a TPS was seen;
    "not seen within grace" in the past can only be judged from the pings themselves.
    """
    q = (
        sa_select(col(Tps.code), col(Ping.device_time))
        .join(Tps, col(Tps.id) == col(Ping.tps_id))
        .where(col(Ping.device_time) >= since, col(Ping.device_time) < until)
        .order_by(col(Ping.tps_id), col(Ping.device_time))
    )
    area = area_clause(area_code)
    if area is not None:
        q = q.where(area)
    out: dict[str, list[datetime]] = defaultdict(list)
    for code, at in session.execute(q):
        out[code].append(at)
    return out


def read_officers(
    rt: Runtime, *, area_code: str | None, at: datetime | None = None
) -> list[OfficerPublic]:
    """Officers of the area with when they were last heard from (`at`: as of a replayed moment)."""
    with Session(rt.engine) as session:
        if at is not None:
            return officers_at(session=session, area_code=area_code, at=at)
        return list_officers(session=session, area_code=area_code)


def silent_officers(
    officers: Sequence[OfficerPublic], now: datetime
) -> list[tuple[OfficerPublic, float | None]]:
    """Officers not heard from for more than 30 minutes (or never), longest silence first."""
    out: list[tuple[OfficerPublic, float | None]] = []
    for o in officers:
        if o.last_seen_at is None:
            out.append((o, None))
        elif now - o.last_seen_at > SILENT_AFTER:
            out.append((o, (now - o.last_seen_at).total_seconds()))
    out.sort(key=lambda p: (p[1] is not None, -(p[1] or 0)))
    return out


def read_tps_detail(
    rt: Runtime, *, code: str, area_code: str | None, at: datetime | None = None
) -> TpsTimeline | None:
    """One TPS with its whole history of events, newest first (None: not in the area).

    `at`: the TPS as it stood at a replayed moment, with the events stored by then.
    """
    with Session(rt.engine) as session:
        if at is not None:
            return tps_detail_at(session=session, code=code, area_code=area_code, at=at)
        views = list_views(session=session, area_code=area_code, codes=[code])
        if not views:
            return None
        tps_id = session.execute(sa_select(col(Tps.id)).where(col(Tps.code) == code)).scalar_one()
        return TpsTimeline(tps=views[0], events=timeline(session=session, tps_id=tps_id, limit=300))


def search_tps(rt: Runtime, query: str, *, area_code: str | None) -> list[str]:
    """TPS codes that match a TPS code, a desa name or an officer's NRP, best match first."""
    q = query.strip().lower()
    if not q:
        return []
    with Session(rt.engine) as session:
        views = list_views(session=session, area_code=area_code)
        exact = [v.code for v in views if v.code.lower() == q]
        if exact:
            return exact
        if q.isdigit():
            officer = get_by_nrp(session=session, nrp=q)
            if officer is not None:
                by_officer = [v.code for v in views if q in v.officers]
                if by_officer:
                    return by_officer
    partial = [v.code for v in views if v.code.lower().endswith(q) or q in v.code.lower()]
    if partial:
        return partial
    return [v.code for v in views if q in v.desa.lower()]


def phases_and_situations() -> tuple[list[str], list[str]]:
    """Filter choices: phases (with "no report yet") and situations."""
    return (
        ["belum", *(p.value for p in Phase)],
        ["belum", *(s.value for s in Situation)],
    )


# -- the national rollup page (/nasional) ----------------------------------------------------

LEVEL_BELOW: dict[int, str] = {0: "province", 2: "kabupaten", 5: "kecamatan"}


@dataclass(frozen=True, slots=True)
class NationalPicture:
    """What /nasional shows: the rows one level below `area`, inside the credential's area."""

    now: datetime
    level: str  # the rows' level: province, kabupaten or kecamatan
    area: str | None  # the area shown (None: the whole country)
    scope: str | None  # the credential's own area: the top of the breadcrumb
    refused: str | None  # the area asked for and refused (outside the credential's), if any
    crumbs: list[tuple[str | None, str]]  # (code, name) from the scope down to `area`
    total: AreaCount
    rows: list[AreaCount]  # problems first (backend.overview.problem_key)
    exercise: str | None = None  # the exercise clock's label (None: real time)

    def digest(self) -> str:
        """A short fingerprint of the numbers: an unchanged picture is not sent again."""
        parts = [
            (r.code, r.total, r.phases, r.situations, r.not_seen, r.behind, r.incidents)
            for r in self.rows
        ]
        raw = orjson.dumps([self.area, self.refused, parts], option=orjson.OPT_NON_STR_KEYS)
        return hashlib.blake2b(raw, digest_size=8).hexdigest()


def read_national(rt: Runtime, *, scope: str | None, wanted: str | None) -> NationalPicture:
    """Rollup rows one level below `wanted` (narrowed inside `scope`); never reads TPS rows.

    An area outside the credential's is refused and its own area shown instead: the page
    says so rather than showing an error, and never shows the other area's numbers.
    """
    refused = None
    try:
        area = narrow(scope, wanted)
    except AreaError:
        area, refused = scope, wanted
    level = LEVEL_BELOW[len(area or "")]
    crumb_codes = [c for c in (area[:2] if area else None, area) if c]
    with Session(rt.engine) as session:
        rows = area_rows(session=session, level=level, area_code=area)
        names = region_names(session=session, codes=crumb_codes)
    crumbs: list[tuple[str | None, str]] = [] if scope else [(None, "")]
    # From the credential's own area down: nothing above it is offered as a link.
    crumbs += [(c, names.get(c, c)) for c in dict.fromkeys(crumb_codes) if contains(scope, c)]
    return NationalPicture(
        now=rt.clock.now(),
        level=level,
        area=area,
        scope=scope,
        refused=refused,
        crumbs=crumbs,
        total=add_rows(area or "", names.get(area or "", ""), rows),
        rows=rows,
        exercise=rt.settings.exercise_label(),
    )


def too_many_to_map(rt: Runtime, area_code: str | None) -> bool:
    """Whether an area holds more TPS than one live map may draw (Settings.map_max_tps)."""
    return rt.index.count_in_area(area_code) > rt.settings.map_max_tps
