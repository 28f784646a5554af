"""Public views of the chain of custody: counts per kecamatan, boxes on the road, timelines."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from schemas.enums import CustodyStep
from schemas.events import NO_NUL, Latitude, Longitude


class KecamatanCustody(BaseModel):
    """How far a kecamatan's boxes are: TPS by the furthest custody step reported."""

    kecamatan_code: str
    name: str
    tps: int = Field(description="TPS in the kecamatan")
    sealed: int = Field(description="sealed at the TPS, not yet left")
    on_road: int = Field(description="left for the PPK, not yet handed over (arrived included)")
    arrived: int = Field(description="of on_road: arrived at the PPK, not yet handed over")
    received: int = Field(description="handed over to the PPK")


class BoxOnRoad(BaseModel):
    """A TPS's boxes between the TPS and the PPK."""

    tps: str
    kecamatan_code: str
    departed_at: datetime
    arrived_at: datetime | None = None
    expected_at: datetime = Field(description="departure + road distance / road speed")
    overdue: bool = Field(description="past the expected arrival plus the margin")
    lat: float
    lon: float
    position_at: datetime | None = Field(
        description="when an escort's phone last gave this position; None: the TPS's or the "
        "departure report's position"
    )
    vehicle: str | None = None
    escorts: list[str] = Field(default_factory=list, description="NRPs")
    ppk_lat: float
    ppk_lon: float


class CustodyOverview(BaseModel):
    """`GET /api/v1/custody`: counts per kecamatan and the boxes on the road, in your area."""

    area: str | None
    kecamatan: list[KecamatanCustody]
    on_road: list[BoxOnRoad]
    sealed: int
    on_road_total: int
    received: int


class CustodyStepPublic(BaseModel):
    """One step of a TPS's custody timeline: what, who, when, where."""

    step: CustodyStep
    device_time: datetime
    received_at: datetime
    officer_nrp: str | None
    officer_name: str | None
    seal_numbers: list[str] = Field(default_factory=list)
    escort_nrps: list[str] = Field(default_factory=list)
    vehicle: str | None = None
    ba_number: str | None = None
    receiver_name: str | None = None
    lat: float | None = None
    lon: float | None = None
    note: str | None = None
    flags: list[str] = Field(default_factory=list)
    source: str
    photo_url: str | None = Field(
        default=None, description="segel: the seals' photo as sent, if the officer added one"
    )
    photo_thumb_url: str | None = Field(default=None, description="its JPEG thumbnail (320 px)")


class PpkPlacePublic(BaseModel):
    """Where a kecamatan's PPK receives the boxes."""

    kecamatan_code: str
    name: str
    lat: float
    lon: float
    is_default: bool = Field(description="true: the registry's kecamatan point, never set")
    updated_by: str | None = None
    updated_at: datetime | None = None


class CustodyTimeline(BaseModel):
    """`GET /api/v1/tps/{code}/custody`: a TPS's custody steps in device-time order."""

    tps: str
    kecamatan_code: str
    steps: list[CustodyStepPublic]
    expected_at: datetime | None = None
    ppk: PpkPlacePublic | None = None


class PpkPlaceUpdate(BaseModel):
    """`PUT /api/v1/ppk/{kecamatan}`: an admin sets the PPK's place."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)]
    lat: Latitude
    lon: Longitude
