"""Parse and check field events cheaply, before they reach the writer."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from backend.config import Settings
from backend.metrics import METRICS
from backend.tps.index import RegistryIndex, TpsRef
from schemas.enums import FLAG_BITS, EventFlag
from schemas.events import EVENT_TYPES, FIELD_EVENT_ADAPTER, AnyFieldEvent, IncidentIn

_EVENTS_IN = {s: METRICS.events_in.labels(s) for s in ("ws", "http")}
PAYLOAD_KEEP = 64 * 1024  # bytes of a rejected payload kept in the dead-letter table
QUEUEING_ALLOWANCE_S = 2.0  # real seconds an event may spend in queues and still be "on time"

# Where an event came from: the socket, the webhooks, or a chat/SMS channel (backend/channels).
Source = Literal["ws", "http", "whatsapp", "telegram", "smsgate", "smssync"]


@dataclass(slots=True)
class Accepted:
    """A valid event with everything the writer needs."""

    event: AnyFieldEvent
    officer_id: int
    tps: TpsRef | None
    received_at: datetime
    effective_at: datetime  # device time, clamped to receive time for ordering
    flags: int
    source: Source
    kabupaten_code: str
    kecamatan_code: str | None


@dataclass(slots=True)
class Rejected:
    """A refused payload, kept as a dead letter; `event_id` echoes what the sender gave."""

    event_id: str | None
    field: str
    reason: str
    payload: str
    size: int
    source: Source
    officer_id: int | None
    remote: str | None
    received_at: datetime


Item = Accepted | Rejected


def event_id_of(item: Item) -> str | None:
    """The event id an item's ack names."""
    return item.event_id if isinstance(item, Rejected) else str(item.event.event_id)


