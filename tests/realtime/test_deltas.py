"""Every delta the server publishes is a `LiveDelta`, whichever flow built it."""

from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import Engine

from backend.app import create_app
from backend.config import Settings
from backend.realtime.deltas import LISTS
from backend.tps.service import state_dict
from backend.tps.state import StateRow
from schemas.enums import Role
from schemas.live import LiveDelta, TpsState
from tests.factories import MiniRegistry, person_token
from tests.helpers import incident, ping
from tests.ops.conftest import auth
from tests.ops.harness import wib

EIGHT = wib(27, "08:00")


def test_a_batch_row_has_every_key_of_tps_state_and_no_other() -> None:
    row = state_dict("16.08.01.2001.001", StateRow(tps_id=1), None)
    assert set(row) == set(TpsState.model_fields)
    TpsState.model_validate(row)


async def test_every_body_published_by_every_flow_validates_as_a_live_delta(
    settings: Settings, engine: Engine, mini: MiniRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pings, an incident report, a sweep, an incident step, an alert step, a TPS correction."""
    app = create_app(settings.model_copy(update={"clock_start": EIGHT, "sweep_interval_s": 3600}))
    published: list[tuple[str, dict[str, Any]]] = []
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        real_publish = rt.hub.broadcaster.publish

        async def recorded(channel: str, body: dict[str, Any]) -> None:
            published.append((channel, body))
            await real_publish(channel, body)

        monkeypatch.setattr(rt.hub.broadcaster, "publish", recorded)
        code = mini.tps_codes[1]
        officer = mini.officer_ids[0]

        async def submit(event: dict[str, Any]) -> None:
            item = rt.checker.check(
                event, officer_id=officer, source="ws", remote=None, now=rt.clock.now()
            )
            (ack,) = await rt.writer.submit([item])
            assert ack["result"] == "stored", ack

        await submit(ping(code, "pemungutan", "waspada", at=EIGHT))
        await submit(incident(code, "kericuhan", 4, at=EIGHT))
        await rt.sweeper.tick()  # the report woke it already; this one waits for the alert
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://posko") as api:
            cmd = auth(person_token(engine, Role.COMMANDER))
            opened = await api.get("/api/v1/incidents/open", headers=cmd)
            iid = opened.json()["data"][0]["id"]
            r = await api.post(f"/api/v1/incidents/{iid}/accept", json={"version": 0}, headers=cmd)
            assert r.status_code == 200, r.text
            alerts = await api.get("/api/v1/alerts", headers=cmd)
            aid = alerts.json()["data"][0]["id"]
            r = await api.post(f"/api/v1/alerts/{aid}/acknowledge", headers=cmd)
            assert r.status_code == 200, r.text
            correction = {"phase": "persiapan", "reason": "salah lapor"}
            r = await api.post(f"/api/v1/tps/{code}/correction", json=correction, headers=cmd)
            assert r.status_code == 200, r.text
        monkeypatch.undo()

    bodies = [body for _, body in published]
    assert any(b["log"] and b["tps"] for b in bodies)  # the ping's
    assert any(b["incidents"] and b["log"] for b in bodies)  # the report's
    assert any(b["incidents"] and not b["log"] for b in bodies)  # the step's
    assert any(b["alerts"] for b in bodies)
    adapter = TypeAdapter(LiveDelta)
    for channel, body in published:
        assert set(body) == {"type", "at", *LISTS}, body
        adapter.validate_python({**body, "seq": 1, "channel": channel})
