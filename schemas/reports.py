"""Laporan situasi: the drafted content of a situation report and its public forms."""

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ReportKind(StrEnum):
    """Why a report was drafted: the hourly schedule, a commander's request, the day's close."""

    HOURLY = "hourly"
    ON_DEMAND = "on_demand"
    DAILY = "daily"


class ReportStatus(StrEnum):
    """A draft may be edited; a signed report is frozen."""

    DRAFT = "draft"
    SIGNED = "signed"


class UnitPersonnel(BaseModel):
    """Officers of one unit (Polres or Polsek) deployed in the area."""

    unit_code: str
    unit_name: str
    deployed: int  # officers assigned to at least one TPS of the area
    heard: int  # of them, heard from within the period


class IncidentLine(BaseModel):
    """One incident with its one-line account."""

    id: int
    category: str
    severity: int
    status: str  # at the end of the period
    tps: str | None
    opened_at: datetime
    account: str


class IncidentCounts(BaseModel):
    """New / handled / open incidents, by category and by severity."""

    new: int = 0
    handled: int = 0
    still_open: int = 0  # at the end of the period
    by_category: dict[str, dict[str, int]] = Field(
        default_factory=dict
    )  # cat -> new/handled/open counts
    by_severity: dict[str, dict[str, int]] = Field(default_factory=dict)  # "1".."4" -> same


class BoxCounts(BaseModel):
    """Ballot boxes: sealed at the TPS, on the road to the PPK, received by the PPK."""

    sealed: int = 0
    on_road: int = 0
    received: int = 0


class AreaSection(BaseModel):
    """What a report says about one area: the kabupaten as a whole, or one kecamatan."""

    code: str
    name: str
    tps_total: int = 0
    tps_by_phase: dict[str, int] = Field(default_factory=dict)  # "belum" for not reported yet
    behind_schedule: int = 0
    personnel: list[UnitPersonnel] = Field(default_factory=list)
    incidents: IncidentCounts = Field(default_factory=IncidentCounts)
    incident_lines: list[IncidentLine] = Field(default_factory=list)
    silent_tps: list[str] = Field(default_factory=list)
    silent_officers: list[str] = Field(default_factory=list)  # NRPs
    boxes: BoxCounts = Field(default_factory=BoxCounts)


class ReportContent(BaseModel):
    """A drafted situation report: the kabupaten and each of its kecamatan at one moment."""

    model_config = ConfigDict(frozen=True)

    area_code: str
    area_name: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    drafted_at: AwareDatetime
    kabupaten: AreaSection
    kecamatan: list[AreaSection] = Field(default_factory=list)


class ReportPublic(BaseModel):
    """A situation report as the API gives it."""

    id: int
    area_code: str
    kind: ReportKind
    period_start: datetime
    period_end: datetime
    version: int
    status: ReportStatus
    content: ReportContent
    remarks: str
    plan_next: str
    signer_name: str | None = None
    signer_rank: str | None = None
    signer_nrp: str | None = None
    signed_at: datetime | None = None
    content_sha256: str | None = None
    created_at: datetime
    updated_at: datetime
    row_version: int  # send it back with an edit or a signature: 409 if it changed meanwhile


class ReportSummary(BaseModel):
    """A row of the report list (no content)."""

    id: int
    area_code: str
    kind: ReportKind
    period_start: datetime
    period_end: datetime
    version: int
    status: ReportStatus
    signed_at: datetime | None = None
    signer_name: str | None = None


class ReportsPublic(BaseModel):
    """A list of reports, newest first."""

    data: list[ReportSummary]
    count: int


class ReportDraftRequest(BaseModel):
    """Draft a report now: for an area, a period (default: since the last report), a kind."""

    model_config = ConfigDict(extra="forbid")

    area: str | None = Field(default=None, pattern=r"^[0-9]{2}\.[0-9]{2}$")
    kind: ReportKind = ReportKind.ON_DEMAND
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None


class ReportEdit(BaseModel):
    """The commander's own words on a draft."""

    model_config = ConfigDict(extra="forbid")

    remarks: str | None = Field(default=None, max_length=4000)
    plan_next: str | None = Field(default=None, max_length=4000)
    row_version: int | None = Field(default=None, ge=0, le=2**31, description="as read")


class ReportSign(BaseModel):
    """Who signs: the commander's name, rank and NRP."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=120)
    rank: str = Field(min_length=2, max_length=40)
    nrp: str = Field(pattern=r"^[0-9]{8,18}$")
    row_version: int | None = Field(default=None, ge=0, le=2**31, description="as read")
