"""Photos API: the reporting phone uploads; readers whose area covers the incident/TPS look.

Upload: `PUT /api/v1/incident-reports/{event_id}/photos/{index}` (an incident report's, 0-2) or
`PUT /api/v1/custody/{event_id}/photos/{index}` (a `segel` step's seals, 0), the body the image's
bytes, by the device credential of the officer who sent the report or step (Bearer, or the
webhooks' HMAC over the body); one road for both. Idempotent: the same bytes again answer 200
"duplicate", other bytes at a taken index 409. Every refusal past the credential check is kept
as a dead letter (who, what, why; never the image itself), a refused credential as an auth
failure.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlmodel import Session

from backend.areas import contains
from backend.audit.service import actor_of
from backend.auth.service import KEY_ID_HEADER, AuthError, Principal
from backend.auth.signed import device_for_body, signed_header_params
from backend.deps import (
    ReaderDep,
    RowId,
    RuntimeDep,
    SessionDep,
    read_capped,
    record_refusal,
    remote_of,
)
from backend.incidents.models import Incident
from backend.intake.validate import PAYLOAD_KEEP, Rejected, printable
from backend.intake.writer import StorageUnavailable, is_storage_fault
from backend.photos.service import (
    PhotoOwner,
    PhotoRefusedError,
    Slot,
    decode,
    find_custody_step,
    find_report,
    list_for_incident,
    read_bytes,
    sha256_of,
    sniff,
    store,
    stored_at,
    taken,
)
from backend.runtime import Runtime
from schemas.enums import CustodyStep
from schemas.errors import ProblemResponse, problem_responses
from schemas.photos import (
    MAX_PHOTOS_PER_REPORT,
    MAX_PHOTOS_PER_STEP,
    PhotosPublic,
    PhotoStored,
    PhotoType,
)

log = logging.getLogger("posko.photos")
router = APIRouter(prefix="/api/v1", tags=["photos"])

PHOTO_URL = "/api/v1/photos/"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
# Immutable once stored, and only for this reader: the browser keeps it a day, no proxy does.
SERVED_HEADERS = {
    "Cache-Control": "private, max-age=86400",
    "X-Content-Type-Options": "nosniff",
}


def _problem(code: int, field: str, reason: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"detail": {"field": field, "reason": reason}})
    return Response(body, code, headers, media_type="application/json")


def _stored(slot: Slot, index: int, *, new: bool) -> Response:
    answer = PhotoStored(
        result="stored" if new else "duplicate",
        id=slot.id,
        index=index,
        sha256=slot.sha256,
        size=slot.size,
        width=slot.width,
        height=slot.height,
        content_type=slot.content_type,
        url=f"{PHOTO_URL}{slot.id}",
        thumb_url=f"{PHOTO_URL}{slot.id}/thumb",
    )
    code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
    return Response(answer.model_dump_json(), code, media_type="application/json")


@dataclass(frozen=True, slots=True)
class _Owner:
    """What kind of thing an upload's path names: how to find it and how many photos it takes."""

    find: Callable[..., PhotoOwner | None]  # (session=, event_id=, officer_id=)
    slots: int
    missing: str  # the 404's reason


_REPORT = _Owner(
    find_report,
    MAX_PHOTOS_PER_REPORT,
    "no incident report with this event id from you is stored (yet): send the report first, "
    "then its photos",
)
_CUSTODY = _Owner(
    find_custody_step,
    MAX_PHOTOS_PER_STEP,
    "no custody step with this event id from you is stored (yet): send the step first, "
    "then its photo",
)


def _index(raw: str, slots: int) -> int | None:
    # ASCII digits only ("²".isdigit() is true and int() refuses it), and few of them.
    if raw.isascii() and raw.isdigit() and len(raw) <= 2 and int(raw) < slots:
        return int(raw)
    return None


class _Refusals:
    """Keeps an upload's refusals as dead letters: who, what and why, never the image."""

    def __init__(
        self, request: Request, rt: Runtime, principal: Principal, body: bytes, size: int
    ) -> None:
        self.request = request
        self.rt = rt
        self.principal = principal
        self.body = body
        self.size = size  # as seen: an oversize body is counted, not kept

    async def answer(self, code: int, field: str, reason: str) -> Response:
        """Record the refusal (waiting for its commit, as the webhooks do) and answer it."""
        request = self.request
        raw_event_id = str(request.path_params.get("event_id", ""))
        what = {
            "upload": "photo",
            "path": request.url.path,
            "index": request.path_params.get("index"),
            "content_type": request.headers.get("content-type"),
            "head": self.body[:16].hex(),  # enough to tell what it was; the image is not kept
        }
        payload = orjson.dumps(what).decode()
        rejected = Rejected(
            event_id=printable(raw_event_id) if len(raw_event_id) <= 64 else None,
            field=field,
            reason=printable(reason),
            payload=printable(payload[:PAYLOAD_KEEP]),
            size=self.size,
            source="http",
            officer_id=self.principal.officer_id,
            remote=remote_of(request),
            received_at=self.rt.clock.now(),
        )
        try:
            await self.rt.writer.submit([rejected])
        except StorageUnavailable:
            log.warning("photo refusal not kept (storage unavailable): %s %s", field, reason)
        return _problem(code, field, reason)


