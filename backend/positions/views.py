"""Tracker channels (Traccar Client, OwnTracks) and the map's reads of officers' positions."""

import asyncio
import base64
import binascii
import re
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from prometheus_client import Counter
from sqlmodel import Session

from backend.auth.service import AuthError
from backend.config import WIB
from backend.deps import (
    ReaderDep,
    RuntimeDep,
    SessionDep,
    read_capped,
    record_refusal,
    remote_of,
    scoped_area,
)
from backend.intake.validate import PAYLOAD_KEEP, Rejected, printable
from backend.intake.writer import StorageUnavailable
from backend.metrics import METRICS
from backend.positions import service
from backend.positions.keys import TrackerKeys
from backend.positions.protocols import TrackerReport, parse_osmand, parse_owntracks
from backend.positions.service import Fix, FixRefused, TrackerOwner
from backend.positions.writer import PositionWriter
from backend.runtime import Runtime
from schemas.enums import CredentialKind
from schemas.errors import problem_responses
from schemas.positions import (
    OfficerFixesPublic,
    OfficerFixPublic,
    TrailPointPublic,
    TrailPublic,
)

router = APIRouter()
BODY_MAX = 64 * 1024  # one tracker message is a few hundred bytes
TRAIL_MAX = 20_000  # a day at one fix every 10 s is 8,640
# A tracker's SOS is an incident with an id made from who and when: the app resending it (a
# lost 200) stores it once.
_SOS_NS = uuid.UUID("5b0f5a52-3c1e-4b7e-9d43-1f0c2a7e8d11")

POSITIONS = Counter(
    "posko_positions",
    "Tracker messages by channel and result",
    ["channel", "result"],
    registry=METRICS.registry,
)


def _parts(rt: Runtime) -> tuple[PositionWriter, TrackerKeys]:
    assert rt.positions is not None and rt.tracker_keys is not None
    return rt.positions, rt.tracker_keys


def _redacted(payload: str, device: str | None) -> str:
    """The payload with the tracker key cut to its first 4 characters (it works like a password)."""
    if device and len(device) > 4:
        payload = payload.replace(device, device[:4] + "…")
    return printable(payload[:PAYLOAD_KEEP])


_ID_IN_JSON = re.compile(rb'"device_id"\s*:\s*"([^"]{1,200})"')


def _id_in(query: str, body: bytes) -> str | None:
    """The device id a message names, found even when the message could not be parsed."""
    found = _ID_IN_JSON.search(body)
    if found:
        return found.group(1).decode("utf-8", "replace")
    for text in (body.decode("utf-8", "replace"), query):
        for k, v in parse_qsl(text, keep_blank_values=True):
            if k in ("id", "deviceid") and v:
                return v
    return None


async def _dead_letter(
    rt: Runtime,
    request: Request,
    *,
    channel: str,
    err: FixRefused,
    payload: str,
    officer_id: int | None,
) -> None:
    """Keep a refused message with its reason (committed before the app hears 200)."""
    POSITIONS.labels(channel, "refused").inc()
    rejected = Rejected(
        event_id=None,
        field=printable(f"{channel}.{err.field}"),
        reason=printable(err.reason),
        payload=payload,
        size=len(payload),
        source="http",
        officer_id=officer_id,
        remote=remote_of(request),
        received_at=rt.clock.now(),
    )
    await rt.writer.submit([rejected])


async def _owner(keys: TrackerKeys, key: str) -> TrackerOwner | None:
    known, owner = keys.cached(key)
    if not known:
        owner = await asyncio.to_thread(keys.load, key)
    return owner


