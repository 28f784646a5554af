"""Import every table so that metadata (Alembic, tests) sees them all."""

from backend.alerts.models import Alert, AlertOutbox
from backend.audit.models import AuditEntry, AuditHead
from backend.auth.models import AuthFailure, Credential
from backend.channels.models import ChannelMessage, ChannelOutbox, ChannelSender
from backend.cluster import Lease
from backend.custody.models import CustodyEvent, PpkPlace
from backend.enrolment.models import Enrolment
from backend.incidents.models import Incident, IncidentReport, IncidentStepRow
from backend.intake.models import DeadLetter, Ping, PingByTps
from backend.meta import Meta
from backend.officers.models import Assignment, Officer, Unit, UnitKecamatan
from backend.photos.models import IncidentPhoto
from backend.positions.models import OfficerLastFix, OfficerPosition, TrackerKey
from backend.regions.models import Boundary, Region
from backend.reports.models import SituationReport
from backend.tps.models import Tps, TpsRollup, TpsState, TpsTransition
from backend.users.models import User

__all__ = [
    "Alert",
    "AlertOutbox",
    "Assignment",
    "AuditEntry",
    "AuditHead",
    "AuthFailure",
    "Boundary",
    "ChannelMessage",
    "ChannelOutbox",
    "ChannelSender",
    "Credential",
    "CustodyEvent",
    "DeadLetter",
    "Enrolment",
    "Incident",
    "IncidentPhoto",
    "IncidentReport",
    "IncidentStepRow",
    "Lease",
    "Meta",
    "Officer",
    "OfficerLastFix",
    "OfficerPosition",
    "Ping",
    "PingByTps",
    "PpkPlace",
    "Region",
    "SituationReport",
    "Tps",
    "TpsRollup",
    "TpsState",
    "TpsTransition",
    "TrackerKey",
    "Unit",
    "UnitKecamatan",
    "User",
]
