"""Public views of officers' positions: the map's officer layer and one officer's trail."""

from datetime import datetime

from pydantic import BaseModel


class OfficerFixPublic(BaseModel):
    """An officer's latest fix; `is_stale` when older than the configured bound."""

    nrp: str
    name: str
    rank: str
    unit: str
    lat: float
    lon: float
    at: datetime
    received_at: datetime
    age_s: float
    battery: float | None
    accuracy_m: float | None
    speed_ms: float | None
    source: str
    is_stale: bool


class OfficerFixesPublic(BaseModel):
    """Latest fixes of the officers of the reader's area, and the bound that made them stale."""

    data: list[OfficerFixPublic]
    count: int
    stale_after_s: float
    now: datetime


class TrailPointPublic(BaseModel):
    """One fix of a trail."""

    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    speed_ms: float | None
    battery: float | None
    source: str


class TrailPublic(BaseModel):
    """One officer's fixes between two times, oldest first."""

    nrp: str
    since: datetime
    until: datetime
    data: list[TrailPointPublic]
    count: int