class FrameError(Exception):
    """The frame as a whole is unusable (not JSON, too big, not an object or array)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def _field_of(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    # A discriminated union puts the tag ("ping"/"incident"/"custody") first in the location.
    if loc and loc[0] in EVENT_TYPES:
        loc = loc[1:]
    if err.get("type") in ("union_tag_not_found", "union_tag_invalid"):
        return "type"
    return ".".join(loc) if loc else "event"


_TYPES_REASON = "must be 'ping', 'incident' or 'custody'"
# Where each kind of event is posted on its own (all of them: /api/v1/events).
_PATHS = {"ping": "pings", "incident": "incidents", "custody": "custody"}


def _reason_of(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "union_tag_invalid":
        return _TYPES_REASON
    if err.get("type") == "union_tag_not_found":
        return "missing: " + _TYPES_REASON
    return msg.removeprefix("Value error, ")


def printable(text: str) -> str:
    """Escape NUL characters: kept text must fit every database (PostgreSQL refuses NUL)."""
    return text.replace("\x00", "\\u0000") if "\x00" in text else text


def _echo_event_id(obj: Any) -> str | None:
    if isinstance(obj, dict):
        v = obj.get("event_id")
        if isinstance(v, str) and len(v) <= 64:
            return printable(v)
    return None


def parse_frame(raw: bytes | str, settings: Settings) -> tuple[list[Any], bool]:
    """Split a frame into raw items; return (items, was_single_object)."""
    size = len(raw)
    if size > settings.max_frame_bytes:
        raise FrameError("frame", f"larger than the limit of {settings.max_frame_bytes} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FrameError("body", f"malformed JSON: {exc}") from None
    if isinstance(data, dict):
        return [data], True
    if isinstance(data, list):
        if not data:
            raise FrameError("body", "empty batch")
        if len(data) > settings.max_batch_events:
            raise FrameError(
                "body", f"batch of {len(data)} events exceeds {settings.max_batch_events}"
            )
        return data, False
    raise FrameError("body", "expected a JSON object or an array of objects")


Kind = Literal["ping", "incident", "custody"]


class Checker:
    """Validates frames and items against the contract, the registry and the clock."""

    def __init__(self, settings: Settings, index: RegistryIndex, clock_speed: float = 1.0) -> None:
        self.settings = settings
        self.index = index
        # Tolerances are clock seconds, but never less than a couple of real seconds: on an
        # exercise clock running N times faster, ordinary queueing would otherwise look like
        # late or skewed devices.
        floor = QUEUEING_ALLOWANCE_S * clock_speed
        self._skew = timedelta(seconds=max(settings.clock_skew_tolerance_s, floor))
        self._late = timedelta(seconds=max(settings.late_after_s, floor))
        self._max_future = timedelta(seconds=settings.max_future_s)
        self._max_age = timedelta(seconds=settings.max_age_s)

    def reject(
        self,
        obj: Any,
        field: str,
        reason: str,
        *,
        source: Source,
        officer_id: int | None,
        remote: str | None,
        now: datetime,
        payload: str | None = None,
    ) -> Rejected:
        """Build a rejection that keeps the offending payload."""
        if payload is None:
            try:
                payload = orjson.dumps(obj).decode()
            except TypeError:
                payload = repr(obj)
        return Rejected(
            event_id=_echo_event_id(obj),
            field=printable(field),
            reason=printable(reason),
            payload=printable(payload[:PAYLOAD_KEEP]),
            size=len(payload),
            source=source,
            officer_id=officer_id,
            remote=remote,
            received_at=now,
        )

    def check_frame(
        self,
        raw: bytes | str,
        *,
        officer_id: int,
        source: Source,
        remote: str | None,
        now: datetime,
        only: Kind | None = None,
    ) -> tuple[list[Item], bool, FrameError | None]:
        """Parse and check a frame: its items, whether it was one object, any whole-frame error."""
        try:
            objs, single = parse_frame(raw, self.settings)
        except FrameError as err:
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            rej = self.reject(
                None,
                err.field,
                err.reason,
                source=source,
                officer_id=officer_id,
                remote=remote,
                now=now,
                payload=text,
            )
            rej.size = len(raw)
            return [rej], True, err
        check = self.check
        items: list[Item] = []
        for obj in objs:
            if only is not None and isinstance(obj, dict) and obj.get("type") not in (only, None):
                other = _PATHS.get(str(obj.get("type")), "events")
                reason = (
                    f"this endpoint takes {_PATHS[only]}; send {other} to /api/v1/{other}"
                    if other != "events"
                    else f"this endpoint takes {_PATHS[only]}; send others to /api/v1/events"
                )
                items.append(
                    self.reject(
                        obj,
                        "type",
                        reason,
                        source=source,
                        officer_id=officer_id,
                        remote=remote,
                        now=now,
                    )
                )
            else:
                items.append(
                    check(obj, officer_id=officer_id, source=source, remote=remote, now=now)
                )
        _EVENTS_IN[source].inc(len(items))
        return items, single, None

    def check(
        self,
        obj: Any,
        *,
        officer_id: int,
        source: Source,
        remote: str | None,
        now: datetime,
    ) -> Item:
        """Validate one item: contract, known TPS, plausible device time."""

        def no(field: str, reason: str) -> Rejected:
            return self.reject(
                obj, field, reason, source=source, officer_id=officer_id, remote=remote, now=now
            )

        if not isinstance(obj, dict):
            return no("event", "expected a JSON object")
        try:
            event = FIELD_EVENT_ADAPTER.validate_python(obj)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            return no(_field_of(dict(err)), _reason_of(dict(err)))
        tps: TpsRef | None = None
        if event.tps is not None:
            tps = self.index.tps_by_code.get(event.tps)
            if tps is None:
                return no("tps", f"unknown TPS code {event.tps}")
        device_time = event.device_time
        if device_time - now > self._max_future:
            return no("device_time", "more than the allowed limit in the future")
        if now - device_time > self._max_age:
            return no("device_time", "older than the allowed limit")
        flags = 0
        effective = device_time
        if device_time - now > self._skew:
            # A clock running ahead must not win every ordering decision: clamp to receive time.
            flags |= FLAG_BITS[EventFlag.CLOCK_SKEW]
            effective = now
        elif now - device_time > self._late:
            flags |= FLAG_BITS[EventFlag.LATE]
        if tps is not None and officer_id not in tps.officer_ids:
            if self.settings.enforce_assignment:
                return no("tps", "officer is not assigned to this TPS")
            officer = self.index.officers.get(officer_id)
            if officer is not None and officer.kabupaten_code != tps.kabupaten_code:
                # At national scale one phone must not paint another Polres's map: outside
                # their own kabupaten, officers report only the TPS they are assigned to (BKO).
                return no("tps", "TPS outside your kabupaten and not assigned to you")
            flags |= FLAG_BITS[EventFlag.UNASSIGNED]
        kecamatan: str | None
        if tps is not None:
            kabupaten, kecamatan = tps.kabupaten_code, tps.kecamatan_code
        else:
            assert isinstance(event, IncidentIn)
            if event.lat is not None:
                kabupaten, kecamatan = self._area_near(officer_id, event.lat, event.lon or 0.0)
            else:  # an SOS without a position: it belongs to the officer's kabupaten
                officer = self.index.officers.get(officer_id)
                kabupaten, kecamatan = (officer.kabupaten_code if officer else ""), None
        return Accepted(
            event=event,
            officer_id=officer_id,
            tps=tps,
            received_at=now,
            effective_at=effective,
            flags=flags,
            source=source,
            kabupaten_code=kabupaten,
            kecamatan_code=kecamatan,
        )

    def _area_near(self, officer_id: int, lat: float, lon: float) -> tuple[str, str | None]:
        """Kabupaten of the officer and kecamatan of the nearest TPS there (rare: no TPS given)."""
        officer = self.index.officers.get(officer_id)
        kabupaten = officer.kabupaten_code if officer else ""
        best: TpsRef | None = None
        best_d = float("inf")
        for t in self.index.tps_in_kabupaten(kabupaten):
            d = (t.lat - lat) ** 2 + (t.lon - lon) ** 2
            if d < best_d:
                best, best_d = t, d
        return kabupaten, best.kecamatan_code if best else None
