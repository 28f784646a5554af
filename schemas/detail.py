"""Drill-down views that combine live state with operations: an incident's file, a TPS's history."""

from pydantic import BaseModel

from schemas.live import IncidentPublic, TpsView
from schemas.ops import (
    AlertPublic,
    AuditEntryPublic,
    HistoryRow,
    IncidentReportPublic,
    IncidentStep,
)


class IncidentDetail(IncidentPublic):
    """An incident with its reports and every step taken on it, oldest first."""

    report_list: list[IncidentReportPublic]
    steps: list[IncidentStep]


class IncidentDetails(BaseModel):
    """Several incidents in full."""

    data: list[IncidentDetail]
    count: int


class TpsHistory(BaseModel):
    """A TPS's after-action history: every ping, transition, incident step and alert, in order."""

    tps: TpsView
    rows: list[HistoryRow]
    incidents: list[IncidentDetail]
    alerts: list[AlertPublic]
    audit: list[AuditEntryPublic]
