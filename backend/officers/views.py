"""Read API for officers."""

from typing import Annotated

from fastapi import APIRouter, Query

from backend.deps import ReaderDep, SessionDep, scoped_area
from backend.officers.service import list_public
from schemas.errors import problem_responses
from schemas.registry import OfficersPublic

router = APIRouter(prefix="/api/v1", tags=["state"], responses=problem_responses(401, 403))


@router.get("/officers", response_model=OfficersPublic)
def read_officers(
    principal: ReaderDep,
    session: SessionDep,
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
) -> OfficersPublic:
    """Every officer in your area with unit, assigned TPS and when last heard from."""
    data = list_public(session=session, area_code=scoped_area(principal.area_code, area))
    return OfficersPublic(data=data, count=len(data))