async def _in_thread_or_503(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a database step off the loop; a storage fault becomes StorageUnavailable."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except PhotoRefusedError:
        raise
    except Exception as exc:
        if is_storage_fault(exc):
            raise StorageUnavailable(f"storage unavailable: {exc.__class__.__name__}") from exc
        raise


async def _upload(request: Request, rt: Runtime, owner: _Owner) -> Response:
    limit = rt.settings.photo_max_bytes
    body, size = await read_capped(request, limit)
    if size > limit and request.headers.get(KEY_ID_HEADER) is not None:
        # A signature over a body we refuse to read cannot be checked: nothing is stored.
        record_refusal(rt, request, AuthError("signed body too large to verify"))
        return _problem(
            status.HTTP_413_CONTENT_TOO_LARGE, "body", f"larger than the limit of {limit} bytes"
        )
    try:
        principal = await device_for_body(request, rt, body)
    except AuthError as err:
        return _problem(
            status.HTTP_401_UNAUTHORIZED,
            err.field,
            err.reason,
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert principal.officer_id is not None
    refusals = _Refusals(request, rt, principal, body, size)
    if size > limit:
        return await refusals.answer(
            status.HTTP_413_CONTENT_TOO_LARGE, "body", f"larger than the limit of {limit} bytes"
        )
    try:
        event_id = uuid.UUID(str(request.path_params["event_id"]))
    except ValueError:
        return await refusals.answer(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "event_id", "not a UUID"
        )
    index = _index(str(request.path_params["index"]), owner.slots)
    if index is None:
        return await refusals.answer(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "index",
            f"must be 0 to {owner.slots - 1} (at most {owner.slots} photos)"
            if owner.slots > 1
            else "must be 0 (one photo)",
        )
    kind = sniff(body)
    if kind is None:
        return await refusals.answer(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "body",
            "not a JPEG, PNG or WebP image (judged by its bytes, not by Content-Type)",
        )
    try:
        return await _keep(rt, principal, refusals, owner, event_id, index, body, kind)
    except PhotoRefusedError as err:
        return await refusals.answer(err.status, err.field, err.reason)
    except StorageUnavailable as exc:
        return _problem(
            status.HTTP_503_SERVICE_UNAVAILABLE, "storage", str(exc), headers={"Retry-After": "1"}
        )


async def _keep(
    rt: Runtime,
    principal: Principal,
    refusals: _Refusals,
    kind_of: _Owner,
    event_id: uuid.UUID,
    index: int,
    body: bytes,
    kind: PhotoType,
) -> Response:
    """Find the officer's report or step, answer a taken index at once, else decode and store."""
    assert principal.officer_id is not None
    officer_id = principal.officer_id

    def lookup() -> tuple[PhotoOwner | None, Slot | None]:
        with Session(rt.engine) as session:
            owner = kind_of.find(session=session, event_id=event_id, officer_id=officer_id)
            slot = stored_at(session=session, owner=owner, index=index) if owner else None
            return owner, slot

    report, slot = await _in_thread_or_503(lookup)
    if report is None:
        return await refusals.answer(status.HTTP_404_NOT_FOUND, "event_id", kind_of.missing)
    if report.step is not None and report.step is not CustodyStep.SEGEL:
        # The photo is of the seals: a departure or handover has none to show.
        return await refusals.answer(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "event_id",
            f"this custody step is {report.step.value}: only a segel step takes a photo "
            "(of its seals)",
        )
    sha256 = sha256_of(body)
    if slot is not None:
        # A resend: answered from what is stored, without decoding the picture again.
        refusal = taken(slot, sha256, index)
        if refusal is not None:
            raise refusal
        return _stored(slot, index, new=False)
    decoded = await asyncio.to_thread(decode, body, kind)

    def keep() -> tuple[Slot, bool]:
        with Session(rt.engine) as session:
            return store(
                session=session,
                owner=report,
                index=index,
                data=body,
                kind=kind,
                decoded=decoded,
                sha256=sha256,
                now=rt.clock.now(),
                actor=actor_of(principal),
            )

    slot, new = await _in_thread_or_503(keep)
    if new and report.incident_id is not None:
        # The commander's incident shows it without a reload: its photo count, live.
        await rt.after.photo_stored(report.incident_id)
    return _stored(slot, index, new=new)


_BINARY = {"schema": {"type": "string", "format": "binary"}}

_UPLOAD_OPENAPI: dict[str, Any] = {
    "parameters": [
        {
            "name": "event_id",
            "in": "path",
            "required": True,
            "description": "event id of your incident report (stored before its photos)",
            "schema": {"type": "string", "format": "uuid"},
        },
        {
            "name": "index",
            "in": "path",
            "required": True,
            "description": "which photo of the report: 0, 1 or 2",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PHOTOS_PER_REPORT - 1},
        },
        *signed_header_params(),
    ],
    "requestBody": {
        "required": True,
        "description": "the image's bytes (JPEG, PNG or WebP, judged by its bytes)",
        "content": dict.fromkeys((*IMAGE_TYPES, "application/octet-stream"), _BINARY),
    },
}

_UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "stored", "model": PhotoStored},
    200: {"description": "these bytes were stored already (a resend)", "model": PhotoStored},
    401: {"description": "missing, wrong, revoked credential or bad/replayed signature"},
    404: {"description": "no incident report of yours with this event id (yet)"},
    409: {"description": "other bytes are already stored at this index"},
    413: {"description": "body larger than POSKO_PHOTO_MAX_BYTES, or picture over 40 megapixels"},
    415: {"description": "not a JPEG, PNG or WebP image (by its bytes), or not decodable"},
    422: {"description": "event_id not a UUID, or index not 0-2"},
    503: {"description": "storage unavailable: nothing stored, retry"},
}
for _code in (401, 404, 409, 413, 415, 422, 503):
    _UPLOAD_RESPONSES[_code]["model"] = ProblemResponse


