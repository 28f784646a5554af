"""Storage down while a message arrives: 503, nothing acknowledged; delivered again, stored and
answered once."""

import time

from sqlalchemy import Engine

from tests.channels.fakes import FakeProvider
from tests.channels.test_whatsapp import REPLIES, count, delivery, post, state_of, text_message
from tests.conftest import LiveServer
from tests.factories import MiniRegistry
from tests.helpers import storage_outage


def test_a_message_refused_for_storage_is_stored_and_answered_once_when_delivered_again(
    server: LiveServer, engine: Engine, linked: MiniRegistry, fake: FakeProvider
) -> None:
    writer = server.server.config.app.state.runtime.writer
    payload = delivery(text_message("TPS 3 coblos aman", wamid="wamid.OUT"))
    with storage_outage(engine, writer):
        r = post(server, payload)
    assert r.status_code == 503 and r.json()["detail"]["field"] == "storage"
    assert r.headers["retry-after"]
    assert count(engine, "SELECT count(*) FROM channel_message") == 0
    # Meta delivers again until it gets a 2xx (PostgreSQL: the pool's connections the failover
    # cut are replaced on their first use, which may answer 503 once more), then once more.
    for _ in range(20):
        r = post(server, payload)
        if r.status_code != 503:
            break
        time.sleep(0.25)
    assert r.json()["results"] == ["stored"]
    assert post(server, payload).json()["results"] == ["duplicate"]
    assert state_of(engine, "16.08.01.1007-003") == ("pemungutan", "aman")
    assert count(engine, "SELECT count(*) FROM ping") == 1
    fake.wait_for(REPLIES)
    time.sleep(0.4)
    assert len(fake.sent(REPLIES)) == 1
