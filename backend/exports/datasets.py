"""What each export holds: its columns, and the one query that reads them in a stable order.

A dataset is a SELECT whose columns are its export columns, in order, cut to an area (the same
cut as the dataset's read API) and, where it has a time, to a window `[from, to)`. Every query is
ordered by a unique key, so two exports of the same snapshot are the same file.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from backend.alerts.models import Alert
from backend.areas import kabupaten_in
from backend.audit.models import AuditEntry
from backend.incidents.models import Incident, IncidentReport, IncidentStepRow
from backend.officers.models import Officer
from backend.positions.models import OfficerPosition
from backend.regions.models import Region
from backend.tps.models import Tps, TpsState, TpsTransition
from schemas.enums import PHASE_ORDER, Role

Query = Select[*tuple[Any, ...]]


class Kind(StrEnum):
    """How a column's values are written."""

    TEXT = "text"  # codes and names from the registry or the server
    FREE = "free"  # text typed in the field or by people (every text cell of a CSV is guarded)
    JSON = "json"  # a JSON object kept as text (nested as an object in GeoJSON)
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIME = "time"  # written twice in CSV/XLSX: <name>_wib and <name>_utc


class Format(StrEnum):
    """The export formats."""

    CSV = "csv"
    XLSX = "xlsx"
    GEOJSON = "geojson"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of an export."""

    name: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows: an area (None: national) and a time window `[since, until)`."""

    area: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Dataset:
    """An export: its columns, its query, who may read it, and where its rows are."""

    name: str
    columns: tuple[Column, ...]
    query: Callable[[Scope], Query]
    role: Role = Role.VIEWER
    time_column: str | None = None  # what `from`/`to` cut, named in the docs
    is_located: bool = False  # has `lat` and `lon` columns: GeoJSON points
    # Datasets whose rows belong to one of this one's rows (by `parent_key`): further sheets of
    # its XLSX, nested arrays in its GeoJSON properties.
    children: tuple[str, ...] = ()
    parent_key: str | None = None  # the column naming the parent row (children only)

    @property
    def names(self) -> tuple[str, ...]:
        """The column names."""
        return tuple(c.name for c in self.columns)


F, J, N, R, B, W = Kind.FREE, Kind.JSON, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.TIME