async def _sos(rt: Runtime, request: Request, owner: TrackerOwner, r: TrackerReport) -> None:
    """Store a tracker's SOS as an officer's SOS incident through intake's writer, first."""
    now = rt.clock.now()
    at = r.at or now
    obj: dict[str, Any] = {
        "type": "incident",
        "event_id": str(uuid.uuid5(_SOS_NS, f"{owner.officer_id}:{at.isoformat()}")),
        "device_time": at.isoformat(),
        "category": "lainnya",
        "severity": 4,
        "sos": True,
        "description": "SOS (Traccar Client)",
    }
    if r.lat is not None and r.lon is not None and not (r.lat == 0 and r.lon == 0):
        obj["lat"], obj["lon"] = r.lat, r.lon
    item = rt.checker.check(
        obj, officer_id=owner.officer_id, source="http", remote=remote_of(request), now=now
    )
    # A refused SOS (a clock far off) is kept as a dead letter by the writer like any event.
    await rt.writer.submit([item])
    POSITIONS.labels("traccar", "sos").inc()


def _fix(owner: TrackerOwner, r: TrackerReport, *, source: str, now: datetime) -> Fix:
    assert r.lat is not None and r.lon is not None
    return Fix(
        officer_id=owner.officer_id,
        device_time=r.at or now,
        lat=r.lat,
        lon=r.lon,
        received_at=now,
        source=source,
        accuracy_m=r.accuracy_m,
        speed_ms=r.speed_ms,
        heading=r.heading,
        altitude_m=r.altitude_m,
        battery=r.battery,
    )


_RETRY = {"Retry-After": "1"}


def _ok() -> Response:
    """Traccar's answer: 200 with an empty body (a body would be read as a command)."""
    return PlainTextResponse("", status.HTTP_200_OK)


def _unavailable() -> Response:
    """Storage is down: nothing stored, the app resends."""
    return PlainTextResponse("", status.HTTP_503_SERVICE_UNAVAILABLE, headers=_RETRY)


_TRACCAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "stored, duplicate, or refused and kept (never a 4xx: see docs)",
        "content": {"text/plain": {}},
    },
    503: {
        "description": "storage unavailable: nothing stored, the app retries",
        "content": {"text/plain": {}},
    },
}


@router.get(
    "/api/v1/channels/traccar",
    tags=["channels"],
    summary="Traccar Client (OsmAnd protocol), SDK builds before 0.0.12: query string",
    responses=_TRACCAR_RESPONSES,
    response_class=PlainTextResponse,
)
async def traccar_get(request: Request, rt: RuntimeDep) -> Response:
    """Store a Traccar Client position sent as a GET with a query string."""
    return await traccar(request, rt)


@router.post(
    "/api/v1/channels/traccar",
    tags=["channels"],
    summary="Traccar Client (OsmAnd protocol): query string, form or JSON body",
    responses=_TRACCAR_RESPONSES,
    response_class=PlainTextResponse,
)
async def traccar_post(request: Request, rt: RuntimeDep) -> Response:
    """Store a Traccar Client position; an `alarm=sos` becomes an officer's SOS first."""
    return await traccar(request, rt)


async def traccar(request: Request, rt: RuntimeDep) -> Response:
    """Store a Traccar Client position; an `alarm=sos` becomes an officer's SOS first."""
    writer, keys = _parts(rt)
    body, size = await read_capped(request, BODY_MAX)
    query = request.url.query
    payload = query + ("\n" if query and body else "") + body.decode("utf-8", "replace")
    try:
        if size > BODY_MAX:
            raise FixRefused("body", f"larger than the limit of {BODY_MAX} bytes")
        report = parse_osmand(query, body, request.headers.get("content-type", ""))
        device = report.device
        owner = await _owner(keys, device)
        if owner is None:
            record_refusal(rt, request, AuthError("unknown tracker id", device[:4]))
            raise FixRefused("id", "unknown tracker id: bind it with `posko officer tracker`")
    except FixRefused as err:
        try:
            await _dead_letter(
                rt,
                request,
                channel="traccar",
                err=err,
                payload=_redacted(payload, _id_in(query, body)),
                officer_id=None,
            )
        except StorageUnavailable:
            return _unavailable()
        # 200 on purpose: the app keeps a refused record at the head of its queue and resends
        # it forever, so one bad record would stall every later position.
        return _ok()
    try:
        if report.is_sos:
            await _sos(rt, request, owner, report)  # before the position: it waits for nothing
        if report.lat is None:
            # A heartbeat or the app's push registration: nothing to place on the map.
            POSITIONS.labels("traccar", "no_position").inc()
            return _ok()
        now = rt.clock.now()
        fix = _fix(owner, report, source="traccar", now=now)
        try:
            writer.check(fix, now=now)
        except FixRefused as err:
            await _dead_letter(
                rt,
                request,
                channel="traccar",
                err=err,
                payload=_redacted(payload, device),
                officer_id=owner.officer_id,
            )
            return _ok()
        stored = (await writer.submit([fix]))[0]
    except StorageUnavailable:
        return _unavailable()
    POSITIONS.labels("traccar", "stored" if stored else "duplicate").inc()
    return _ok()


