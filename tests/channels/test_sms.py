"""SMS gateways (SMSGate, SMSSync) against the running server; replies on the fake gateway."""

import hashlib
import hmac
import json
import time

import httpx
from sqlalchemy import Engine, text

from tests.channels.conftest import PHONE, SMSGATE_KEY, SMSSYNC_SECRET
from tests.channels.fakes import FakeProvider
from tests.channels.test_whatsapp import count, state_of
from tests.conftest import LiveServer
from tests.factories import MiniRegistry

SMSGATE = "/api/v1/channels/smsgate"
SMSSYNC = "/api/v1/channels/smssync"
GATEWAY = "/smsgate/message"


def received(event_id: str, message: str, *, message_id: str = "a80532bb") -> dict:
    """An sms:received event as SMSGate documents it."""
    return {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": "sms:received",
        "id": event_id,
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
        "payload": {
            "messageId": message_id,
            "message": message,
            "sender": "+" + PHONE,
            "recipient": "+6285700000000",
            "phoneNumber": "+" + PHONE,
            "simNumber": 1,
            "receivedAt": "2026-02-14T10:15:11.000+07:00",
        },
    }


def post_gate(
    server: LiveServer, body: dict, *, key: str = SMSGATE_KEY, ts: int | None = None
) -> httpx.Response:
    """POST as SMSGate does: X-Signature = HMAC-SHA256(key, body + X-Timestamp)."""
    raw = json.dumps(body).encode()
    stamp = str(ts if ts is not None else int(time.time()))
    sig = hmac.new(key.encode(), raw + stamp.encode(), hashlib.sha256).hexdigest()
    return httpx.post(
        server.url + SMSGATE,
        content=raw,
        headers={"content-type": "application/json", "x-signature": sig, "x-timestamp": stamp},
        timeout=10,
    )


