"""Operations wire contract: alerts, incident lifecycle, people and sessions, audit trail."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.areas import AreaCode
from schemas.enums import CredentialKind, IncidentCategory, IncidentStatus, Phase, Role, Situation
from schemas.paths import LocalPath


class AlertKind(StrEnum):
    """What an alert is about."""

    BEHIND_SCHEDULE = "behind_schedule"  # TPS: missed a milestone of the calendar
    TPS_NOT_VISITED = "tps_not_visited"  # TPS: no ping from anyone within its grace
    OFFICER_SILENT = "officer_silent"  # officer: devices sent nothing within the grace
    NETWORK_OUTAGE = "network_outage"  # kecamatan (or kabupaten): many TPS silent together
    INCIDENT_SEVERE = "incident_severe"  # incident: severity >= 3, not yet acknowledged
    INCIDENT_UNACKNOWLEDGED = "incident_unacknowledged"  # incident: `baru` for too long
    INTAKE_STALLED = "intake_stalled"  # system: our own intake is not committing
    PHASE_CLAIM = "phase_claim"  # TPS: an unassigned officer reported a later phase: confirm?
    SOS = "sos"  # incident: an officer's SOS, until someone at the post acknowledges it
    # The chain of custody of a TPS's ballot boxes (backend/custody):
    CUSTODY_NOT_DEPARTED = "custody_not_departed"  # TPS: sealed, not left for the PPK in time
    CUSTODY_OVERDUE = "custody_overdue"  # TPS: on the road past the expected arrival + margin
    CUSTODY_NO_BA = "custody_no_ba"  # TPS: handed over without a berita acara number
    CUSTODY_STILL = "custody_still"  # TPS: its convoy stands still on the way


class AlertSubjectKind(StrEnum):
    """What the subject string of an alert names."""

    TPS = "tps"  # TPS code
    OFFICER = "officer"  # NRP
    KECAMATAN = "kecamatan"  # kecamatan code
    KABUPATEN = "kabupaten"  # kabupaten code (an outage of nearly all of it)
    INCIDENT = "incident"  # incident id
    SYSTEM = "system"  # this server


class AlertSeverity(StrEnum):
    """How loud an alert is."""

    WARNING = "warning"
    CRITICAL = "critical"


class AlertPublic(BaseModel):
    """An alert; open while `cleared_at` is None; held under an outage while `parent_id` is set."""

    id: int
    kind: AlertKind
    subject_kind: AlertSubjectKind
    subject: str
    kabupaten_code: str | None
    kecamatan_code: str | None
    severity: AlertSeverity
    detail: dict[str, Any]
    raised_at: datetime
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    silenced_at: datetime | None
    silenced_by: str | None
    silenced_until: datetime | None
    parent_id: int | None  # the network outage this alert is held under (suppressed)
    version: int


class PlatformHealth(BaseModel):
    """Our own health, shown beside the alerts: silence in the field is not a stuck server."""

    queue_depth: int
    last_commit_age_s: float | None
    intake_stalled: bool
    last_sweep_at: datetime | None  # server clock
    sweeper_node: str | None  # node holding the sweep lease
    loop_lag_ms: float = 0.0  # worst event-loop lag of this node in the last 10-20 s
    # What makes this server's configuration unsafe, e.g. "placeholder secret" (empty: nothing).
    insecure: list[str] = Field(default_factory=list)


class AlertsPublic(BaseModel):
    """A list of alerts with the platform's health."""

    data: list[AlertPublic]
    count: int
    platform: PlatformHealth


class AlertSilence(BaseModel):
    """Silence an open alert for a while, or until it clears."""

    minutes: Annotated[float, Field(gt=0, le=24 * 60)] | None = None


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class TpsPhaseConfirm(BaseModel):
    """Confirm the phase an unassigned officer claimed (the one you saw: a compare-and-set)."""

    phase: Phase


class TpsCorrection(BaseModel):
    """A commander sets a TPS's phase (and situation), also backwards; pings before it no
    longer count."""

    phase: Phase
    situation: Situation | None = None
    reason: Note


class IncidentStepKind(StrEnum):
    """One entry in an incident's history."""

    STATUS = "status"
    DISPATCH = "dispatch"
    NOTE = "note"
    MERGE = "merge"
    SPLIT = "split"


class IncidentStep(BaseModel):
    """Who did what to an incident, and when."""

    id: int
    at: datetime
    kind: IncidentStepKind
    actor: str
    from_status: IncidentStatus | None = None
    to_status: IncidentStatus | None = None
    note: str | None = None
    data: dict[str, Any] = {}


