"""Incident photos over a real server: upload by the reporting phone, reading by area, refusals."""

import hashlib
import io
import resource
import threading
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from websockets.sync.client import connect

from backend.auth.models import Credential
from backend.auth.service import hash_token, hmac_secret, sign
from backend.config import Settings
from schemas.enums import Role
from tests.conftest import TEST_SECRET, LiveServer
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import count, field_socket, incident, send
from tests.photos.images import jpeg, png, png_bomb, webp

CAP = 300_000  # POSKO_PHOTO_MAX_BYTES in this module


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A smaller cap than the default 1 MiB, so that the over-cap test sends less."""
    return settings.model_copy(update={"photo_max_bytes": CAP})


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _report(server: LiveServer, token: str, tps: str, category: str = "kericuhan") -> str:
    """An officer reports an incident over /ws/field; return its event id."""
    body = incident(tps, category)
    with field_socket(server.ws_url, token) as ws:
        assert send(ws, body)["result"] == "stored"
    return str(body["event_id"])


def _put(
    server: LiveServer,
    event_id: str,
    index: Any,
    data: bytes,
    headers: dict[str, str],
    content_type: str = "image/jpeg",
) -> httpx.Response:
    return httpx.put(
        f"{server.url}/api/v1/incident-reports/{event_id}/photos/{index}",
        content=data,
        headers={"content-type": content_type, **headers},
        timeout=30,
    )


def _incident_of(server: LiveServer, viewer: str, event_id: str) -> dict[str, Any]:
    data = httpx.get(f"{server.url}/api/v1/incidents", headers=_auth(viewer)).json()["data"]
    for inc in data:
        detail = httpx.get(f"{server.url}/api/v1/incidents/{inc['id']}", headers=_auth(viewer))
        if any(r["event_id"] == event_id for r in detail.json()["report_list"]):
            return dict(inc)
    raise AssertionError(f"no incident holds report {event_id}")


def _dead_letters(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as c:
        rows = c.execute(text("SELECT * FROM dead_letter ORDER BY id")).mappings().all()
    return [dict(r) for r in rows]


def _wait_dead_letters(engine: Engine, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10  # the writer keeps them in its next commit
    while count(engine, "dead_letter") < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return _dead_letters(engine)


def test_a_photo_of_my_report_is_stored_once_audited_and_served_to_readers(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    event_id = _report(server, device, mini.tps_codes[0])
    photo = jpeg(640, 480, orientation=6)  # taken with the phone turned: shown 480 x 640
    r = _put(server, event_id, 0, photo, _auth(device))
    assert r.status_code == 201, r.text
    stored = r.json()
    sha = hashlib.sha256(photo).hexdigest()
    assert stored["result"] == "stored" and stored["sha256"] == sha
    assert (stored["width"], stored["height"], stored["size"]) == (480, 640, len(photo))
    assert stored["content_type"] == "image/jpeg"

    again = _put(server, event_id, 0, photo, _auth(device))
    assert again.status_code == 200 and again.json()["result"] == "duplicate"
    assert again.json()["id"] == stored["id"]
    other = _put(server, event_id, 0, jpeg(seed=7), _auth(device))
    assert other.status_code == 409 and other.json()["detail"]["field"] == "index"
    # The type is what the bytes say, whatever the header claims.
    assert _put(server, event_id, 1, png(alpha=True), _auth(device)).status_code == 201
    second = _put(server, event_id, 2, webp(), _auth(device), content_type="image/jpeg")
    assert second.status_code == 201 and second.json()["content_type"] == "image/webp"

    inc = _incident_of(server, viewer, event_id)
    assert inc["photos"] == 3
    listed = httpx.get(f"{server.url}/api/v1/incidents/{inc['id']}/photos", headers=_auth(viewer))
    assert listed.status_code == 200
    photos = listed.json()["data"]
    assert [p["index"] for p in photos] == [0, 1, 2]
    assert photos[0]["officer"] == mini.officer_nrps[0] and photos[0]["event_id"] == event_id
    full = httpx.get(server.url + photos[0]["url"], headers=_auth(viewer))
    assert full.status_code == 200 and full.content == photo  # the bytes as sent
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["cache-control"] == "private, max-age=86400"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["content-disposition"].startswith("inline")
    thumb = httpx.get(server.url + photos[0]["thumb_url"], headers=_auth(viewer))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    small = Image.open(io.BytesIO(thumb.content))
    assert small.format == "JPEG" and small.size == (240, 320)  # turned upright, 320 px
    # The dark corner of the picture as taken ends up top-right once turned (orientation 6).
    assert small.getpixel((230, 5))[0] < 60 and small.getpixel((5, 5))[0] > 150

    commander = person_token(engine, Role.COMMANDER)
    audit = httpx.get(
        f"{server.url}/api/v1/audit", headers=_auth(commander), params={"action": "photo."}
    ).json()
    assert len(audit) == 3  # the duplicate and the refusal are not stored, nor audited
    first = next(e for e in audit if e["data"]["index"] == 0)
    assert first["action"] == "photo.stored" and first["data"]["sha256"] == sha
    assert first["area_code"] == "16.08" and first["subject"] == event_id
    assert first["actor"].startswith("device:")
    assert count(engine, "incident_photo") == 3


def _hmac_headers(engine: Engine, token: str, body: bytes) -> dict[str, str]:
    with Session(engine) as s:
        cred = s.exec(select(Credential).where(Credential.token_hash == hash_token(token))).one()
    assert cred.id is not None
    secret = hmac_secret(TEST_SECRET, cred.id, cred.token_hash)
    stamp = str(int(time.time()))
    return {
        "x-posko-key-id": str(cred.id),
        "x-posko-timestamp": stamp,
        "x-posko-signature": sign(secret, stamp, body),
    }


def test_an_upload_signed_like_the_webhooks_is_accepted_and_a_tampered_one_refused(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    event_id = _report(server, device, mini.tps_codes[0])
    photo = jpeg()
    tampered = _put(server, event_id, 0, photo + b"x", _hmac_headers(engine, device, photo))
    assert tampered.status_code == 401
    assert tampered.json()["detail"] == {"field": "x-posko-signature", "reason": "bad signature"}
    signed = _put(server, event_id, 0, photo, _hmac_headers(engine, device, photo))
    assert signed.status_code == 201, signed.text


def test_refusals_name_the_field_and_are_kept_without_the_image(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    mine = _report(server, device, mini.tps_codes[0])
    other_officer = device_token(engine, mini.officer_ids[1])
    theirs = _report(server, other_officer, mini.tps_codes[3])
    photo = jpeg()
    assert _put(server, mine, 0, photo, {}).status_code == 401
    assert _put(server, mine, 0, photo, _auth(viewer)).status_code == 401  # not a device
    cases: list[tuple[str, Any, bytes, int, str]] = [
        ("not-a-uuid", 0, photo, 422, "event_id"),
        (mine, 3, photo, 422, "index"),
        (mine, "-1", photo, 422, "index"),
        (mine, "\u0661", photo, 422, "index"),  # Arabic-Indic one: a digit, not ASCII
        (mine, 0, b"GIF89a" + b"\x00" * 100, 415, "body"),
        (mine, 0, b"", 415, "body"),
        (mine, 0, b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, 415, "body"),  # a PNG only in name
        (mine, 0, b"\xff\xd8\xff" + bytes(range(256)) * 4, 415, "body"),
        (str(uuid.uuid4()), 0, photo, 404, "event_id"),
        (theirs, 0, photo, 404, "event_id"),  # only the reporting officer's own report
        (mine, 0, b"\xff\xd8\xff" + b"\x07" * CAP, 413, "body"),
    ]
    for event_id, index, body, code, field in cases:
        r = _put(server, event_id, index, body, _auth(device))
        assert r.status_code == code, (event_id, index, r.status_code, r.text)
        assert r.json()["detail"]["field"] == field and r.json()["detail"]["reason"], r.text
    assert count(engine, "incident_photo") == 0
    letters = _wait_dead_letters(engine, len(cases))
    assert len(letters) == len(cases)
    for letter, (event_id, _, body, _, field) in zip(letters, cases, strict=True):
        assert letter["officer_id"] == mini.officer_ids[0] and letter["field"] == field
        assert letter["reason"] and letter["size"] >= min(len(body), CAP + 1)
        what = orjson.loads(letter["payload"])
        assert what["upload"] == "photo" and what["head"] == body[:16].hex()
        assert len(letter["payload"]) < 400  # who, what and why: never the image's bytes
        if len(event_id) <= 64:
            assert letter["event_id"] == event_id


def test_two_identical_uploads_at_once_make_one_row_and_one_audit_entry(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine
) -> None:
    event_id = _report(server, device, mini.tps_codes[0])
    for index in range(3):
        photo = jpeg(1600, 1200, seed=index)  # decoding takes a while: both pass the first look
        start = threading.Barrier(2)
        results: list[httpx.Response] = []

        def upload(
            photo: bytes = photo,
            index: int = index,
            start: Any = start,
            results: list[httpx.Response] = results,
        ) -> None:
            start.wait()
            results.append(_put(server, event_id, index, photo, _auth(device)))

        threads = [threading.Thread(target=upload) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
        assert len({r.json()["id"] for r in results}) == 1
    assert count(engine, "incident_photo") == 3
    assert count(engine, "audit_entry", "action = 'photo.stored'") == 3


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@pytest.mark.parametrize("side", [7_000, 12_000], ids=["49-megapixels", "144-megapixels"])
def test_a_decompression_bomb_is_refused_from_its_header_without_using_memory(
    server: LiveServer, device: str, mini: MiniRegistry, engine: Engine, side: int
) -> None:
    event_id = _report(server, device, mini.tps_codes[0])
    bomb = png_bomb(side, side)  # well under the cap on the wire: side^2 bytes decoded
    assert len(bomb) < CAP
    before = _max_rss_mib()
    r = _put(server, event_id, 0, bomb, _auth(device), content_type="image/png")
    assert r.status_code == 413, r.text
    assert r.json()["detail"]["field"] == "body"
    assert "too large" in r.json()["detail"]["reason"]
    # The server runs in this process: decoding even the smaller bomb would raise its peak
    # memory by ~49 MB (one byte per pixel), the larger by 400 MB.
    assert _max_rss_mib() - before < 30
    assert count(engine, "incident_photo") == 0


def test_readers_outside_the_incidents_area_see_nothing_of_its_photos(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    event_id = _report(server, device, mini.tps_codes[0])
    pid = _put(server, event_id, 0, jpeg(), _auth(device)).json()["id"]
    iid = _incident_of(server, viewer, event_id)["id"]
    paths = [
        f"/api/v1/incidents/{iid}/photos",
        f"/api/v1/photos/{pid}",
        f"/api/v1/photos/{pid}/thumb",
    ]
    elsewhere = person_token(engine, Role.VIEWER, area="16.07")
    province = person_token(engine, Role.VIEWER, area="16")
    for path in paths:
        assert httpx.get(server.url + path, headers=_auth(elsewhere)).status_code == 404, path
        assert httpx.get(server.url + path, headers=_auth(province)).status_code == 200, path
        assert httpx.get(server.url + path, headers=_auth(device)).status_code == 403, path
        assert httpx.get(server.url + path).status_code == 401, path
    missing = httpx.get(f"{server.url}/api/v1/photos/{pid + 1}", headers=_auth(viewer))
    assert missing.status_code == 404


def test_photos_of_an_incident_merged_into_another_show_on_the_surviving_one(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry, engine: Engine
) -> None:
    first = _report(server, device, mini.tps_codes[0], "kericuhan")
    second = _report(server, device, mini.tps_codes[1], "intimidasi")
    assert _put(server, second, 0, jpeg(), _auth(device)).status_code == 201
    keep, gone = _incident_of(server, viewer, first), _incident_of(server, viewer, second)
    commander = person_token(engine, Role.COMMANDER)
    r = httpx.post(
        f"{server.url}/api/v1/incidents/{keep['id']}/merge",
        headers=_auth(commander),
        json={"version": keep["version"], "others": [gone["id"]]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["photos"] == 1
    listed = httpx.get(f"{server.url}/api/v1/incidents/{keep['id']}/photos", headers=_auth(viewer))
    assert [p["event_id"] for p in listed.json()["data"]] == [second]


def test_a_stored_photo_reaches_live_screens_as_the_incidents_photo_count(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    event_id = _report(server, device, mini.tps_codes[0])
    iid = _incident_of(server, viewer, event_id)["id"]
    with connect(f"{server.ws_url}/ws/live?token={viewer}", open_timeout=10) as live:
        assert orjson.loads(live.recv(timeout=10))["type"] == "hello"
        assert _put(server, event_id, 0, jpeg(), _auth(device)).status_code == 201
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            frame = orjson.loads(live.recv(timeout=10))
            shown = [i for i in frame.get("incidents", []) if i["id"] == iid]
            if shown and shown[0]["photos"] == 1:
                break
        else:
            raise AssertionError("no delta carried the photo")
