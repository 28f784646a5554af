"""Custody steps by WhatsApp: stored on the intake's road once, answered once."""

from sqlalchemy import Engine

from tests.channels.fakes import FakeProvider
from tests.channels.test_whatsapp import REPLIES, count, delivery, post, state_of, text_message
from tests.conftest import LiveServer
from tests.factories import MiniRegistry


def test_custody_commands_by_chat_store_steps_and_move_the_tps(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    code = "16.08.01.1007-003"
    messages = [
        ("wamid.C1", "SEGEL 3 0012345 0012346"),
        ("wamid.C2", "BERANGKAT 3 BG 1234 XY"),
        ("wamid.C3", "TIBA 3 PPK"),
        ("wamid.C4", "SERAH 3 Pak Darmo"),  # no berita acara number: stored all the same
    ]
    for wamid, text in messages:
        r = post(server, delivery(text_message(text, wamid=wamid)))
        assert r.json()["results"] == ["stored"], text
    assert post(server, delivery(text_message("TIBA 3 PPK", wamid="wamid.C3"))).json()[
        "results"
    ] == ["duplicate"]
    assert count(engine, "SELECT count(*) FROM custody_event") == 4
    assert count(engine, "SELECT count(*) FROM custody_event WHERE source = 'whatsapp'") == 4
    assert count(engine, "SELECT count(*) FROM custody_event WHERE ba_number IS NULL") == 4
    assert (
        count(engine, "SELECT count(*) FROM custody_event WHERE receiver_name = 'Pak Darmo'") == 1
    )
    assert state_of(engine, code)[0] == "diterima_ppk"
    fake.wait_for(REPLIES, n=4)
    texts = [r.json()["text"]["body"] for r in fake.sent(REPLIES)]
    assert any("DISEGEL" in t and "0012345" in t for t in texts)
    assert any("TANPA nomor BA" in t for t in texts)
