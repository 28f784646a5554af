"""Who a sender is: bound by the admin (API, CLI) or by the sheet's DAFTAR code; all audited."""

import re

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.service import list_entries, verify
from backend.cli import app
from backend.config import Settings
from schemas.enums import Role
from tests.channels.fakes import FakeProvider
from tests.channels.test_telegram import SEND, update
from tests.channels.test_telegram import post as post_telegram
from tests.channels.test_whatsapp import REPLIES, count, delivery, state_of, text_message
from tests.channels.test_whatsapp import post as post_whatsapp
from tests.conftest import TEST_SECRET, LiveServer
from tests.factories import MiniRegistry, person_token

NEW_CHAT = 77001122


def enrolment_codes(server: LiveServer, engine: Engine, nrp: str) -> dict:
    """Make an enrolment link for one officer through the API; its JSON answer."""
    token = person_token(engine, Role.COMMANDER)
    r = httpx.post(
        server.url + "/api/v1/enrolments",
        json={"nrp": nrp},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return r.json()["data"][0]


def test_daftar_code_from_the_sheet_binds_the_chat_once(
    server: LiveServer, engine: Engine, mini: MiniRegistry, fake: FakeProvider
) -> None:
    link = enrolment_codes(server, engine, mini.officer_nrps[0])
    code = link["chat_code"]
    assert re.fullmatch(r"[0-9]{6}", code)
    # Before: an unknown chat, told how to enrol.
    assert post_telegram(server, update(1, "TPS 3 coblos aman", chat=NEW_CHAT)).json()[
        "results"
    ] == ["refused"]
    assert post_telegram(server, update(2, f"daftar {code}", chat=NEW_CHAT)).json()["results"] == [
        "answered"
    ]
    assert post_telegram(server, update(3, "TPS 3 coblos aman", chat=NEW_CHAT)).json()[
        "results"
    ] == ["stored"]
    assert state_of(engine, "16.08.01.1007-003") == ("pemungutan", "aman")
    # The code works once: another chat cannot take it over.
    assert post_telegram(server, update(4, f"DAFTAR {code}", chat=NEW_CHAT + 1)).json()[
        "results"
    ] == ["refused"]
    texts = [s.json()["text"] for s in fake.wait_for(SEND, 4)]
    assert "DAFTAR" in texts[0]
    assert texts[1].startswith(f"Terdaftar: Petugas 0 NRP {mini.officer_nrps[0]}")
    assert texts[3].startswith(f"Kode {code} tidak berlaku")
    with Session(engine) as s:
        (entry,) = list_entries(session=s, action_prefix="channel.enrol")
        assert verify(session=s).ok
    assert entry.subject == mini.officer_nrps[0] and entry.actor == f"telegram:{NEW_CHAT}"


def test_guessing_daftar_codes_stops_after_a_few_tries(
    server: LiveServer, engine: Engine, mini: MiniRegistry, fake: FakeProvider
) -> None:
    code = enrolment_codes(server, engine, mini.officer_nrps[1])["chat_code"]
    wrong = [f"{(int(code) + i) % 1_000_000:06d}" for i in range(1, 6)]
    for i, guess in enumerate(wrong):
        post_telegram(server, update(100 + i, f"DAFTAR {guess}", chat=NEW_CHAT))
    # The right code now from the same chat is not even looked at.
    r = post_telegram(server, update(200, f"DAFTAR {code}", chat=NEW_CHAT))
    assert r.json()["results"] == ["refused"]
    assert count(engine, "SELECT count(*) FROM channel_sender") == 0
    assert count(engine, "SELECT count(*) FROM auth_failure WHERE reason LIKE '%enrolment%'") == 6


def test_sheet_shows_the_daftar_code_beside_the_qr(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = person_token(engine, Role.COMMANDER)
    r = httpx.post(
        server.url + "/api/v1/enrolments?format=html",
        json={"nrp": mini.officer_nrps[0]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201
    assert re.search(r'data-daftar="[0-9]{6}">WA/Telegram/SMS: <b>DAFTAR [0-9]{6}</b>', r.text)


def test_admin_binds_a_phone_number_and_its_messages_count_for_that_officer(
    server: LiveServer, engine: Engine, mini: MiniRegistry, fake: FakeProvider
) -> None:
    nrp = mini.officer_nrps[1]
    admin = {"Authorization": f"Bearer {person_token(engine, Role.ADMIN)}"}
    url = f"{server.url}/api/v1/officers/{nrp}/senders"
    r = httpx.post(url, json={"phone": "0812-7777-0001"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["address"] == "6281277770001" and r.json()["kind"] == "phone"
    msg = text_message("TPS 1 siap aman", wamid="wamid.ADM", sender="6281277770001")
    assert post_whatsapp(server, delivery(msg)).json()["results"] == ["stored"]
    assert state_of(engine, "16.08.01.2006-001") == ("persiapan", "aman")
    listed = httpx.get(url, headers=admin).json()
    assert listed["count"] == 1
    r = httpx.delete(f"{url}/phone/6281277770001", headers=admin)
    assert r.status_code == 204
    msg = text_message("TPS 1 buka aman", wamid="wamid.ADM2", sender="6281277770001")
    assert post_whatsapp(server, delivery(msg)).json()["results"] == ["refused"]
    with Session(engine) as s:
        actions = [e.action for e in list_entries(session=s, action_prefix="channel.")]
    assert sorted(actions) == ["channel.link", "channel.unlink"]
    fake.wait_for(REPLIES, 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "0812", "telegram": "1"}, "phone"),
        ({}, "phone"),
        ({"phone": "kantor polres"}, "phone"),
        ({"telegram": "@budi"}, "telegram"),
    ],
)
def test_a_binding_names_exactly_one_valid_sender(
    server: LiveServer, engine: Engine, mini: MiniRegistry, body: dict, field: str
) -> None:
    admin = {"Authorization": f"Bearer {person_token(engine, Role.ADMIN)}"}
    r = httpx.post(
        f"{server.url}/api/v1/officers/{mini.officer_nrps[0]}/senders", json=body, headers=admin
    )
    assert r.status_code == 422 and r.json()["detail"]["field"] == field


def test_only_an_admin_binds_senders(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    commander = {"Authorization": f"Bearer {person_token(engine, Role.COMMANDER)}"}
    r = httpx.post(
        f"{server.url}/api/v1/officers/{mini.officer_nrps[0]}/senders",
        json={"phone": "081277770001"},
        headers=commander,
    )
    assert r.status_code == 403


def test_cli_links_a_telegram_chat_audited_as_the_cli_user(
    engine: Engine, settings: Settings, mini: MiniRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSKO_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("USER", "operator-polres")
    db = ["--database-url", settings.database_url]
    runner = CliRunner()
    r = runner.invoke(app, ["officer", "link", mini.officer_nrps[2], "--telegram", "4242", *db])
    assert r.exit_code == 0, r.output
    assert "telegram 4242 -> officer" in r.output
    r = runner.invoke(app, ["officer", "link", mini.officer_nrps[2], "--phone", "x", *db])
    assert r.exit_code != 0 and "not a phone number" in r.output
    with Session(engine) as s:
        (entry,) = list_entries(session=s, action_prefix="channel.link")
    assert entry.actor == "cli:operator-polres" and entry.subject == mini.officer_nrps[2]