class IncidentReportPublic(BaseModel):
    """One officer's report within an incident."""

    id: int
    event_id: str
    officer: str  # NRP
    category: IncidentCategory
    severity: int
    tps: str | None
    device_time: datetime
    received_at: datetime
    description: str
    sos: bool = False
    photos: int = 0


class IncidentAction(BaseModel):
    """A lifecycle step; `version` is the incident version the caller saw (compare-and-set)."""

    version: int
    note: Note | None = None


class IncidentDispatch(IncidentAction):
    """Hand an incident to an officer (NRP) or a unit (unit code): exactly one of them."""

    officer: str | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "IncidentDispatch":
        if (self.officer is None) == (self.unit is None):
            raise ValueError("give exactly one of officer (NRP) or unit (code)")
        return self


class IncidentNoteIn(BaseModel):
    """A free-text line in an incident's log."""

    text: Note


class IncidentMerge(IncidentAction):
    """Merge other incidents into this one: their reports move here, they are closed."""

    others: Annotated[list[int], Field(min_length=1, max_length=50)]


class IncidentSplit(IncidentAction):
    """Move one report out of this incident into an incident of its own."""

    report_id: int


class LoginIn(BaseModel):
    """Username and password."""

    username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SessionPublic(BaseModel):
    """A signed-in session (the secret itself travels only in the HttpOnly cookie)."""

    username: str
    full_name: str
    role: Role
    area_code: str | None
    expires_at: datetime


class WhoAmI(BaseModel):
    """The caller as the server sees it."""

    kind: CredentialKind
    name: str
    role: Role | None
    area_code: str | None
    username: str | None
    can_read: bool


Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,39}$")]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]


class UserCreate(BaseModel):
    """A new person who signs in."""

    username: Username
    full_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    role: Role
    password: Password
    area_code: AreaCode | None = None


class UserUpdate(BaseModel):
    """Changes to a person; changing role, area or password or disabling ends their sessions."""

    full_name: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    role: Role | None = None
    area_code: AreaCode | None = None
    password: Password | None = None
    is_active: bool | None = None


class UserPublic(BaseModel):
    """A person who signs in (never the password hash)."""

    id: int
    username: str
    full_name: str
    role: Role
    area_code: str | None
    is_active: bool
    locked_until: datetime | None
    failed_logins: int
    last_login_at: datetime | None
    created_at: datetime


class UsersPublic(BaseModel):
    """A list of people."""

    data: list[UserPublic]
    count: int


class CredentialPublic(BaseModel):
    """A credential without its secret."""

    id: int
    kind: CredentialKind
    prefix: str
    name: str
    role: Role | None
    officer: str | None  # NRP of a device token
    username: str | None  # owner of a session
    area_code: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class CredentialsPublic(BaseModel):
    """A list of credentials."""

    data: list[CredentialPublic]
    count: int


class DeviceTokenCreate(BaseModel):
    """A device token for an officer's phone."""

    nrp: str
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None


class IssuedCredential(BaseModel):
    """A new credential with its secret, shown once."""

    credential: CredentialPublic
    token: str
    hmac_key_id: int | None = None
    hmac_secret: str | None = None


class KioskLinkCreate(BaseModel):
    """A watch-only link for a wall display."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=120)] = "wall display"
    area_code: AreaCode | None = None
    next: Annotated[LocalPath, StringConstraints(pattern=r"^/[^/].*$|^/$")] = "/wall"


class KioskLink(BaseModel):
    """A kiosk credential and the sign-in URL that puts it into the wall's browser."""

    credential: CredentialPublic
    url: str


class AuditEntryPublic(BaseModel):
    """One link of the audit chain."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject_kind: str | None
    subject: str | None
    area_code: str | None = None  # None: system-wide or from before keyed chaining (national)
    data: dict[str, Any]
    hash: str


class AuditVerifyPublic(BaseModel):
    """A check of the whole chain, cut to what the reader's area may learn."""

    ok: bool
    checked: int  # entries that hold, from the first
    keyed_from: int  # entries before this one predate keyed chaining
    anchors: int  # checkpoints that matched the chain
    anchored_seq: int  # the newest entry a checkpoint vouches for
    bad_seq: int | None = None
    reason: str | None = None
    anchor_problems: list[str] = Field(default_factory=list)


class HistoryRow(BaseModel):
    """One line of a TPS's after-action history, in time order (flat, for CSV too)."""

    at: datetime
    kind: Literal[
        "ping", "transition", "incident_report", "incident_step", "alert_raised", "alert_cleared"
    ]
    ref: str  # event id, transition id, incident id or alert id
    actor: str | None = None  # officer NRP or person
    before: str | None = None
    after: str | None = None
    detail: dict[str, Any] = {}
