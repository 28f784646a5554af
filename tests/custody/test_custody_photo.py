"""A segel step's seal photo: uploaded by its officer, shown in the TPS's custody timeline."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.custody.service import RoadModel, overview, timeline
from backend.tps.models import Tps
from schemas.enums import Role
from tests.conftest import LiveServer
from tests.custody.builders import custody
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import count, field_socket, send
from tests.photos.images import jpeg, png

CAP = 200_000  # POSKO_PHOTO_MAX_BYTES in this module


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A smaller cap than the default 1 MiB, so that the over-cap test sends less."""
    return settings.model_copy(update={"photo_max_bytes": CAP})


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _step(server: LiveServer, token: str, tps: str, step: str = "segel") -> str:
    """An officer sends a custody step over /ws/field; return its event id."""
    body = custody(tps, step)
    with field_socket(server.ws_url, token) as ws:
        assert send(ws, body)["result"] == "stored"
    return str(body["event_id"])


def _put(
    server: LiveServer, event_id: str, index: Any, data: bytes, headers: dict[str, str]
) -> httpx.Response:
    return httpx.put(
        f"{server.url}/api/v1/custody/{event_id}/photos/{index}",
        content=data,
        headers={"content-type": "image/jpeg", **headers},
        timeout=30,
    )


def test_a_seal_photo_is_stored_once_audited_and_shown_in_the_tps_timeline(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    tps = mini.tps_codes[0]
    sealed = _step(server, device, tps)
    photo = jpeg(800, 600)
    first = _put(server, sealed, 0, photo, _auth(device))
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["result"] == "stored" and (stored["width"], stored["height"]) == (800, 600)
    again = _put(server, sealed, 0, photo, _auth(device))
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert again.json()["id"] == stored["id"]
    assert count(engine, "incident_photo") == 1
    with engine.connect() as c:
        kind, data = c.execute(
            text("SELECT subject_kind, data FROM audit_entry WHERE action = 'photo.stored'")
        ).one()
    assert kind == "custody_event" and '"step":"segel"' in data.replace(" ", "")

    tl = httpx.get(f"{server.url}/api/v1/tps/{tps}/custody", headers=_auth(viewer)).json()
    (step,) = tl["steps"]
    assert step["photo_url"] == stored["url"] and step["photo_thumb_url"] == stored["thumb_url"]
    full = httpx.get(server.url + step["photo_url"], headers=_auth(viewer))
    assert full.status_code == 200 and full.content == photo
    thumb = httpx.get(server.url + step["photo_thumb_url"], headers=_auth(viewer))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    # A reader of another kabupaten does not see it (nor the TPS).
    elsewhere = person_token(engine, Role.VIEWER, area="16.07")
    assert httpx.get(server.url + step["photo_url"], headers=_auth(elsewhere)).status_code == 404


def test_seal_photo_refusals_name_the_field(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    sealed = _step(server, device, mini.tps_codes[0])
    departed = _step(server, device, mini.tps_codes[1], "berangkat")
    other_officer = device_token(engine, mini.officer_ids[1])
    theirs = _step(server, other_officer, mini.tps_codes[3])
    photo = png()
    unauthenticated = _put(server, sealed, 0, photo, {})
    assert unauthenticated.status_code == 401
    assert _put(server, sealed, 0, photo, _auth(viewer)).status_code == 401  # not a device
    cases: list[tuple[str, Any, bytes, int, str]] = [
        (sealed, 0, b"GIF89a" + b"\x00" * 100, 415, "body"),
        (sealed, 0, b"%PDF-1.7 seals", 415, "body"),
        (sealed, 0, b"\xff\xd8\xff" + b"\x07" * CAP, 413, "body"),
        (sealed, 1, photo, 422, "index"),  # one photo of the seals
        (departed, 0, photo, 422, "event_id"),  # only a segel step has seals to show
        (theirs, 0, photo, 404, "event_id"),  # only the sending officer's own step
        (str(uuid.uuid4()), 0, photo, 404, "event_id"),
        ("not-a-uuid", 0, photo, 422, "event_id"),
    ]
    for event_id, index, body, code, field in cases:
        r = _put(server, event_id, index, body, _auth(device))
        assert r.status_code == code, (event_id, index, r.status_code, r.text)
        assert r.json()["detail"]["field"] == field and r.json()["detail"]["reason"], r.text
    assert count(engine, "incident_photo") == 0
    # Nothing refused shows up in the timeline.
    tl = httpx.get(
        f"{server.url}/api/v1/tps/{mini.tps_codes[0]}/custody", headers=_auth(viewer)
    ).json()
    assert tl["steps"][0]["photo_url"] is None


def test_the_custody_picture_at_a_past_moment_has_only_what_was_stored_by_then(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    """Replay and late reports read custody as of a moment: steps and the photo received by then."""
    tps = mini.tps_codes[0]
    sealed = _step(server, device, tps)
    time.sleep(0.05)
    before_photo = datetime.now(UTC)
    time.sleep(0.05)
    assert _put(server, sealed, 0, jpeg(), _auth(device)).status_code == 201
    _step(server, device, tps, "berangkat")
    road = RoadModel()
    with Session(engine) as s:
        row = s.exec(select(Tps).where(col(Tps.code) == tps)).one()
        then = timeline(session=s, tps=row, road=road, at=before_photo)
        now = timeline(session=s, tps=row, road=road)
        past = overview(
            session=s, area=None, road=road, now=before_photo, margin=timedelta(0), at=before_photo
        )
        present = overview(
            session=s, area=None, road=road, now=datetime.now(UTC), margin=timedelta(0)
        )
    assert [x.step for x in then.steps] == ["segel"] and then.steps[0].photo_url is None
    assert [x.step for x in now.steps] == ["segel", "berangkat"] and now.steps[0].photo_url
    assert (past.sealed, past.on_road_total, past.on_road) == (1, 0, [])
    assert (present.sealed, present.on_road_total, len(present.on_road)) == (0, 1, 1)
