"""Per-channel counters on /metrics, and Telegram long polling under the cluster lease."""

import re
import time
from typing import Any

import httpx
from sqlalchemy import Engine

from backend.config import Settings
from tests.channels.conftest import TG_TOKEN
from tests.channels.fakes import FakeProvider, Recorded
from tests.channels.test_telegram import SEND, update
from tests.channels.test_telegram import post as post_telegram
from tests.channels.test_whatsapp import REPLIES, delivery, state_of, text_message
from tests.channels.test_whatsapp import post as post_whatsapp
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry


def counters(server: LiveServer) -> dict[tuple[str, str, str], float]:
    """The channel counters /metrics shows: (metric, channel, result) -> value."""
    text = httpx.get(server.url + "/metrics").text
    out = {}
    for m in re.finditer(
        r'^(posko_channel_\w+)_total\{channel="(\w+)",result="(\w+)"\} ([0-9.e+]+)$',
        text,
        re.M,
    ):
        out[(m[1], m[2], m[3])] = float(m[4])
    return out


def test_metrics_count_each_channel_and_its_replies(
    server: LiveServer, linked: MiniRegistry, fake: FakeProvider
) -> None:
    before = counters(server)
    msg = delivery(text_message("TPS 3 coblos aman", wamid="wamid.M1"))
    post_whatsapp(server, msg)
    post_whatsapp(server, msg)
    post_whatsapp(server, delivery(text_message("apa kabar", wamid="wamid.M2")))
    post_telegram(server, update(7, "BANTUAN"))
    fake.wait_for(REPLIES, 2)
    fake.wait_for(SEND, 1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        after = counters(server)
        if after[("posko_channel_replies", "telegram", "sent")] > before.get(
            ("posko_channel_replies", "telegram", "sent"), 0
        ):
            break
        time.sleep(0.05)

    def grew(metric: str, channel: str, result: str) -> float:
        key = (f"posko_channel_{metric}", channel, result)
        return after[key] - before.get(key, 0)

    assert grew("messages", "whatsapp", "received") == 3
    assert grew("messages", "whatsapp", "stored") == 1
    assert grew("messages", "whatsapp", "duplicate") == 1
    assert grew("messages", "whatsapp", "refused") == 1
    assert grew("messages", "telegram", "answered") == 1
    assert grew("replies", "whatsapp", "sent") == 2
    assert grew("replies", "telegram", "sent") == 1
    assert grew("replies", "smsgate", "failed") == 0


def test_long_polling_reads_updates_in_order_and_confirms_them(
    settings: Settings, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    batches: list[list[dict[str, Any]]] = [
        [update(3002, "TPS 3 hitung aman"), update(3001, "TPS 3 coblos aman")],
    ]

    def get_updates(_req: Recorded) -> dict[str, Any]:
        return {"ok": True, "result": batches.pop(0) if batches else []}

    fake.answers["/getUpdates"] = get_updates
    polling = settings.model_copy(
        update={
            "telegram_polling": True,
            "telegram_poll_timeout_s": 0,
            "telegram_secret_token": None,
        }
    )
    srv = start_server(polling)
    try:
        fake.wait_for(SEND, 2)
        asked = fake.wait_for("/getUpdates", 2)
    finally:
        srv.stop()
    assert asked[0].path == f"/bot{TG_TOKEN}/getUpdates"
    assert "offset" not in asked[0].json()
    assert asked[1].json()["offset"] == 3003  # both confirmed: Telegram forgets them
    assert state_of(engine, "16.08.01.1007-003") == ("penghitungan", "aman")
