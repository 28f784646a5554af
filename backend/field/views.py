"""What the officer's phone reads, with its device credential only: its home and a TPS search."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import Session

from backend.auth.service import Principal
from backend.deps import CurrentDevice, RuntimeDep, SessionDep
from backend.enrolment.service import card
from backend.field.service import assigned_tps, officer_of, search_tps
from backend.officers.models import Officer, Unit
from backend.schedule.calendar import expected_phase
from schemas.errors import problem_responses
from schemas.field import FieldHome, TpsCards

router = APIRouter(
    prefix="/api/v1/field", tags=["field"], responses=problem_responses(401, 403, 404)
)
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _officer(session: Session, device: Principal) -> tuple[Officer, Unit, bool]:
    assert device.officer_id is not None  # CurrentDevice guarantees it
    found = officer_of(session=session, officer_id=device.officer_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail={"field": "officer", "reason": "this phone's officer is no longer registered"},
        )
    return found


@router.get("/me", response_model=FieldHome)
def read_home(device: CurrentDevice, session: SessionDep, rt: RuntimeDep) -> FieldHome:
    """The phone's home: its officer, the server's time, and the officer's TPS with their state."""
    officer, unit, _ = _officer(session, device)
    now = rt.clock.now()
    assert officer.id is not None
    tps = assigned_tps(
        session=session,
        officer_id=officer.id,
        expected=expected_phase(rt.settings.calendar, now),
    )
    return FieldHome(
        officer=card(officer, unit),
        server_time=now,
        exercise=rt.settings.exercise_label(),
        tps=tps,
    )


@router.get("/tps", response_model=TpsCards)
def search(
    device: CurrentDevice,
    session: SessionDep,
    rt: RuntimeDep,
    q: Annotated[
        str, Query(max_length=60, pattern=PRINTABLE, description="code, number or desa name")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> TpsCards:
    """TPS of the area of the officer's unit matching every word of `q`; own TPS first."""
    officer, unit, lists_kecamatan = _officer(session, device)
    assert officer.id is not None
    data = search_tps(
        session=session,
        officer_id=officer.id,
        unit=unit,
        unit_lists_kecamatan=lists_kecamatan,
        q=q,
        limit=limit,
        expected=expected_phase(rt.settings.calendar, rt.clock.now()),
    )
    return TpsCards(data=data)
