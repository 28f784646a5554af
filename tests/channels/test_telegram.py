"""Telegram bot webhook against the running server; replies checked on the fake Bot API."""

import time
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.channels.conftest import TELEGRAM_CHAT, TG_SECRET, TG_TOKEN
from tests.channels.fakes import FakeProvider
from tests.channels.test_whatsapp import count, state_of
from tests.conftest import LiveServer
from tests.factories import MiniRegistry

URL = "/api/v1/channels/telegram"
SEND = f"/bot{TG_TOKEN}/sendMessage"


def update(update_id: int, text: str, *, chat: int = TELEGRAM_CHAT, **extra: Any) -> dict:
    """One Update with a private text message, as the Bot API documents it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1000,
            "date": int(time.time()),
            "from": {"id": chat, "is_bot": False, "first_name": "Budi", "language_code": "id"},
            "chat": {"id": chat, "first_name": "Budi", "type": "private"},
            "text": text,
            **extra,
        },
    }


def post(server: LiveServer, body: dict, secret: str | None = TG_SECRET) -> httpx.Response:
    """POST an update as Telegram does (the secret token in its header)."""
    headers = {"x-telegram-bot-api-secret-token": secret} if secret else {}
    return httpx.post(server.url + URL, json=body, headers=headers, timeout=10)


def test_command_is_stored_and_answered_with_send_message(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    r = post(server, update(708184783, "/lapor TPS 3 hitung aman"))
    assert r.status_code == 200 and r.json()["results"] == ["stored"]
    assert state_of(engine, "16.08.01.1007-003") == ("penghitungan", "aman")
    (sent,) = fake.wait_for(SEND)
    assert sent.json()["chat_id"] == TELEGRAM_CHAT
    assert sent.json()["text"].startswith("Tercatat TPS 16.08.01.1007-003")


def test_wrong_or_missing_secret_token_is_refused(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    r = post(server, update(1, "TPS 3 coblos aman"), secret="guess")
    assert r.status_code == 401
    assert r.json()["detail"]["field"] == "x-telegram-bot-api-secret-token"
    assert post(server, update(1, "TPS 3 coblos aman"), secret=None).status_code == 401
    assert count(engine, "SELECT count(*) FROM ping") == 0


def test_repeated_update_id_is_handled_once(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    body = update(555, "TPS 1 siap aman")
    assert post(server, body).json()["results"] == ["stored"]
    assert post(server, body).json()["results"] == ["duplicate"]
    fake.wait_for(SEND)
    time.sleep(0.4)
    assert len(fake.sent(SEND)) == 1


def test_out_of_order_updates_keep_the_later_phase(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    later = update(901, "TPS 2 selesai aman")
    earlier = update(900, "TPS 2 coblos aman")
    earlier["message"]["date"] -= 3600
    assert post(server, later).json()["results"] == ["stored"]
    assert post(server, earlier).json()["results"] == ["stored"]
    assert state_of(engine, "16.08.01.1007-002") == ("selesai_hitung", "aman")


def test_status_answers_what_posko_knows_of_my_tps(
    server: LiveServer, linked: MiniRegistry, fake: FakeProvider
) -> None:
    post(server, update(10, "TPS 3 coblos waspada"))
    post(server, update(11, "STATUS 3"))
    sent = fake.wait_for(SEND, 2)
    answer = next(s.json()["text"] for s in sent if s.json()["text"].startswith("Status"))
    assert "TPS 003 Dusun Martapura: PEMUNGUTAN, WASPADA" in answer


def test_not_understood_gets_an_example_and_is_kept(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    assert post(server, update(20, "TPS 7 coblos aman")).json()["results"] == ["refused"]
    (sent,) = fake.wait_for(SEND)
    assert "bukan tugas Anda" in sent.json()["text"] and "Contoh" in sent.json()["text"]
    assert count(engine, "SELECT count(*) FROM dead_letter WHERE source = 'telegram'") == 1


def test_sos_from_chat_is_a_severity_four_incident(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    assert post(server, update(30, "SOS massa bawa sajam di TPS 3")).json()["results"] == ["stored"]
    assert count(engine, "SELECT count(*) FROM incident WHERE is_sos AND severity = 4") == 1
    (sent,) = fake.wait_for(SEND)
    assert sent.json()["text"].startswith("SOS DITERIMA")


def test_shared_and_live_locations_are_the_officers_fixes(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    shared = update(40, "")
    del shared["message"]["text"]
    shared["message"]["location"] = {"latitude": -4.30, "longitude": 104.35, "live_period": 0}
    assert post(server, shared).json()["results"] == ["location"]
    moved = {
        "update_id": 41,
        "edited_message": {
            **shared["message"],
            "edit_date": int(time.time()) + 10,
            "location": {"latitude": -4.31, "longitude": 104.36, "live_period": 900},
        },
    }
    assert post(server, moved).json()["results"] == ["location"]
    edited_text = {"update_id": 42, "edited_message": update(42, "TPS 3 ricuh")["message"]}
    assert post(server, edited_text).json()["results"] == ["ignored"]
    with engine.connect() as c:
        fixes = c.execute(
            text("SELECT officer_id, lat, lon, source FROM officer_position ORDER BY device_time")
        ).all()
    officer = linked.officer_ids[0]
    assert [tuple(f) for f in fixes] == [
        (officer, -4.30, 104.35, "telegram"),
        (officer, -4.31, 104.36, "telegram"),
    ]
    assert count(engine, "SELECT count(*) FROM ping") == 0  # a fix, not a TPS ping
    fake.wait_for(SEND)
    time.sleep(0.4)
    assert len(fake.sent(SEND)) == 1  # the live location moving on is not answered


def test_group_chats_are_ignored(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    body = update(50, "TPS 3 coblos aman")
    body["message"]["chat"] = {"id": -1001234567890, "title": "Pam TPS", "type": "supergroup"}
    assert post(server, body).json()["results"] == ["ignored"]
    assert count(engine, "SELECT count(*) FROM ping") == 0
