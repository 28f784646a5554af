"""The officer's phone on the wire: enrolment links, their redemption, and what a device reads."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.enums import Phase, RiskRating, Situation

# Printable text only: PostgreSQL refuses NUL in a string, and no NRP or unit code holds a
# control character.
Printable = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]


class OfficerCard(BaseModel):
    """Who an officer is, as the phone and the enrolment sheet show it."""

    nrp: str
    name: str
    rank: str
    unit_code: str
    unit_name: str


# -- enrolment --------------------------------------------------------------------------------


class EnrolmentCreate(BaseModel):
    """Which officers to enrol: one Polsek, one NRP, or (neither) every officer of your area."""

    model_config = ConfigDict(extra="forbid")

    polsek: Annotated[Printable, Field(min_length=1, max_length=40)] | None = Field(
        default=None, description="unit code, e.g. polsek-belitang", examples=["polsek-belitang"]
    )
    nrp: Annotated[Printable, Field(min_length=1, max_length=18)] | None = Field(
        default=None, description="one officer's NRP"
    )
    expires_hours: float | None = Field(
        default=None,
        gt=0,
        le=720,
        description="hours the links work; default POSKO_ENROLMENT_HOURS",
    )


class EnrolmentLink(BaseModel):
    """A new one-time link, shown only in the answer that made it (its code is never stored)."""

    id: int
    officer: OfficerCard
    url: str
    expires_at: datetime
    chat_code: str | None = Field(
        default=None, description="six digits the officer sends as `DAFTAR 482913` by chat or SMS"
    )


class EnrolmentLinks(BaseModel):
    """The links made by one request."""

    data: list[EnrolmentLink]
    count: int


class EnrolmentState(StrEnum):
    """Where a link stands: waiting to be opened, used once, past its expiry, or revoked."""

    WAITING = "waiting"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class EnrolmentPublic(BaseModel):
    """A link as the admin lists it: never its code."""

    id: int
    officer: OfficerCard
    state: EnrolmentState
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    credential_id: int | None  # the device credential it produced
    created_by: str


class EnrolmentsPublic(BaseModel):
    """A list of links."""

    data: list[EnrolmentPublic]
    count: int


class EnrolmentRedeem(BaseModel):
    """The code from the link's fragment (`#daftar=<code>`)."""

    code: str = Field(min_length=1, max_length=200)


class RedeemedEnrolment(BaseModel):
    """The phone's device credential: kept in the phone's storage, never in a URL."""

    token: str
    credential_id: int
    officer: OfficerCard


class RedeemRefusal(StrEnum):
    """Why a link did not work."""

    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class RedeemProblem(BaseModel):
    """A refused link: the field, the reason, and which of the four refusals it is."""

    field: str
    reason: str
    code: RedeemRefusal


class RedeemProblemResponse(BaseModel):
    """The body of a 404 or 410 from the redeem endpoint."""

    detail: RedeemProblem


# -- what the phone reads ---------------------------------------------------------------------


class TpsCard(BaseModel):
    """A TPS as the officer's phone shows it: where it stands and where it should be."""

    code: str
    number: int
    desa: str
    kecamatan: str
    risk: RiskRating
    lat: float
    lon: float
    phase: Phase | None
    situation: Situation | None
    last_seen_at: datetime | None
    last_officer: str | None  # "rank name" of whoever reported it last
    expected_phase: Phase | None  # what the election calendar expects now
    is_assigned: bool  # one of this officer's TPS


class FieldHome(BaseModel):
    """The phone's home screen: who I am, the server's time, my TPS."""

    officer: OfficerCard
    server_time: datetime
    exercise: str | None  # the exercise clock's label, when the clock is not real time
    tps: list[TpsCard]


class TpsCards(BaseModel):
    """TPS found by a search."""

    data: list[TpsCard]


class ServerClock(BaseModel):
    """The server's clock: phones show their offset from it, simulators follow it."""

    now: datetime
    speed: float  # exercise clocks may run faster than real time
    exercise: str | None  # the exercise clock's label, when the clock is not real time
