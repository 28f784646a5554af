"""Live deltas: every `/ws/live` delta is built here, in the shape of `schemas.live.LiveDelta`.

A change (a committed batch, a commander's step, a sweep) becomes one body per kabupaten,
published on each of that kabupaten's channels by `LivePublisher`; the broadcaster adds `seq`
and `channel`. Every body carries every list of the schema, empty when nothing of that kind
changed. The TPS rows of a batch stay plain dicts on purpose (`tps.service.state_dict`, kept in
step with `TpsState` by tests/realtime/test_deltas.py): a batch changes hundreds of TPS, and
validating each through pydantic would cost intake a measurable share of its throughput.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from backend.metrics import METRICS
from backend.realtime.broadcast import Broadcaster
from backend.realtime.hub import channels_for_kabupaten
from schemas.live import IncidentPublic, LiveDelta, TpsState, TpsView
from schemas.ops import AlertPublic

# The lists of a delta; `type` and `at` are set once per body, `seq` and `channel` on publish.
LISTS = tuple(
    name for name in LiveDelta.model_fields if name not in {"type", "at", "seq", "channel"}
)
_TPS_KEYS = tuple(TpsState.model_fields)


class Deltas:
    """The delta bodies of one change, one per kabupaten, in the order they were first touched."""

    def __init__(self, at: datetime) -> None:
        self.at = at.isoformat()
        self.bodies: dict[str, dict[str, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self.bodies)

    def _body(self, kabupaten_code: str) -> dict[str, Any]:
        body = self.bodies.get(kabupaten_code)
        if body is None:
            body = {"type": "delta", "at": self.at, **{name: [] for name in LISTS}}
            self.bodies[kabupaten_code] = body
        return body

    def tps_row(self, kabupaten_code: str, row: dict[str, Any]) -> None:
        """Add a TPS state already in `TpsState`'s JSON shape (`tps.service.state_dict`)."""
        self._body(kabupaten_code)["tps"].append(row)

    def tps_view(self, view: TpsView) -> None:
        """Add the full state of a TPS as a read shows it (its registry facts left out)."""
        data = view.model_dump(mode="json", include=set(_TPS_KEYS))
        self.tps_row(view.kecamatan_code.rsplit(".", 1)[0], {k: data[k] for k in _TPS_KEYS})

    def log(self, kabupaten_code: str, entry: dict[str, Any]) -> None:
        """Add a log line in `LogEntry`'s JSON shape."""
        self._body(kabupaten_code)["log"].append(entry)

    def incident(self, inc: IncidentPublic, *, logged: bool = False) -> None:
        """Add an incident as it is now; `logged`: also its line in the event log (a report)."""
        body = self._body(inc.kabupaten_code)
        body["incidents"].append(inc.model_dump(mode="json"))
        if logged:
            body["log"].append(
                {
                    "at": inc.updated_at.isoformat(),
                    "kind": "incident",
                    "tps": inc.tps,
                    "officer": inc.reported_by[-1] if inc.reported_by else None,
                    "after": inc.category.value,
                    "incident_id": inc.id,
                    "severity": inc.severity,
                }
            )

    def alert(self, alert: AlertPublic, everywhere: Iterable[str]) -> None:
        """Add an alert on its kabupaten; a system alert (no kabupaten) on every one."""
        data = alert.model_dump(mode="json")
        for kab in [alert.kabupaten_code] if alert.kabupaten_code else everywhere:
            self._body(kab)["alerts"].append(data)


class LivePublisher:
    """The one way a delta leaves the server: each body on every channel of its kabupaten."""

    def __init__(self, broadcaster: Broadcaster) -> None:
        self.broadcaster = broadcaster

    async def publish(self, deltas: Deltas) -> None:
        """Publish every body (in the order their kabupaten were first touched)."""
        for kab, body in deltas.bodies.items():
            for channel in channels_for_kabupaten(kab):
                await self.broadcaster.publish(channel, body)
                METRICS.live_messages.inc()
