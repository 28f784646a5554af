"""Check a photo by its bytes, decode it safely, make its thumbnail, store it once, audit its hash.

A photo belongs to an owner and an index: an officer's incident report (0-2) or the seals of
his custody step `segel` (0). Its type is what its bytes say (JPEG, PNG or WebP signatures),
never the Content-Type header. Pillow only reads the header before the size check: a small file
declaring a huge picture (a decompression bomb) is refused before a single pixel is allocated,
and decoding runs in a worker thread, at most two at once. The bytes are stored as sent (their
sha256 goes in the audit chain), beside a 320 px JPEG thumbnail with the EXIF orientation applied.
"""

import hashlib
import io
import threading
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import ExifTags, Image, ImageOps
from sqlalchemy import Table, func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from backend.audit.service import AuditRecord, append
from backend.custody.models import CustodyEvent
from backend.incidents.models import Incident, IncidentReport
from backend.officers.models import Officer
from backend.photos.models import IncidentPhoto
from schemas.enums import CustodyStep
from schemas.photos import PhotoPublic, PhotoType

MAX_PIXELS = 40_000_000  # width x height above this is refused, whatever the file size
THUMB_PX = 320  # longest side of a thumbnail
THUMB_QUALITY = 80
# Pillow's own guard, process-wide: it refuses (DecompressionBombError) above twice this and
# warns above it; the warning is made an error here, so both refuse alike in every process
# (under pytest every warning is already an error).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
# A decoded picture of up to 40 megapixels takes up to ~160 MB: two at a time at most, so a
# burst of uploads cannot take the machine's memory (the other uploads wait in their threads).
_DECODE_SLOTS = threading.BoundedSemaphore(2)

_PIL_FORMAT = {PhotoType.JPEG: "JPEG", PhotoType.PNG: "PNG", PhotoType.WEBP: "WEBP"}
_SWAPPED = {5, 6, 7, 8}  # EXIF orientations that turn the picture a quarter


class PhotoRefusedError(Exception):
    """An upload that cannot be stored: HTTP status, the field at fault and the reason."""

    def __init__(self, status: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.field = field
        self.reason = reason


def sniff(data: bytes) -> PhotoType | None:
    """The image type the bytes' signature says, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return PhotoType.JPEG
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return PhotoType.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return PhotoType.WEBP
    return None


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of the bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Decoded:
    """What decoding found: the size as shown and the thumbnail."""

    width: int
    height: int
    thumb: bytes


def decode(data: bytes, kind: PhotoType, *, max_pixels: int = MAX_PIXELS) -> Decoded:
    """Check the picture's size from its header, decode it and make the thumbnail (blocking)."""
    with _DECODE_SLOTS:
        try:
            return _decode(data, kind, max_pixels)
        except PhotoRefusedError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise PhotoRefusedError(413, "body", f"picture too large: {err}") from None
        except Exception as err:
            # Pillow's decoders answer hostile bytes with many kinds of errors (OSError,
            # SyntaxError, struct.error, ValueError ...): each one means "not a usable image".
            reason = f"not a readable {kind.value} image ({err.__class__.__name__})"
            raise PhotoRefusedError(415, "body", reason) from None


def _decode(data: bytes, kind: PhotoType, max_pixels: int) -> Decoded:
    with Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[kind]]) as img:
        width, height = img.size  # from the header: nothing decoded yet
        if width * height > max_pixels:
            raise PhotoRefusedError(
                413,
                "body",
                f"picture of {width}x{height} pixels is larger than "
                f"{max_pixels // 1_000_000} megapixels",
            )
        if kind is PhotoType.JPEG:
            img.draft("RGB", (THUMB_PX, THUMB_PX))  # decode at 1/2 to 1/8 scale: far less work
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
        shown = ImageOps.exif_transpose(img)
        shown.thumbnail((THUMB_PX, THUMB_PX), reducing_gap=2.0)
        out = io.BytesIO()
        _opaque(shown).save(out, "JPEG", quality=THUMB_QUALITY)
    if orientation in _SWAPPED:
        width, height = height, width
    return Decoded(width=width, height=height, thumb=out.getvalue())


