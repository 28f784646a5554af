"""Read API of the chain of custody, and the admin's PPK places; all cut to the caller's area."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlmodel import col, select

from backend.areas import contains, kabupaten_in
from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.config import Settings
from backend.custody.service import (
    PpkPlaceError,
    RoadModel,
    overview,
    ppk_places,
    set_ppk_place,
    timeline,
)
from backend.deps import ReaderDep, RuntimeDep, SessionDep, require_role, scoped_area
from backend.tps.models import Tps
from backend.tps.service import get_by_code
from schemas.custody import CustodyOverview, CustodyTimeline, PpkPlacePublic, PpkPlaceUpdate
from schemas.enums import Role
from schemas.errors import problem_responses

router = APIRouter(prefix="/api/v1", tags=["custody"], responses=problem_responses(401, 403))
Admin = Annotated[Principal, require_role(Role.ADMIN)]
KecamatanCode = Annotated[str, Path(pattern=r"^\d{2}\.\d{2}\.\d{2}$", examples=["16.08.01"])]
AreaQuery = Annotated[str | None, Query(description="province or kabupaten code")]


def road_of(settings: Settings) -> RoadModel:
    """The road model the settings describe."""
    return RoadModel(road_factor=settings.custody_road_factor, kmh=settings.custody_road_kmh)


@router.get("/custody", response_model=CustodyOverview)
def read_custody(
    principal: ReaderDep, session: SessionDep, rt: RuntimeDep, area: AreaQuery = None
) -> CustodyOverview:
    """Boxes sealed, on the road and received per kecamatan, and each box on the road."""
    return overview(
        session=session,
        area=scoped_area(principal.area_code, area),
        road=road_of(rt.settings),
        now=rt.clock.now(),
        margin=timedelta(minutes=rt.settings.custody_arrival_margin_min),
    )


@router.get("/tps/{code}/custody", response_model=CustodyTimeline, responses=problem_responses(404))
def read_tps_custody(
    code: str, principal: ReaderDep, session: SessionDep, rt: RuntimeDep
) -> CustodyTimeline:
    """A TPS's custody timeline: each step with who, when and where; the expected arrival."""
    tps = get_by_code(session=session, code=code)
    if tps is None or not contains(principal.area_code, tps.kabupaten_code):
        # Outside the caller's area a TPS does not exist for them.
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail={"field": "code", "reason": "no such TPS"}
        )
    return timeline(session=session, tps=tps, road=road_of(rt.settings))


@router.get("/ppk", response_model=list[PpkPlacePublic])
def read_ppk_places(
    principal: ReaderDep, session: SessionDep, area: AreaQuery = None
) -> list[PpkPlacePublic]:
    """The PPK place of every kecamatan in your area (set by an admin, or the registry's)."""
    scope = scoped_area(principal.area_code, area)
    q = select(Tps.kecamatan_code).distinct()
    if scope is not None:
        q = q.where(kabupaten_in(col(Tps.kabupaten_code), scope))
    places = ppk_places(session=session, kecamatan_codes=session.exec(q).all())
    return [places[k] for k in sorted(places)]


@router.put(
    "/ppk/{kecamatan}",
    response_model=PpkPlacePublic,
    responses=problem_responses(400, 404, 422),  # 400: a body that is not JSON
)
def put_ppk_place(
    kecamatan: KecamatanCode,
    body: PpkPlaceUpdate,
    principal: Admin,
    session: SessionDep,
    rt: RuntimeDep,
) -> PpkPlacePublic:
    """Set where a kecamatan's PPK receives the boxes (admin, inside your area; audited)."""
    try:
        return set_ppk_place(
            session=session,
            kecamatan_code=kecamatan,
            name=body.name,
            lat=body.lat,
            lon=body.lon,
            actor=actor_of(principal),
            actor_area=principal.area_code,
            now=rt.clock.now(),
        )
    except PpkPlaceError as err:
        raise HTTPException(err.status, detail={"field": err.field, "reason": err.reason}) from None
