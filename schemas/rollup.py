"""Counts per area for national and provincial walls: drill down without loading every TPS."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from schemas.enums import Phase, Situation

RollupLevel = Literal["province", "kabupaten", "kecamatan"]

SEVERE = 3  # open incidents of this severity or more rank above "behind schedule"


class AreaCount(BaseModel):
    """One area's TPS per phase and situation, its open TPS alerts and open incidents."""

    code: str  # "16", "16.08" or "16.08.01"
    name: str
    total: int
    phases: dict[str, int]  # phase value or "belum" (no report yet) -> TPS
    situations: dict[str, int]  # situation value or "belum" -> TPS
    not_seen: int = 0  # open "TPS not visited" alerts (no ping within its grace)
    behind: int = 0  # open "behind schedule" alerts (a calendar milestone missed)
    incidents: dict[int, int] = Field(default_factory=dict)  # severity 1-4 -> open incidents

    @computed_field  # type: ignore[prop-decorator]
    @property
    def open_incidents(self) -> int:
        """Open incidents of every severity."""
        return sum(self.incidents.values())

    @property
    def severe_incidents(self) -> int:
        """Open incidents of severity 3 or 4."""
        return sum(n for s, n in self.incidents.items() if s >= SEVERE)

    @property
    def gangguan(self) -> int:
        """TPS whose last report is a disturbance."""
        return self.situations.get(Situation.GANGGUAN.value, 0)

    @property
    def waspada(self) -> int:
        """TPS on alert."""
        return self.situations.get(Situation.WASPADA.value, 0)

    @property
    def ditunda(self) -> int:
        """TPS whose voting is postponed."""
        return self.phases.get(Phase.DITUNDA.value, 0)


class Rollup(BaseModel):
    """One row per area at `level` inside `area`, problems first.

    Order (absolute counts): TPS in `gangguan`, TPS not seen within their grace, severe open
    incidents (severity 3-4), TPS behind schedule, all open incidents, `waspada`, `ditunda`, then
    by code (backend.overview.problem_key). Drill down by asking the next level with `area` =
    a row's code; at a kabupaten, `/api/v1/tps?area=<code>` lists its TPS.
    """

    level: RollupLevel
    area: str | None  # None: the whole country
    taken_at: datetime
    total: int
    phases: dict[str, int]
    situations: dict[str, int]
    data: list[AreaCount]
