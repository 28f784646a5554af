"""Photos on the wire: an upload's answer and the photos of an incident (or a custody step)."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

MAX_PHOTOS_PER_REPORT = 3  # indexes 0, 1 and 2
MAX_PHOTOS_PER_STEP = 1  # a custody segel step: index 0, the seals


class PhotoType(StrEnum):
    """The image types a photo may have, decided by its bytes, never by a header."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"


class PhotoStored(BaseModel):
    """The answer to an upload: stored (201) or the same bytes stored already (200)."""

    result: Literal["stored", "duplicate"]
    id: int
    index: int
    sha256: str  # of the bytes as sent (and as served)
    size: int
    width: int
    height: int
    content_type: PhotoType
    url: str
    thumb_url: str


class PhotoPublic(BaseModel):
    """One photo of an incident's reports, without its bytes."""

    id: int
    incident_id: int
    report_id: int
    event_id: str  # of the incident report it belongs to
    index: int
    officer: str  # NRP of the reporting officer
    content_type: PhotoType
    size: int
    width: int  # as shown (EXIF orientation applied)
    height: int
    sha256: str
    received_at: datetime
    url: str
    thumb_url: str  # a JPEG, longest side 320 px


class PhotosPublic(BaseModel):
    """A list of photos, in the order of their reports and indexes."""

    data: list[PhotoPublic]
    count: int