def _opaque(img: Image.Image) -> Image.Image:
    """RGB for a JPEG: transparent parts on white (not black, as a plain convert would)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        back = Image.new("RGB", rgba.size, (255, 255, 255))
        back.paste(rgba, mask=rgba.getchannel("A"))
        return back
    return img if img.mode == "RGB" else img.convert("RGB")


REPORT = "incident_report"
CUSTODY = "custody_event"
# The column that names each kind of owner (and its unique slot with photo_index).
_OWNER_COLUMN = {REPORT: "report_id", CUSTODY: "custody_event_id"}


@dataclass(frozen=True, slots=True)
class PhotoOwner:
    """What a photo belongs to: an incident report or a custody step (`kind`), by row id."""

    kind: str  # REPORT | CUSTODY
    id: int
    event_id: uuid.UUID
    incident_id: int | None
    kabupaten_code: str | None
    step: CustodyStep | None = None  # a custody step's


def find_custody_step(
    *, session: Session, event_id: uuid.UUID, officer_id: int
) -> PhotoOwner | None:
    """The officer's own stored custody step with this event id (another officer's is not found)."""
    row = session.execute(
        sa_select(
            col(CustodyEvent.id), col(CustodyEvent.kabupaten_code), col(CustodyEvent.step)
        ).where(
            col(CustodyEvent.event_id) == event_id,
            col(CustodyEvent.officer_id) == officer_id,
        )
    ).first()
    if row is None:
        return None
    return PhotoOwner(
        kind=CUSTODY,
        id=row[0],
        event_id=event_id,
        incident_id=None,
        kabupaten_code=row[1],
        step=CustodyStep(row[2]),
    )


def find_report(*, session: Session, event_id: uuid.UUID, officer_id: int) -> PhotoOwner | None:
    """The officer's own stored report with this event id (another officer's is not found)."""
    row = session.execute(
        sa_select(
            col(IncidentReport.id),
            col(IncidentReport.incident_id),
            col(Incident.kabupaten_code),
        )
        .outerjoin(Incident, col(Incident.id) == col(IncidentReport.incident_id))
        .where(
            col(IncidentReport.event_id) == event_id,
            col(IncidentReport.officer_id) == officer_id,
        )
    ).first()
    if row is None:
        return None
    return PhotoOwner(
        kind=REPORT, id=row[0], event_id=event_id, incident_id=row[1], kabupaten_code=row[2]
    )


@dataclass(frozen=True, slots=True)
class Slot:
    """A photo already stored at an owner's index."""

    id: int
    sha256: str
    size: int
    width: int
    height: int
    content_type: PhotoType


def stored_at(*, session: Session, owner: PhotoOwner, index: int) -> Slot | None:
    """The photo stored at (owner, index), if any."""
    owner_column = getattr(IncidentPhoto, _OWNER_COLUMN[owner.kind])
    row = session.execute(
        sa_select(
            col(IncidentPhoto.id),
            col(IncidentPhoto.sha256),
            col(IncidentPhoto.size),
            col(IncidentPhoto.width),
            col(IncidentPhoto.height),
            col(IncidentPhoto.content_type),
        ).where(col(owner_column) == owner.id, col(IncidentPhoto.photo_index) == index)
    ).first()
    if row is None:
        return None
    return Slot(row[0], row[1], row[2], row[3], row[4], PhotoType(row[5]))


def taken(slot: Slot, sha256: str, index: int) -> PhotoRefusedError | None:
    """None when the slot holds these very bytes (a duplicate), else the 409 to answer."""
    if slot.sha256 == sha256:
        return None
    return PhotoRefusedError(
        409,
        "index",
        f"another photo (sha256 {slot.sha256[:12]}…) is already stored at index {index}; "
        "photos are never replaced",
    )


def store(
    *,
    session: Session,
    owner: PhotoOwner,
    index: int,
    data: bytes,
    kind: PhotoType,
    decoded: Decoded,
    sha256: str,
    now: datetime,
    actor: str,
) -> tuple[Slot, bool]:
    """Store the photo once and audit its hash; return the slot and whether it is new.

    Raises PhotoRefusedError (409) when other bytes hold the slot.
    """
    table: Table = IncidentPhoto.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert_fn = pg_insert if dialect == "postgresql" else sqlite_insert
    owner_column = _OWNER_COLUMN[owner.kind]
    # Two uploads of one photo at once (a retry racing its original, on any node): the unique
    # (owner, index) lets one row in; the other finds it below and answers "duplicate".
    stmt = (
        insert_fn(table)
        .values(
            **{owner_column: owner.id},
            photo_index=index,
            content_type=kind.value,
            size=len(data),
            width=decoded.width,
            height=decoded.height,
            sha256=sha256,
            data=data,
            thumb=decoded.thumb,
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=[owner_column, "photo_index"])
        .returning(table.c.id)
    )
    new_id = session.execute(stmt).scalar()
    if new_id is None:
        session.rollback()
        slot = stored_at(session=session, owner=owner, index=index)
        assert slot is not None  # a conflict means a committed row holds the slot
        refusal = taken(slot, sha256, index)
        if refusal is not None:
            raise refusal
        return slot, False
    owner_data: dict[str, object] = (
        {"report_id": owner.id, "incident_id": owner.incident_id}
        if owner.kind == REPORT
        else {"custody_event_id": owner.id, "step": owner.step.value if owner.step else None}
    )
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="photo.stored",
                subject_kind=owner.kind,
                subject=str(owner.event_id),
                data={
                    "photo_id": new_id,
                    **owner_data,
                    "index": index,
                    "sha256": sha256,
                    "size": len(data),
                    "content_type": kind.value,
                },
                area_code=owner.kabupaten_code,
            )
        ],
    )
    session.commit()
    slot = Slot(new_id, sha256, len(data), decoded.width, decoded.height, kind)
    return slot, True