@router.put(
    "/incident-reports/{event_id}/photos/{index}",
    summary="Upload a photo of your incident report (the body is the image)",
    openapi_extra=_UPLOAD_OPENAPI,
    responses=_UPLOAD_RESPONSES,
    status_code=201,
    response_model=None,
)
async def put_photo(request: Request, rt: RuntimeDep) -> Response:
    """Store a photo of your own incident report; answer after it is committed."""
    return await _upload(request, rt, _REPORT)


_CUSTODY_OPENAPI: dict[str, Any] = {
    **_UPLOAD_OPENAPI,
    "parameters": [
        {
            "name": "event_id",
            "in": "path",
            "required": True,
            "description": "event id of your custody step `segel` (stored before its photo)",
            "schema": {"type": "string", "format": "uuid"},
        },
        {
            "name": "index",
            "in": "path",
            "required": True,
            "description": "0: one photo of the seals",
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PHOTOS_PER_STEP - 1},
        },
        *signed_header_params(),
    ],
}
_CUSTODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_UPLOAD_RESPONSES,
    404: {
        "description": "no custody step of yours with this event id (yet)",
        "model": ProblemResponse,
    },
    422: {
        "description": "event_id not a UUID or not a segel step, or index not 0",
        "model": ProblemResponse,
    },
}


@router.put(
    "/custody/{event_id}/photos/{index}",
    summary="Upload the photo of your segel step's seals (the body is the image)",
    openapi_extra=_CUSTODY_OPENAPI,
    responses=_CUSTODY_RESPONSES,
    status_code=201,
    response_model=None,
)
async def put_custody_photo(request: Request, rt: RuntimeDep) -> Response:
    """Store the photo of your own segel step's seals; answer after it is committed."""
    return await _upload(request, rt, _CUSTODY)


def _not_found(field: str, reason: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail={"field": field, "reason": reason})


@router.get(
    "/incidents/{incident_id}/photos",
    response_model=PhotosPublic,
    responses=problem_responses(401, 403, 404),
)
def read_incident_photos(
    incident_id: RowId, principal: ReaderDep, session: SessionDep
) -> PhotosPublic:
    """Photos of an incident's reports (also those of incidents merged into it)."""
    inc = session.get(Incident, incident_id)
    if inc is None or not contains(principal.area_code, inc.kabupaten_code):
        raise _not_found("id", "no such incident")
    data = list_for_incident(session=session, incident_id=incident_id, url=PHOTO_URL)
    return PhotosPublic(data=data, count=len(data))


_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the bytes (Cache-Control: private, max-age=86400)",
        "content": dict.fromkeys(IMAGE_TYPES, _BINARY),
    },
    **problem_responses(401, 403, 404),
}


def _serve(principal: ReaderDep, session: Session, photo_id: int, *, thumb: bool) -> Response:
    found = read_bytes(session=session, photo_id=photo_id, thumb=thumb)
    if (
        found is None
        or found.kabupaten_code is None
        or not contains(principal.area_code, found.kabupaten_code)
    ):
        raise _not_found("id", "no such photo")
    name = f"photo-{photo_id}{'-thumb' if thumb else ''}.{found.content_type.split('/')[1]}"
    headers = {**SERVED_HEADERS, "Content-Disposition": f'inline; filename="{name}"'}
    return Response(found.data, status.HTTP_200_OK, headers, media_type=found.content_type)


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    summary="A photo as the officer sent it",
)
def read_photo(photo_id: RowId, principal: ReaderDep, session: SessionDep) -> Response:
    """The photo's bytes, for readers whose area covers its incident."""
    return _serve(principal, session, photo_id, thumb=False)


@router.get(
    "/photos/{photo_id}/thumb",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
    summary="A photo's thumbnail (JPEG, longest side 320 px)",
)
def read_photo_thumb(photo_id: RowId, principal: ReaderDep, session: SessionDep) -> Response:
    """The thumbnail's bytes, for readers whose area covers the photo's incident."""
    return _serve(principal, session, photo_id, thumb=True)
