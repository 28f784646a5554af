"""Current state of TPS, live deltas pushed after each commit, and the snapshot they apply to."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from schemas.enums import (
    IncidentCategory,
    IncidentStatus,
    Phase,
    RiskRating,
    Situation,
)
from schemas.ops import AlertPublic


class TpsState(BaseModel):
    """What is known now about one TPS; `version` grows with every change."""

    code: str
    phase: Phase | None
    situation: Situation | None
    phase_at: datetime | None
    situation_at: datetime | None
    last_seen_at: datetime | None
    last_received_at: datetime | None
    last_officer: str | None  # NRP
    version: int
    # Raised by open incidents at this TPS (severity >= 3: gangguan, else waspada), independent
    # of what officers report. Absent from ping deltas: a key that is absent leaves it unchanged.
    incident_situation: Situation | None = None
    # A later phase reported by an officer not assigned here, waiting for a commander's
    # confirmation (None when there is none ahead of `phase`); by whom (NRP) and when.
    claimed_phase: Phase | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    # When a commander last corrected this TPS: pings with an earlier device time no longer count.
    corrected_at: datetime | None = None


class TpsView(TpsState):
    """A TPS's registry facts and its current state, as a dashboard shows it."""

    name: str
    desa_code: str
    desa: str
    kecamatan_code: str
    kecamatan: str
    lat: float
    lon: float
    voters: int
    risk: RiskRating
    officers: list[str]


class TpsPage(BaseModel):
    """A list of TPS with their state."""

    data: list[TpsView]
    count: int


class IncidentPublic(BaseModel):
    """An incident: one or more reports about the same trouble."""

    id: int
    status: IncidentStatus
    category: IncidentCategory
    severity: int
    tps: str | None
    kecamatan_code: str | None
    kabupaten_code: str
    lat: float | None
    lon: float | None
    description: str
    opened_at: datetime
    updated_at: datetime
    reports: int
    reported_by: list[str]  # NRP
    version: int = 0  # compare-and-set token for lifecycle steps
    assignee: str | None = None  # "officer:<NRP>" or "unit:<code>" once dispatched
    merged_into: int | None = None
    sos: bool = False  # holds an officer's SOS
    photos: int = 0  # photos of its reports (GET /api/v1/incidents/{id}/photos)


class IncidentsPublic(BaseModel):
    """A list of incidents."""

    data: list[IncidentPublic]
    count: int


class TimelineEvent(BaseModel):
    """One stored event in a TPS's timeline."""

    event_id: uuid.UUID
    kind: Literal["ping", "incident"]
    officer: str
    device_time: datetime
    received_at: datetime
    phase: Phase | None = None
    situation: Situation | None = None
    category: IncidentCategory | None = None
    severity: int | None = None
    note: str | None = None
    flags: list[str] = []


class TpsTimeline(BaseModel):
    """A TPS with its whole history, newest first."""

    tps: TpsView
    events: list[TimelineEvent]


class PhaseCount(BaseModel):
    """How many TPS of a kecamatan are in each phase and situation."""

    kecamatan_code: str
    kecamatan: str
    total: int
    phases: dict[str, int]  # phase value or "belum" (no report yet) -> count
    situations: dict[str, int]


class Summary(BaseModel):
    """Counts per kecamatan and phase."""

    data: list[PhaseCount]
    total: int


class LogEntry(BaseModel):
    """One line in the event log: a phase or situation change, an incident, a silence.

    Structured, not prose: each screen words it in its own language.
    """

    at: datetime
    kind: Literal["phase", "situation", "incident", "silence"]
    tps: str | None = None
    officer: str | None = None  # NRP
    before: str | None = None
    after: str | None = None
    incident_id: int | None = None
    severity: int | None = None


class LiveDelta(BaseModel):
    """What one commit changed, pushed on /ws/live with a per-channel sequence number."""

    type: Literal["delta"] = "delta"
    seq: int
    at: datetime
    channel: str
    tps: list[TpsState] = []
    incidents: list[IncidentPublic] = []
    log: list[LogEntry] = []
    alerts: list[AlertPublic] = []  # optional: alerts raised, cleared or changed by this commit


class LiveControl(BaseModel):
    """Control frames on /ws/live: hello on connect, heartbeat when quiet, resync after a gap."""

    type: Literal["hello", "heartbeat", "resync"]
    seq: int
    channel: str
    at: datetime
    exercise: str | None = None
    degraded: bool = False  # the node lost the cluster's live fan-out (Redis): not fully live


class Snapshot(BaseModel):
    """Everything a dashboard needs to start; deltas with a higher `seq` apply on top."""

    seq: int
    channel: str
    taken_at: datetime
    clock_speed: float = 1.0
    exercise: str | None = None
    grace_s: dict[str, dict[str, float | None]] = {}  # risk -> phase -> seconds (None: unwatched)
    tps: list[TpsView]
    incidents: list[IncidentPublic]
    alerts: list[AlertPublic] = []  # open alerts


class TimelineRow(BaseModel):
    """One TPS's phase and situation per time bin, run-length encoded as [first_bin, value]."""

    code: str
    kecamatan_code: str
    phase: list[tuple[int, str | None]]
    situation: list[tuple[int, str | None]]


class Timeline(BaseModel):
    """Every TPS's status over a period, in bins: the wall's barcode and the progress chart."""

    start: datetime
    end: datetime
    bin_s: int
    bins: int
    rows: list[TimelineRow]