def list_for_incident(
    *, session: Session, incident_id: int, url: str = "/api/v1/photos/"
) -> list[PhotoPublic]:
    """Photos of an incident's reports (those merged in included), by report and index."""
    rows = session.execute(
        sa_select(
            col(IncidentPhoto.id),
            col(IncidentPhoto.report_id),
            col(IncidentReport.event_id),
            col(IncidentPhoto.photo_index),
            col(Officer.nrp),
            col(IncidentPhoto.content_type),
            col(IncidentPhoto.size),
            col(IncidentPhoto.width),
            col(IncidentPhoto.height),
            col(IncidentPhoto.sha256),
            col(IncidentPhoto.received_at),
        )
        .join(IncidentReport, col(IncidentReport.id) == col(IncidentPhoto.report_id))
        .join(Officer, col(Officer.id) == col(IncidentReport.officer_id))
        .where(col(IncidentReport.incident_id) == incident_id)
        .order_by(col(IncidentReport.id), col(IncidentPhoto.photo_index))
    )
    return [
        PhotoPublic(
            id=pid,
            incident_id=incident_id,
            report_id=rid,
            event_id=str(eid),
            index=index,
            officer=nrp,
            content_type=PhotoType(ctype),
            size=size,
            width=w,
            height=h,
            sha256=sha,
            received_at=at,
            url=f"{url}{pid}",
            thumb_url=f"{url}{pid}/thumb",
        )
        for pid, rid, eid, index, nrp, ctype, size, w, h, sha, at in rows
    ]


@dataclass(frozen=True, slots=True)
class PhotoBytes:
    """A photo's (or thumbnail's) bytes and what a reader needs to be let see them."""

    content_type: str
    data: bytes
    kabupaten_code: str | None


def read_bytes(*, session: Session, photo_id: int, thumb: bool) -> PhotoBytes | None:
    """The photo as sent (or its thumbnail), with the kabupaten of its incident or TPS."""
    row = session.execute(
        sa_select(
            col(IncidentPhoto.content_type),
            col(IncidentPhoto.thumb) if thumb else col(IncidentPhoto.data),
            func.coalesce(col(Incident.kabupaten_code), col(CustodyEvent.kabupaten_code)),
        )
        .outerjoin(IncidentReport, col(IncidentReport.id) == col(IncidentPhoto.report_id))
        .outerjoin(Incident, col(Incident.id) == col(IncidentReport.incident_id))
        .outerjoin(CustodyEvent, col(CustodyEvent.id) == col(IncidentPhoto.custody_event_id))
        .where(col(IncidentPhoto.id) == photo_id)
    ).first()
    if row is None:
        return None
    ctype = PhotoType.JPEG.value if thumb else row[0]
    return PhotoBytes(content_type=ctype, data=bytes(row[1]), kabupaten_code=row[2])


@dataclass(frozen=True, slots=True)
class StepPhoto:
    """A custody step's photo, without its bytes: where to see it."""

    custody_event_id: int
    id: int
    index: int
    content_type: PhotoType
    width: int
    height: int
    sha256: str
    received_at: datetime


def list_for_custody(*, session: Session, custody_event_ids: list[int]) -> list[StepPhoto]:
    """Photos of these custody steps, by step and index."""
    if not custody_event_ids:
        return []
    rows = session.execute(
        sa_select(
            col(IncidentPhoto.custody_event_id),
            col(IncidentPhoto.id),
            col(IncidentPhoto.photo_index),
            col(IncidentPhoto.content_type),
            col(IncidentPhoto.width),
            col(IncidentPhoto.height),
            col(IncidentPhoto.sha256),
            col(IncidentPhoto.received_at),
        )
        .where(col(IncidentPhoto.custody_event_id).in_(custody_event_ids))
        .order_by(col(IncidentPhoto.custody_event_id), col(IncidentPhoto.photo_index))
    )
    return [
        StepPhoto(ev, pid, index, PhotoType(ctype), w, h, sha, at)
        for ev, pid, index, ctype, w, h, sha, at in rows
    ]
