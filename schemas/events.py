"""Field events (status pings, incident reports) and their acknowledgements."""

import re
import uuid
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.enums import (
    AckResult,
    CustodyStep,
    EventFlag,
    IncidentCategory,
    Phase,
    Situation,
)

TPS_CODE_PATTERN = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}-\d{3}$"
TPS_CODE_RE = re.compile(TPS_CODE_PATTERN)

TpsCode = Annotated[
    str,
    StringConstraints(pattern=TPS_CODE_PATTERN),
    Field(description="desa code + 3-digit TPS number", examples=["16.08.01.1007-003"]),
]
# Free text from the field: no NUL characters (PostgreSQL text cannot hold them, and no phone
# keyboard types them).
NO_NUL = r"^[^\x00]*$"
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class _FieldEvent(BaseModel):
    # Unknown keys are ignored, not rejected: a newer app version must not lose events, and the
    # officer is never taken from the body, so an extra "officer" key changes nothing.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(description="chosen by the device; UUIDv7 recommended")
    device_time: AwareDatetime = Field(description="ISO 8601 with offset, e.g. +07:00")


class PingIn(_FieldEvent):
    """A status ping about one TPS."""

    type: Literal["ping"]
    tps: TpsCode
    phase: Phase
    situation: Situation
    lat: Latitude | None = None
    lon: Longitude | None = None
    note: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] | None = None

    @model_validator(mode="after")
    def _lat_lon_together(self) -> "PingIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        return self


class IncidentIn(_FieldEvent):
    """An incident report from an officer."""

    type: Literal["incident"]
    # Declared before `severity`, whose check reads it.
    sos: bool = Field(
        default=False,
        description="an officer in danger: severity 4; tps and lat/lon may both be absent",
    )
    category: IncidentCategory
    severity: Annotated[int, Field(ge=1, le=4, description="1 minor … 4 critical")]
    tps: TpsCode | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]

    @field_validator("severity")
    @classmethod
    def _sos_is_critical(cls, severity: int, info: ValidationInfo) -> int:
        if info.data.get("sos") and severity != 4:
            raise ValueError("an SOS has severity 4")
        return severity

    @model_validator(mode="after")
    def _where(self) -> "IncidentIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        # An officer in trouble may have no position fix; the server knows who they are.
        if self.tps is None and self.lat is None and not self.sos:
            raise ValueError("an incident needs tps or lat/lon")
        return self


ShortText = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=NO_NUL)]
Nrp = Annotated[str, StringConstraints(pattern=r"^[0-9]{8,18}$")]


class CustodyIn(_FieldEvent):
    """A step in the chain of custody of one TPS's ballot boxes (docs/custody.md)."""

    type: Literal["custody"]
    tps: TpsCode
    # Declared before the step's own fields, whose checks read it.
    step: CustodyStep
    seal_numbers: list[ShortText] = Field(
        default_factory=list,
        max_length=50,
        validate_default=True,
        description="the seals' numbers; required for segel",
    )
    escort_nrps: list[Nrp] = Field(
        default_factory=list, max_length=20, description="berangkat: the escorting officers"
    )
    vehicle: ShortText | None = Field(default=None, description="berangkat: e.g. a plate number")
    ba_number: ShortText | None = Field(
        default=None,
        description="serah_terima: the PPK's berita acara penerimaan (missing raises an alert)",
    )
    receiver_name: (
        Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)] | None
    ) = Field(default=None, validate_default=True, description="serah_terima: required")
    lat: Latitude | None = None
    lon: Longitude | None = None
    note: Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)] | None = None

    @field_validator("seal_numbers")
    @classmethod
    def _sealed_with_numbers(cls, seals: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("step") is CustodyStep.SEGEL and not seals:
            raise ValueError("segel needs at least one seal number")
        return seals

    @field_validator("receiver_name")
    @classmethod
    def _handed_to_someone(cls, name: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("step") is CustodyStep.SERAH_TERIMA and not (name and name.strip()):
            raise ValueError("serah_terima needs the receiving official's name")
        return name

    @model_validator(mode="after")
    def _lat_lon_together(self) -> "CustodyIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together")
        return self


AnyFieldEvent = PingIn | IncidentIn | CustodyIn
FieldEvent = Annotated[AnyFieldEvent, Field(discriminator="type")]
FIELD_EVENT_ADAPTER: TypeAdapter[AnyFieldEvent] = TypeAdapter(FieldEvent)
EVENT_TYPES = ("ping", "incident", "custody")


class AckError(BaseModel):
    """Why an event was rejected: the field at fault and the reason."""

    field: str
    reason: str


class Ack(BaseModel):
    """The answer to one field event; `stored` only after the event is on disk."""

    type: Literal["ack"] = "ack"
    event_id: uuid.UUID | None
    result: AckResult
    error: AckError | None = None
    flags: list[EventFlag] = Field(default_factory=list)
