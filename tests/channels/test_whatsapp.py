"""WhatsApp Cloud API webhook against the running server; replies checked on the fake Graph API."""

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.channels.conftest import PHONE, WA_SECRET, WA_VERIFY
from tests.channels.fakes import FakeProvider
from tests.conftest import LiveServer
from tests.factories import MiniRegistry

URL = "/api/v1/channels/whatsapp"
REPLIES = "/106540352242922/messages"


def text_message(body: str, *, wamid: str, sender: str = PHONE, ts: int | None = None) -> dict:
    """One text message as the Cloud API documents it."""
    return {
        "from": sender,
        "id": wamid,
        "timestamp": str(ts or int(time.time())),
        "text": {"body": body},
        "type": "text",
    }


def delivery(*messages: dict, statuses: list[dict] | None = None) -> dict[str, Any]:
    """A webhook body (object, entry[].changes[].value) as Meta sends it."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6285700000000", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Budi"}, "wa_id": PHONE}],
    }
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def post(server: LiveServer, payload: dict, *, secret: str = WA_SECRET) -> httpx.Response:
    """POST the body signed as Meta signs it (X-Hub-Signature-256 over the raw bytes)."""
    raw = json.dumps(payload).encode()
    sig = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return httpx.post(
        server.url + URL,
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": sig},
        timeout=10,
    )


def state_of(engine: Engine, code: str) -> tuple[Any, Any]:
    """The phase and situation Posko holds for a TPS."""
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT s.phase, s.situation FROM tps_state s JOIN tps t ON t.id = s.tps_id "
                "WHERE t.code = :code"
            ),
            {"code": code},
        ).one()
    return row[0], row[1]


def count(engine: Engine, sql: str) -> int:
    """A count from the database."""
    with engine.connect() as c:
        return int(c.execute(text(sql)).scalar_one())


def test_subscription_handshake_echoes_the_challenge(server: LiveServer) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1158201444"}
    r = httpx.get(server.url + URL, params=params)
    assert r.status_code == 200 and r.text == "1158201444"
    r = httpx.get(server.url + URL, params={**params, "hub.verify_token": "other"})
    assert r.status_code == 403
    assert r.json()["detail"]["field"] == "hub.verify_token"


def test_signed_report_is_stored_and_answered_once(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    r = post(server, delivery(text_message("TPS 3 coblos aman antrean panjang", wamid="wamid.A1")))
    assert r.status_code == 200, r.text
    assert r.json()["results"] == ["stored"]
    assert state_of(engine, "16.08.01.1007-003") == ("pemungutan", "aman")
    (sent,) = fake.wait_for(REPLIES)
    body = sent.json()
    assert sent.headers["authorization"] == "Bearer wa-access"
    assert body["messaging_product"] == "whatsapp" and body["to"] == PHONE
    assert body["type"] == "text"
    assert body["text"]["body"].startswith("Tercatat TPS 16.08.01.1007-003: fase PEMUNGUTAN")
    assert count(engine, "SELECT count(*) FROM ping WHERE source = 'whatsapp'") == 1


def test_redelivered_message_is_stored_once_and_answered_once(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    payload = delivery(text_message("TPS 1 buka aman", wamid="wamid.DUP"))
    assert post(server, payload).json()["results"] == ["stored"]
    for _ in range(3):  # at least once: Meta sends it again
        assert post(server, payload).json()["results"] == ["duplicate"]
    fake.wait_for(REPLIES)
    time.sleep(0.5)  # a second reply would have gone out by now
    assert len(fake.sent(REPLIES)) == 1
    assert count(engine, "SELECT count(*) FROM ping") == 1
    assert count(engine, "SELECT count(*) FROM channel_message") == 1


def test_bad_signature_is_refused_and_kept(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    payload = delivery(text_message("TPS 3 coblos aman", wamid="wamid.BAD"))
    r = post(server, payload, secret="not-the-app-secret")
    assert r.status_code == 401
    assert r.json()["detail"]["field"] == "x-hub-signature-256"
    r = httpx.post(server.url + URL, json=payload)
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "missing signature"
    deadline = time.monotonic() + 5
    while count(engine, "SELECT count(*) FROM auth_failure") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count(engine, "SELECT count(*) FROM auth_failure") == 2
    assert count(engine, "SELECT count(*) FROM ping") == 0
    assert fake.sent(REPLIES) == []


def test_delivery_statuses_are_ignored(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    statuses = [
        {
            "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3N0EyQUJDMjFEQzZCQUMzODMA",
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": PHONE,
            "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
            "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
        }
        for status in ("sent", "delivered", "read")
    ]
    r = post(server, delivery(statuses=statuses))
    assert r.status_code == 200 and r.json()["results"] == []
    assert count(engine, "SELECT count(*) FROM channel_message") == 0
    time.sleep(0.3)
    assert fake.sent(REPLIES) == []


def test_unknown_sender_is_told_how_to_enrol_and_kept(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    # The message names an officer: never a reason to attribute it.
    msg = text_message("Bripka Petugas 0 TPS 3 coblos aman", wamid="wamid.U1", sender="628999")
    msg["from"] = "6289990001111"
    assert post(server, delivery(msg)).json()["results"] == ["refused"]
    (sent,) = fake.wait_for(REPLIES)
    assert sent.json()["to"] == "6289990001111"
    assert "DAFTAR" in sent.json()["text"]["body"]
    assert count(engine, "SELECT count(*) FROM ping") == 0
    assert count(engine, "SELECT count(*) FROM dead_letter WHERE field = 'sender'") == 1


def test_batched_reordered_messages_never_roll_the_tps_back(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    now = int(time.time())
    later = text_message("TPS 2 hitung aman", wamid="wamid.B2", ts=now)
    earlier = text_message("TPS 2 coblos waspada", wamid="wamid.B1", ts=now - 600)
    r = post(server, delivery(later, earlier))  # newest first in the body
    assert r.json()["results"] == ["stored", "stored"]
    assert state_of(engine, "16.08.01.1007-002") == ("penghitungan", "aman")
    fake.wait_for(REPLIES, 2)


def test_tally_is_answered_and_its_numbers_not_kept(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    msg = text_message("TPS 3 paslon 1: 120 paslon 2: 98", wamid="wamid.T1")
    assert post(server, delivery(msg)).json()["results"] == ["answered"]
    (sent,) = fake.wait_for(REPLIES)
    assert "tidak mencatat hasil suara" in sent.json()["text"]["body"]
    with engine.connect() as c:
        kept = c.execute(text("SELECT payload FROM dead_letter")).scalars().all()
    assert not any("120" in p for p in kept)
    assert count(engine, "SELECT count(*) FROM ping") == 0


def test_a_location_is_the_officers_fix(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    msg = {
        "from": PHONE,
        "id": "wamid.LOC",
        "timestamp": str(int(time.time())),
        "type": "location",
        "location": {"latitude": -4.2978, "longitude": 104.3462, "name": "TPS 3"},
    }
    assert post(server, delivery(msg)).json()["results"] == ["location"]
    with engine.connect() as c:
        fixes = c.execute(text("SELECT officer_id, lat, lon, source FROM officer_position")).all()
    assert [tuple(f) for f in fixes] == [(linked.officer_ids[0], -4.2978, 104.3462, "whatsapp")]
    assert count(engine, "SELECT count(*) FROM ping") == 0  # a fix, not a TPS ping
    (sent,) = fake.wait_for(REPLIES)
    assert sent.json()["text"]["body"].startswith("Lokasi diterima")


def test_reply_outside_the_service_window_uses_the_template(
    server: LiveServer, linked: MiniRegistry, fake: FakeProvider
) -> None:
    old = int(time.time()) - 25 * 3600  # the officer wrote more than 24 hours ago
    assert post(server, delivery(text_message("BANTUAN", wamid="wamid.OLD", ts=old))).status_code
    (sent,) = fake.wait_for(REPLIES)
    body = sent.json()
    assert body["type"] == "template"
    assert body["template"]["name"] == "posko_balasan"
    assert "POSKO 1/3" in body["template"]["components"][0]["parameters"][0]["text"]


def test_failed_reply_is_retried_until_the_provider_takes_it(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    fake.failures = [(500, {"error": {"code": 1}}), (503, {})]
    post(server, delivery(text_message("STATUS", wamid="wamid.S1")))
    sent = fake.wait_for(REPLIES, 3)
    assert len({s.body for s in sent}) == 1  # the same reply, three tries
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if count(engine, "SELECT count(*) FROM channel_outbox WHERE sent_at IS NOT NULL"):
            break
        time.sleep(0.05)
    with engine.connect() as c:
        attempts, error = c.execute(text("SELECT attempts, last_error FROM channel_outbox")).one()
    assert attempts == 3 and error == "HTTP 503 error None"


@pytest.mark.parametrize("code", [131047])
def test_closed_window_error_switches_the_retry_to_the_template(
    server: LiveServer, linked: MiniRegistry, fake: FakeProvider, code: int
) -> None:
    fake.failures = [(400, {"error": {"code": code, "message": "Re-engagement message"}})]
    post(server, delivery(text_message("BANTUAN", wamid="wamid.W1")))
    first, second = fake.wait_for(REPLIES, 2)
    assert first.json()["type"] == "text" and second.json()["type"] == "template"


def test_an_unknown_sender_is_told_once_an_hour_and_every_message_kept(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    for i in range(4):  # someone flooding the number: each answer would cost an SMS or a chat
        msg = text_message("halo", wamid=f"wamid.F{i}", sender="6289990002222")
        assert post(server, delivery(msg)).json()["results"] == ["refused"]
    fake.wait_for(REPLIES)
    time.sleep(0.4)
    assert len(fake.sent(REPLIES)) == 1
    assert count(engine, "SELECT count(*) FROM dead_letter WHERE field = 'sender'") == 4


def test_a_full_code_of_another_officers_tps_is_answered_as_a_claim(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    msg = text_message("16.08.03.2001-001 coblos aman", wamid="wamid.C1")
    assert post(server, delivery(msg)).json()["results"] == ["stored"]
    (sent,) = fake.wait_for(REPLIES)
    assert "klaim, menunggu konfirmasi" in sent.json()["text"]["body"]


def test_a_reply_the_provider_keeps_refusing_is_given_up_after_the_last_try(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    fake.failures = [(500, {}), (500, {}), (500, {})]  # POSKO_CHANNEL_MAX_ATTEMPTS is 3 here
    post(server, delivery(text_message("BANTUAN", wamid="wamid.G1")))
    fake.wait_for(REPLIES, 3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if count(engine, "SELECT count(*) FROM channel_outbox WHERE failed_at IS NOT NULL"):
            break
        time.sleep(0.05)
    with engine.connect() as c:
        attempts, sent, error = c.execute(
            text("SELECT attempts, sent_at, last_error FROM channel_outbox")
        ).one()
    assert attempts == 3 and sent is None and error.startswith("HTTP 500")
    time.sleep(0.5)
    assert len(fake.sent(REPLIES)) == 3  # nothing after giving up