def test_sms_is_stored_and_answered_through_the_gateway(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    r = post_gate(server, received("Ey6ECgOkVVFjz3CL48B8C", "tps 3 COBLOS aman"))
    assert r.status_code == 200 and r.json()["results"] == ["stored"]
    assert state_of(engine, "16.08.01.1007-003") == ("pemungutan", "aman")
    (sent,) = fake.wait_for(GATEWAY)
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.json()["phoneNumbers"] == ["+" + PHONE]
    assert sent.json()["textMessage"]["text"].startswith("Tercatat TPS 16.08.01.1007-003")


def test_help_goes_out_as_three_sms_in_order(
    server: LiveServer, linked: MiniRegistry, fake: FakeProvider
) -> None:
    post_gate(server, received("evt-help", "BANTUAN"))
    parts = fake.wait_for(GATEWAY, 3)
    texts = [p.json()["textMessage"]["text"] for p in parts]
    assert [t[:9] for t in texts] == ["POSKO 1/3", "2/3 INSID", "3/3 Kotak"]
    assert all(len(t) <= 160 for t in texts)


def test_the_same_sms_twice_is_deduplicated_on_the_event_id_not_the_message_id(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    # android-sms-gateway#291: one SMS, two webhooks, same messageId, different event ids; and
    # #394: two genuine identical SMS share a messageId too. The event id is the key.
    assert post_gate(server, received("evt-1", "TPS 1 buka aman")).json()["results"] == ["stored"]
    assert post_gate(server, received("evt-1", "TPS 1 buka aman")).json()["results"] == [
        "duplicate"
    ]
    assert post_gate(server, received("evt-2", "TPS 1 buka aman")).json()["results"] == ["stored"]
    assert count(engine, "SELECT count(*) FROM channel_message") == 2
    fake.wait_for(GATEWAY, 2)


def test_retried_event_arriving_after_newer_ones_does_not_roll_back(
    server: LiveServer, engine: Engine, linked: MiniRegistry
) -> None:
    newer = received("evt-new", "TPS 2 hitung aman")
    older = received("evt-old", "TPS 2 coblos ricuh")
    older["payload"]["receivedAt"] = "2026-02-14T09:15:11.000+07:00"
    post_gate(server, newer)
    post_gate(server, older)  # from the phone's retry queue, an hour late
    assert state_of(engine, "16.08.01.1007-002")[0] == "penghitungan"


def test_bad_stale_or_missing_signature_is_refused(
    server: LiveServer, engine: Engine, linked: MiniRegistry
) -> None:
    body = received("evt-x", "TPS 3 coblos aman")
    r = post_gate(server, body, key="wrong")
    assert r.status_code == 401 and r.json()["detail"]["field"] == "x-signature"
    r = post_gate(server, body, ts=int(time.time()) - 3600)
    assert r.status_code == 401 and r.json()["detail"]["field"] == "x-timestamp"
    r = httpx.post(server.url + SMSGATE, json=body)
    assert r.status_code == 401 and r.json()["detail"]["field"] == "x-timestamp"
    assert count(engine, "SELECT count(*) FROM ping") == 0


def test_other_gateway_events_are_ignored(server: LiveServer, linked: MiniRegistry) -> None:
    body = {
        "deviceId": "ffffffffceb0b1db0000018e937c815b",
        "event": "sms:delivered",
        "id": "evt-d",
        "webhookId": "w",
        "payload": {"messageId": "m1", "phoneNumber": "+" + PHONE, "deliveredAt": "2026-02-14"},
    }
    assert post_gate(server, body).json()["results"] == ["ignored"]


def test_smssync_post_is_stored_and_its_answer_carries_the_reply(
    server: LiveServer, engine: Engine, linked: MiniRegistry
) -> None:
    form = {
        "from": "081234567890",  # national form: the same officer as +6281234567890
        "message": "TPS 3 selesai aman",
        "message_id": "b1f5c4e2-8d1a-4f7e-9c3a-5e2d1b0a9f88",
        "sent_to": "+6285700000000",
        "secret": SMSSYNC_SECRET,
        "device_id": "1",
        "sent_timestamp": str(int(time.time() * 1000)),  # milliseconds, as the app sends
    }
    r = httpx.post(server.url + SMSSYNC, data=form)
    assert r.status_code == 200
    payload = r.json()["payload"]
    assert payload["success"] is True and payload["task"] == "send"
    (reply,) = payload["messages"]
    assert reply["to"] == "+" + PHONE and reply["message"].startswith("Tercatat")
    assert state_of(engine, "16.08.01.1007-003") == ("selesai_hitung", "aman")
    # Posted again (its answer was lost): not stored twice, nothing more to send.
    again = httpx.post(server.url + SMSSYNC, data=form).json()["payload"]
    assert again == {"success": True, "error": None}
    assert count(engine, "SELECT count(*) FROM ping") == 1


def test_smssync_wrong_secret_is_refused(server: LiveServer, linked: MiniRegistry) -> None:
    form = {"from": PHONE, "message": "TPS 3 coblos aman", "message_id": "x", "secret": "no"}
    r = httpx.post(server.url + SMSSYNC, data=form)
    assert r.status_code == 401 and r.json()["detail"]["field"] == "secret"


def test_smssync_task_polling_hands_out_waiting_replies_once(
    server: LiveServer, engine: Engine, linked: MiniRegistry
) -> None:
    base = {"secret": SMSSYNC_SECRET, "from": "+" + PHONE, "sent_to": "+6285700000000"}
    # The answer to this post is lost on the way (the phone posts again later, or polls).
    form = {**base, "message": "BANTUAN", "message_id": "lost-answer"}
    assert httpx.post(server.url + SMSSYNC, data=form).status_code == 200
    with engine.connect() as c:
        c.execute(text("UPDATE channel_outbox SET sent_at = NULL"))  # as if never handed out
        c.commit()
    params = {"task": "send", "secret": SMSSYNC_SECRET}
    first = httpx.get(server.url + SMSSYNC, params=params).json()["payload"]
    assert [m["message"][:9] for m in first["messages"]] == ["POSKO 1/3", "2/3 INSID", "3/3 Kotak"]
    again = httpx.get(server.url + SMSSYNC, params=params).json()["payload"]
    assert again == {"success": True, "error": None}
    wrong = httpx.get(server.url + SMSSYNC, params={"task": "send", "secret": "x"})
    assert wrong.status_code == 401