def _window(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """`from` inclusive, `to` exclusive: consecutive windows never count a row twice."""
    conds: list[ColumnElement[bool]] = []
    if scope.since is not None:
        conds.append(column >= scope.since)
    if scope.until is not None:
        conds.append(column < scope.until)
    return conds


def _in_area(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    return [] if scope.area is None else [kabupaten_in(column, scope.area)]


# --- TPS states ---------------------------------------------------------------------------------

TPS_COLUMNS = (
    Column("tps_code"),
    Column("tps_number", N),
    Column("province_code"),
    Column("kabupaten_code"),
    Column("kecamatan_code"),
    Column("kecamatan"),
    Column("desa_code"),
    Column("desa"),
    Column("lat", R),
    Column("lon", R),
    Column("voters", N),
    Column("risk"),
    Column("phase"),
    Column("phase_at", W),
    Column("situation"),
    Column("situation_at", W),
    Column("postponed_at", W),
    Column("last_seen_at", W),
    Column("last_received_at", W),
    Column("last_officer_nrp"),
    Column("claimed_phase"),
    Column("claimed_at", W),
    Column("claimed_officer_nrp"),
    Column("corrected_at", W),
    Column("version", N),
)


def _tps(scope: Scope) -> Query:
    desa, kec = aliased(Region), aliased(Region)
    last, claimer = aliased(Officer), aliased(Officer)
    # The phase claimed by an unassigned officer, while it is still ahead (pending confirmation).
    claimed = case(
        *(
            (col(TpsState.claimed_rank) == rank, literal(p.value))
            for rank, p in enumerate(PHASE_ORDER)
        ),
        else_=None,
    )
    pending = case((col(TpsState.claimed_rank) > col(TpsState.phase_rank), claimed), else_=None)
    return (
        select(
            col(Tps.code),
            col(Tps.number),
            col(Tps.province_code),
            col(Tps.kabupaten_code),
            col(Tps.kecamatan_code),
            col(kec.name),
            col(Tps.desa_code),
            col(desa.name),
            col(Tps.lat),
            col(Tps.lon),
            col(Tps.voters),
            col(Tps.risk),
            col(TpsState.phase),
            col(TpsState.phase_at),
            col(TpsState.situation),
            col(TpsState.situation_at),
            col(TpsState.postponed_at),
            col(TpsState.last_seen_at),
            col(TpsState.last_received_at),
            col(last.nrp),
            pending,
            case((col(TpsState.claimed_rank) > col(TpsState.phase_rank), col(TpsState.claimed_at))),
            case((col(TpsState.claimed_rank) > col(TpsState.phase_rank), col(claimer.nrp))),
            col(TpsState.corrected_at),
            func.coalesce(col(TpsState.version), 0),
        )
        .select_from(Tps)
        .outerjoin(TpsState, col(TpsState.tps_id) == col(Tps.id))
        .outerjoin(desa, col(desa.code) == col(Tps.desa_code))
        .outerjoin(kec, col(kec.code) == col(Tps.kecamatan_code))
        .outerjoin(last, col(last.id) == col(TpsState.last_officer_id))
        .outerjoin(claimer, col(claimer.id) == col(TpsState.claimed_officer_id))
        .where(*_in_area(col(Tps.kabupaten_code), scope))
        .order_by(col(Tps.code))
    )


# --- the timeline -------------------------------------------------------------------------------

TIMELINE_COLUMNS = (
    Column("transition_id", N),
    Column("tps_code"),
    Column("kabupaten_code"),
    Column("kecamatan_code"),
    Column("kind"),
    Column("before"),
    Column("after"),
    Column("at", W),
    Column("received_at", W),
    Column("officer_nrp"),
)


def _timeline(scope: Scope) -> Query:
    return (
        select(
            col(TpsTransition.id),
            col(Tps.code),
            col(Tps.kabupaten_code),
            col(Tps.kecamatan_code),
            col(TpsTransition.kind),
            col(TpsTransition.before),
            col(TpsTransition.after),
            col(TpsTransition.at),
            col(TpsTransition.received_at),
            col(Officer.nrp),
        )
        .join(Tps, col(Tps.id) == col(TpsTransition.tps_id))
        .outerjoin(Officer, col(Officer.id) == col(TpsTransition.officer_id))
        .where(*_in_area(col(Tps.kabupaten_code), scope), *_window(col(TpsTransition.at), scope))
        .order_by(col(TpsTransition.id))
    )


# --- incidents, their reports and steps ---------------------------------------------------------

INCIDENT_COLUMNS = (
    Column("incident_id", N),
    Column("status"),
    Column("category"),
    Column("severity", N),
    Column("is_sos", B),
    Column("tps_code"),
    Column("kabupaten_code"),
    Column("kecamatan_code"),
    Column("lat", R),
    Column("lon", R),
    Column("description", F),
    Column("opened_at", W),
    Column("updated_at", W),
    Column("assignee", F),
    Column("merged_into_id", N),
    Column("sos_acknowledged_at", W),
    Column("report_count", N),
    Column("step_count", N),
    Column("version", N),
)


def _incident_cut(scope: Scope) -> list[ColumnElement[bool]]:
    """Incidents of the area opened in the window; their reports and steps go with them."""
    return [
        *_in_area(col(Incident.kabupaten_code), scope),
        *_window(col(Incident.opened_at), scope),
    ]


def _incidents(scope: Scope) -> Query:
    reports = (
        select(func.count())
        .where(col(IncidentReport.incident_id) == col(Incident.id))
        .scalar_subquery()
    )
    steps = (
        select(func.count())
        .where(col(IncidentStepRow.incident_id) == col(Incident.id))
        .scalar_subquery()
    )
    return (
        select(
            col(Incident.id),
            col(Incident.status),
            col(Incident.category),
            col(Incident.severity),
            col(Incident.is_sos),
            col(Tps.code),
            col(Incident.kabupaten_code),
            col(Incident.kecamatan_code),
            # Where it happened: the place reported, else its TPS.
            func.coalesce(col(Incident.lat), col(Tps.lat)),
            func.coalesce(col(Incident.lon), col(Tps.lon)),
            col(Incident.description),
            col(Incident.opened_at),
            col(Incident.updated_at),
            col(Incident.assignee),
            col(Incident.merged_into_id),
            col(Incident.sos_acknowledged_at),
            reports,
            steps,
            col(Incident.version),
        )
        .select_from(Incident)
        .outerjoin(Tps, col(Tps.id) == col(Incident.tps_id))
        .where(*_incident_cut(scope))
        .order_by(col(Incident.id))
    )


REPORT_COLUMNS = (
    Column("report_id", N),
    Column("incident_id", N),
    Column("event_id"),
    Column("officer_nrp"),
    Column("category"),
    Column("severity", N),
    Column("is_sos", B),
    Column("tps_code"),
    Column("lat", R),
    Column("lon", R),
    Column("description", F),
    Column("device_time", W),
    Column("received_at", W),
    Column("flags", N),
    Column("source"),
)


def _reports(scope: Scope) -> Query:
    return (
        select(
            col(IncidentReport.id),
            col(IncidentReport.incident_id),
            col(IncidentReport.event_id),
            col(Officer.nrp),
            col(IncidentReport.category),
            col(IncidentReport.severity),
            col(IncidentReport.is_sos),
            col(Tps.code),
            col(IncidentReport.lat),
            col(IncidentReport.lon),
            col(IncidentReport.description),
            col(IncidentReport.device_time),
            col(IncidentReport.received_at),
            col(IncidentReport.flags),
            col(IncidentReport.source),
        )
        .join(Incident, col(Incident.id) == col(IncidentReport.incident_id))
        .outerjoin(Officer, col(Officer.id) == col(IncidentReport.officer_id))
        .outerjoin(Tps, col(Tps.id) == col(IncidentReport.tps_id))
        .where(*_incident_cut(scope))
        .order_by(col(IncidentReport.incident_id), col(IncidentReport.id))
    )


STEP_COLUMNS = (
    Column("step_id", N),
    Column("incident_id", N),
    Column("at", W),
    Column("kind"),
    Column("actor", F),
    Column("from_status"),
    Column("to_status"),
    Column("note", F),
    Column("data", J),
)


def _steps(scope: Scope) -> Query:
    return (
        select(
            col(IncidentStepRow.id),
            col(IncidentStepRow.incident_id),
            col(IncidentStepRow.at),
            col(IncidentStepRow.kind),
            col(IncidentStepRow.actor),
            col(IncidentStepRow.from_status),
            col(IncidentStepRow.to_status),
            col(IncidentStepRow.note),
            col(IncidentStepRow.data),
        )
        .join(Incident, col(Incident.id) == col(IncidentStepRow.incident_id))
        .where(*_incident_cut(scope))
        .order_by(col(IncidentStepRow.incident_id), col(IncidentStepRow.id))
    )


# --- alerts -------------------------------------------------------------------------------------

ALERT_COLUMNS = (
    Column("alert_id", N),
    Column("kind"),
    Column("severity"),
    Column("subject_kind"),
    Column("subject"),
    Column("kabupaten_code"),
    Column("kecamatan_code"),
    Column("detail", J),
    Column("raised_at", W),
    Column("cleared_at", W),
    Column("acknowledged_at", W),
    Column("acknowledged_by", F),
    Column("silenced_at", W),
    Column("silenced_by", F),
    Column("silenced_until", W),
    Column("parent_id", N),
    Column("notified_at", W),
)


def _alerts(scope: Scope) -> Query:
    q = select(
        col(Alert.id),
        col(Alert.kind),
        col(Alert.severity),
        col(Alert.subject_kind),
        col(Alert.subject),
        col(Alert.kabupaten_code),
        col(Alert.kecamatan_code),
        col(Alert.detail),
        col(Alert.raised_at),
        col(Alert.cleared_at),
        col(Alert.acknowledged_at),
        col(Alert.acknowledged_by),
        col(Alert.silenced_at),
        col(Alert.silenced_by),
        col(Alert.silenced_until),
        col(Alert.parent_id),
        col(Alert.notified_at),
    ).where(*_window(col(Alert.raised_at), scope))
    if scope.area is not None:
        # As the alerts API cuts them: an alert of no kabupaten (a platform alert) is everyone's.
        q = q.where(
            kabupaten_in(col(Alert.kabupaten_code), scope.area)
            | col(Alert.kabupaten_code).is_(None)
        )
    return q.order_by(col(Alert.id))


# --- officers' positions ------------------------------------------------------------------------

POSITION_COLUMNS = (
    Column("officer_nrp"),
    Column("officer_name"),
    Column("kabupaten_code"),
    Column("device_time", W),
    Column("received_at", W),
    Column("lat", R),
    Column("lon", R),
    Column("accuracy_m", R),
    Column("speed_ms", R),
    Column("heading", R),
    Column("altitude_m", R),
    Column("battery", R),
    Column("source"),
)


def _positions(scope: Scope) -> Query:
    return (
        select(
            col(Officer.nrp),
            col(Officer.name),
            col(Officer.kabupaten_code),
            col(OfficerPosition.device_time),
            col(OfficerPosition.received_at),
            col(OfficerPosition.lat),
            col(OfficerPosition.lon),
            col(OfficerPosition.accuracy_m),
            col(OfficerPosition.speed_ms),
            col(OfficerPosition.heading),
            col(OfficerPosition.altitude_m),
            col(OfficerPosition.battery),
            col(OfficerPosition.source),
        )
        .join(Officer, col(Officer.id) == col(OfficerPosition.officer_id))
        .where(
            *_in_area(col(Officer.kabupaten_code), scope),
            *_window(col(OfficerPosition.device_time), scope),
        )
        # The table's own key: each officer's trail in time order, read without a sort.
        .order_by(
            col(OfficerPosition.officer_id),
            col(OfficerPosition.device_time),
            col(OfficerPosition.lat),
            col(OfficerPosition.lon),
        )
    )


# --- the audit trail ----------------------------------------------------------------------------

AUDIT_COLUMNS = (
    Column("seq", N),
    Column("at", W),
    Column("actor", F),
    Column("action"),
    Column("subject_kind"),
    Column("subject", F),
    Column("area_code"),
    Column("data", J),
    Column("prev_hash"),
    Column("hash"),
)


def _audit(scope: Scope) -> Query:
    q = select(
        col(AuditEntry.seq),
        col(AuditEntry.at),
        col(AuditEntry.actor),
        col(AuditEntry.action),
        col(AuditEntry.subject_kind),
        col(AuditEntry.subject),
        col(AuditEntry.area_code),
        col(AuditEntry.data),
        col(AuditEntry.prev_hash),
        col(AuditEntry.hash),
    ).where(*_window(col(AuditEntry.at), scope))
    if scope.area is not None:
        # Exactly the audit API's cut (audit/service.py: list_entries): entries without an area
        # are for national readers only.
        q = q.where(
            (col(AuditEntry.area_code) == scope.area)
            | col(AuditEntry.area_code).startswith(scope.area + ".", autoescape=True)
        )
    return q.order_by(col(AuditEntry.seq))


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("tps", TPS_COLUMNS, _tps, is_located=True),
        Dataset("timeline", TIMELINE_COLUMNS, _timeline, time_column="at"),
        Dataset(
            "incidents",
            INCIDENT_COLUMNS,
            _incidents,
            time_column="opened_at",
            is_located=True,
            children=("incident_reports", "incident_steps"),
        ),
        Dataset(
            "incident_reports",
            REPORT_COLUMNS,
            _reports,
            time_column="opened_at",
            parent_key="incident_id",
        ),
        Dataset(
            "incident_steps",
            STEP_COLUMNS,
            _steps,
            time_column="opened_at",
            parent_key="incident_id",
        ),
        Dataset("alerts", ALERT_COLUMNS, _alerts, time_column="raised_at"),
        Dataset(
            "positions", POSITION_COLUMNS, _positions, time_column="device_time", is_located=True
        ),
        Dataset("audit", AUDIT_COLUMNS, _audit, role=Role.COMMANDER, time_column="at"),
    )
}
