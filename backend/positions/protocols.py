"""The tracker apps' wire formats: Traccar Client (OsmAnd protocol) and OwnTracks HTTP.

Pure parsing, no I/O: a body and its query string in, one report (or a FixRefused) out.
Sources: traccar/traccar OsmAndProtocolDecoder.java, traccar-client-sdk HttpUploader.kt, the
Flutter client's JSON; owntracks/booklet docs/tech/json.md (see /docs/channels.md).
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import orjson

from backend.positions.service import FixRefused

KNOT_MS = 1852 / 3600  # Traccar's speed is in knots (its clients multiply m/s by 1.94384)
KMH_MS = 1 / 3.6  # OwnTracks' vel is in km/h
WIB = ZoneInfo("Asia/Jakarta")  # "yyyy-MM-dd HH:mm:ss" is server-local time in Traccar: ours
_MS_FROM = 100_000_000_000  # epoch values above this are milliseconds (year 5138 in seconds)


@dataclass(frozen=True, slots=True)
class TrackerReport:
    """What one tracker message says; lat/lon None for a heartbeat or a push registration."""

    device: str
    at: datetime | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None = None
    speed_ms: float | None = None
    heading: float | None = None
    altitude_m: float | None = None
    battery: float | None = None
    is_sos: bool = False


def _number(value: Any, field: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FixRefused(field, "must be a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise FixRefused(field, f"must be a number, not {str(value)[:40]!r}") from None
    if not math.isfinite(out):
        raise FixRefused(field, "must be a finite number")
    return out


def parse_time(value: Any, field: str = "timestamp") -> datetime | None:
    """Epoch seconds or milliseconds, ISO-8601, or 'yyyy-MM-dd HH:mm:ss' (WIB)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            try:
                at = datetime.fromisoformat(text)
            except ValueError:
                raise FixRefused(field, f"not a time: {text[:40]!r}") from None
            return at.replace(tzinfo=WIB if "T" not in text else UTC) if at.tzinfo is None else at
    if not math.isfinite(number) or number < 0:
        raise FixRefused(field, "must be a positive epoch time")
    if number >= _MS_FROM:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):
        raise FixRefused(field, "epoch time out of range") from None


def _parse_osmand_params(params: dict[str, str]) -> TrackerReport:
    device = params.get("id") or params.get("deviceid") or ""
    if not device:
        raise FixRefused("id", "missing: the device identifier set in Traccar Client")
    lat, lon = _number(params.get("lat"), "lat"), _number(params.get("lon"), "lon")
    if lat is None and lon is None and params.get("location"):
        parts = params["location"].split(",")
        if len(parts) != 2:
            raise FixRefused("location", "must be lat,lon")
        lat, lon = _number(parts[0], "location"), _number(parts[1], "location")
    if (lat is None) != (lon is None):
        raise FixRefused("lat" if lat is None else "lon", "lat and lon come together")
    knots = _number(params.get("speed"), "speed")
    return TrackerReport(
        device=device,
        at=parse_time(params.get("timestamp")),
        lat=lat,
        lon=lon,
        accuracy_m=_number(params.get("accuracy"), "accuracy"),
        speed_ms=None if knots is None else knots * KNOT_MS,
        heading=_number(params.get("bearing") or params.get("heading"), "bearing"),
        altitude_m=_number(params.get("altitude"), "altitude"),
        battery=_number(params.get("batt"), "batt"),
        is_sos=params.get("alarm", "").lower() == "sos",
    )


def _parse_flutter_json(data: dict[str, Any]) -> TrackerReport:
    """Traccar Client 9.0-9.7.17: flutter_background_geolocation's JSON (m/s, battery 0-1)."""
    device = data.get("device_id")
    if not isinstance(device, str | int) or isinstance(device, bool) or device == "":
        raise FixRefused("device_id", "missing: the device identifier set in Traccar Client")
    loc = data.get("location")
    if not isinstance(loc, dict):
        raise FixRefused("location", "missing or not an object")
    coords = loc.get("coords") if isinstance(loc.get("coords"), dict) else {}
    assert isinstance(coords, dict)
    battery = loc.get("battery") if isinstance(loc.get("battery"), dict) else {}
    assert isinstance(battery, dict)
    level = _number(battery.get("level"), "battery.level")
    extras = loc.get("extras") if isinstance(loc.get("extras"), dict) else {}
    assert isinstance(extras, dict)
    lat = _number(coords.get("latitude"), "coords.latitude")
    lon = _number(coords.get("longitude"), "coords.longitude")
    if (lat is None) != (lon is None):
        raise FixRefused("coords", "latitude and longitude come together")
    speed = _number(coords.get("speed"), "coords.speed")
    return TrackerReport(
        device=str(device),
        at=parse_time(loc.get("timestamp"), "location.timestamp"),
        lat=lat,
        lon=lon,
        accuracy_m=_number(coords.get("accuracy"), "coords.accuracy"),
        # The plugin reports -1 for "unknown" speed and heading.
        speed_ms=speed if speed is not None and speed >= 0 else None,
        heading=_number(coords.get("heading"), "coords.heading"),
        altitude_m=_number(coords.get("altitude"), "coords.altitude"),
        battery=None if level is None or level < 0 else round(level * 100, 1),
        is_sos=str(extras.get("alarm", "")).lower() == "sos",
    )


def parse_osmand(query: str, body: bytes, content_type: str) -> TrackerReport:
    """One Traccar Client message: query string, form body or JSON body (merged as Traccar does)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    is_form = kind == "application/x-www-form-urlencoded"
    if kind == "application/json" or (body[:1] == b"{" and not is_form):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FixRefused("body", f"malformed JSON: {exc}") from None
        if not isinstance(data, dict):
            raise FixRefused("body", "expected a JSON object")
        return _parse_flutter_json(data)
    params = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise FixRefused("body", "not UTF-8 form data") from None
        params.update(parse_qsl(text, keep_blank_values=True))
    return _parse_osmand_params(params)


@dataclass(frozen=True, slots=True)
class OwnTracksMessage:
    """An OwnTracks message: its type, and the report when it is a location."""

    type: str
    report: TrackerReport | None


def parse_owntracks(body: bytes, *, device: str) -> OwnTracksMessage:
    """One OwnTracks HTTP message; only `_type: location` carries a report."""
    if not body.strip():
        return OwnTracksMessage("empty", None)  # sent when a friend is deleted: nothing to do
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FixRefused("body", f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FixRefused("body", "expected a JSON object")
    kind = data.get("_type")
    if not isinstance(kind, str):
        raise FixRefused("_type", "missing")
    if kind != "location":
        return OwnTracksMessage(kind, None)
    lat, lon = _number(data.get("lat"), "lat"), _number(data.get("lon"), "lon")
    if lat is None or lon is None:
        raise FixRefused("lat" if lat is None else "lon", "missing")
    at = parse_time(data.get("tst"), "tst")
    if at is None:
        raise FixRefused("tst", "missing")
    vel = _number(data.get("vel"), "vel")
    return OwnTracksMessage(
        kind,
        TrackerReport(
            device=device,
            at=at,
            lat=lat,
            lon=lon,
            accuracy_m=_number(data.get("acc"), "acc"),
            speed_ms=None if vel is None or vel < 0 else vel * KMH_MS,
            heading=_number(data.get("cog"), "cog"),
            altitude_m=_number(data.get("alt"), "alt"),
            battery=_number(data.get("batt"), "batt"),
        ),
    )