def _basic_password(request: Request) -> tuple[str | None, str | None]:
    """(user, password) of HTTP Basic auth, or (None, None)."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return (user, password) if sep else (None, None)


def _device_owner(rt: Runtime, request: Request) -> TrackerOwner | None:
    """The officer of a phone's device credential (Bearer), for an OwnTracks set up with one."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        p = rt.resolver.resolve(token.strip(), now=rt.clock.now())
    except AuthError:
        return None
    if p.kind is not CredentialKind.DEVICE or p.officer_id is None or p.officer_nrp is None:
        return None
    return TrackerOwner(p.officer_id, p.officer_nrp, p.area_code or "")


def _json(content: Any) -> Response:
    return Response(orjson.dumps(content), 200, media_type="application/json")


_REPORT_LOCATION = [{"_type": "cmd", "action": "reportLocation"}]


async def _ask_if_silent(
    rt: Runtime, keys: TrackerKeys, owner: TrackerOwner, newest: datetime | None
) -> Response:
    """`[]`, or a reportLocation command when the officer's newest fix is older than the bound."""
    settings = rt.settings
    now = rt.clock.now()
    bound = timedelta(seconds=settings.positions_silent_s)
    if newest is None or now - newest > bound:

        def read() -> datetime | None:
            with Session(rt.engine) as s:
                return service.last_fix_at(session=s, officer_id=owner.officer_id)

        last = await asyncio.to_thread(read)
        if (last is None or now - last > bound) and keys.may_ask(
            owner.officer_id, settings.positions_ask_every_s
        ):
            POSITIONS.labels("owntracks", "report_location_sent").inc()
            return _json(_REPORT_LOCATION)
    return _json([])


@router.post(
    "/api/v1/channels/owntracks",
    tags=["channels"],
    summary="OwnTracks HTTP mode: one JSON message per request",
    responses={
        200: {"description": "`[]`, or `[reportLocation]` to a silent officer's phone"},
        401: {"description": "no or unknown tracker key (HTTP Basic password)"},
        503: {
            "description": "storage unavailable: nothing stored, the app retries",
            "content": {"text/plain": {}},
        },
    },
)
async def owntracks(request: Request, rt: RuntimeDep) -> Response:
    """Store an OwnTracks location; other message types are answered `[]`."""
    writer, keys = _parts(rt)
    user, password = _basic_password(request)
    if password:
        owner = await _owner(keys, password)
    else:  # a credential read may touch the database: not on the loop
        owner = await asyncio.to_thread(_device_owner, rt, request)
    if owner is None:
        reason = "unknown tracker key" if password else "missing or refused credential"
        record_refusal(rt, request, AuthError(reason, (password or "")[:4] or None))
        POSITIONS.labels("owntracks", "auth_failure").inc()
        # A 401 here, unlike a bad record: every message would fail alike until the phone's
        # settings are fixed, and the app shows the failure to the officer.
        return Response(
            orjson.dumps({"detail": {"field": "authorization", "reason": reason}}),
            status.HTTP_401_UNAUTHORIZED,
            {"WWW-Authenticate": 'Basic realm="posko"'},
            media_type="application/json",
        )
    body, size = await read_capped(request, BODY_MAX)
    payload = body.decode("utf-8", "replace")
    device = request.headers.get("x-limit-d") or user or "owntracks"
    now = rt.clock.now()
    try:
        try:
            if size > BODY_MAX:
                raise FixRefused("body", f"larger than the limit of {BODY_MAX} bytes")
            msg = parse_owntracks(body, device=device)
            if msg.report is None:
                POSITIONS.labels("owntracks", "ignored").inc()
                return await _ask_if_silent(rt, keys, owner, None)
            fix = _fix(owner, msg.report, source="owntracks", now=now)
            writer.check(fix, now=now)
        except FixRefused as err:
            await _dead_letter(
                rt,
                request,
                channel="owntracks",
                err=err,
                payload=_redacted(payload, None),
                officer_id=owner.officer_id,
            )
            return _json([])  # 200: iOS drops a 4xx'd message anyway, Android would stall
        stored = (await writer.submit([fix]))[0]
    except StorageUnavailable:
        return _unavailable()
    POSITIONS.labels("owntracks", "stored" if stored else "duplicate").inc()
    return await _ask_if_silent(rt, keys, owner, fix.device_time)


# --- the map's reads ----------------------------------------------------------------------

reads = APIRouter(prefix="/api/v1", tags=["state"], responses=problem_responses(401, 403))
Nrp = Annotated[str, Path(min_length=1, max_length=18, pattern=r"^[0-9A-Za-z.-]+$")]


@reads.get("/officers/positions", response_model=OfficerFixesPublic)
def read_positions(
    principal: ReaderDep,
    session: SessionDep,
    rt: RuntimeDep,
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
) -> OfficerFixesPublic:
    """The latest fix of every officer in your area: age, battery, stale or not."""
    now = rt.clock.now()
    stale = rt.settings.positions_stale_s
    fixes = service.latest_in_area(
        session=session,
        area_code=scoped_area(principal.area_code, area),
        now=now,
        stale_s=stale,
    )
    data = [OfficerFixPublic.model_validate(f, from_attributes=True) for f in fixes]
    return OfficerFixesPublic(data=data, count=len(data), stale_after_s=stale, now=now)


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The WIB calendar day holding `now`: its start and the next day's."""
    local = now.astimezone(WIB)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


@reads.get(
    "/officers/{nrp}/trail",
    response_model=TrailPublic,
    responses=problem_responses(401, 403, 404, 422),
)
def read_trail(
    nrp: Nrp,
    principal: ReaderDep,
    session: SessionDep,
    rt: RuntimeDep,
    area: Annotated[str | None, Query(description="province or kabupaten code")] = None,
    since: Annotated[datetime | None, Query(description="ISO 8601; default 00:00 WIB")] = None,
    until: Annotated[datetime | None, Query(description="ISO 8601; default the day's end")] = None,
) -> TrailPublic:
    """One officer's fixes of the day (or between two times), oldest first; in your area only."""
    scope = scoped_area(principal.area_code, area)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, detail={"field": name, "reason": "needs a UTC offset"})
    officer = service.officer_in_area(session=session, nrp=nrp, area_code=scope)
    if officer is None or officer.id is None:
        raise HTTPException(404, detail={"field": "nrp", "reason": "no such officer in your area"})
    start, end = day_bounds(rt.clock.now())
    since, until = since or start, until or end
    rows = service.trail(
        session=session, officer_id=officer.id, since=since, until=until, limit=TRAIL_MAX
    )
    data = [
        TrailPointPublic(
            at=r.device_time,
            lat=r.lat,
            lon=r.lon,
            accuracy_m=r.accuracy_m,
            speed_ms=r.speed_ms,
            battery=r.battery,
            source=r.source,
        )
        for r in rows
    ]
    return TrailPublic(nrp=nrp, since=since, until=until, data=data, count=len(data))
