"""The sweeper on the server's clock: moved with time-machine, never waited for."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import Session

from backend.alerts import sweeper as sweeper_module
from backend.alerts.sweeper import LEASE_NAME, Sweeper
from backend.app import create_app
from backend.cluster import acquire
from backend.config import Settings
from backend.meta import REGISTRY_STAMP, set_value
from schemas.enums import Role
from tests.conftest import start_server
from tests.factories import MiniRegistry, person_token
from tests.helpers import field_socket, incident, ping, send
from tests.ops.conftest import auth
from tests.ops.harness import Field, wib


def _not_visited(url: str, token: str, code: str) -> list[dict[str, Any]]:
    r = httpx.get(url + "/api/v1/alerts", headers=auth(token), params={"kind": "tps_not_visited"})
    return [a for a in r.json()["data"] if a["subject"] == code]


def test_sangat_rawan_tps_is_not_visited_ten_clock_minutes_after_its_last_ping(
    settings: Settings, engine: Engine, mini: MiniRegistry, tokens: dict[str, str]
) -> None:
    code = mini.tps_codes[0]  # sangat rawan
    nine = wib(27, "09:00")
    # The loop sleeps for an hour: every sweep here is asked for, so nothing races the test.
    quiet = settings.model_copy(update={"clock_start": nine, "sweep_interval_s": 3600.0})
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        server = start_server(quiet)
        try:
            with field_socket(server.ws_url, tokens["device"]) as ws:
                assert send(ws, ping(code, at=nine))["result"] == "stored"
            sweep = server.url + "/api/v1/alerts/sweep"
            assert httpx.post(sweep, headers=auth(tokens["admin"])).json()["leader"] is True
            assert _not_visited(server.url, tokens["viewer"], code) == []
            traveller.shift(timedelta(minutes=10))
            changes = httpx.post(sweep, headers=auth(tokens["admin"])).json()
            (alert,) = _not_visited(server.url, tokens["viewer"], code)
            assert alert["id"] in changes["raised"] and alert["severity"] == "critical"
            raised = datetime.fromisoformat(alert["raised_at"])
            assert timedelta(0) <= raised - wib(27, "09:10") < timedelta(seconds=30)
            clock = httpx.get(server.url + "/api/v1/clock").json()
            assert datetime.fromisoformat(clock["now"]) >= wib(27, "09:10")
            with field_socket(server.ws_url, tokens["device"]) as ws:
                send(ws, ping(code, at=wib(27, "09:11")))
            changes = httpx.post(sweep, headers=auth(tokens["admin"])).json()
            assert alert["id"] in changes["cleared"]
            assert httpx.post(sweep, headers=auth(tokens["operator"])).status_code == 403
            # An admin of one kabupaten may not: the answer would list every area's alerts.
            local = person_token(engine, Role.ADMIN, area="16.08")
            refused = httpx.post(sweep, headers=auth(local))
            assert refused.status_code == 403
            assert "area" in refused.json()["detail"]["reason"]
            trail = httpx.get(
                server.url + "/api/v1/audit",
                headers=auth(tokens["admin"]),
                params={"action": "alert.sweep_asked"},
            ).json()
            assert len(trail) == 3  # the national admin's three sweeps, not the refused one
        finally:
            server.stop()


def test_intake_counts_as_stalled_only_with_events_queued_and_no_commit_since(
    settings: Settings,
) -> None:
    writer = SimpleNamespace(queue_depth=0, last_commit_at=100.0)
    none: Any = None
    sweeper = Sweeper(
        engine=none,
        settings=settings.model_copy(update={"intake_stall_s": 0.0}),
        clock=none,
        intake=writer,
        situations=none,
        live=none,
        listening_since=datetime.now(UTC),
        holder="test",
    )
    assert sweeper.intake_stalled() is False  # nothing waiting
    writer.queue_depth = 50
    assert sweeper.intake_stalled() is True  # waiting, and no commit since we last looked
    writer.last_commit_at = 101.0
    assert sweeper.intake_stalled() is False  # a commit happened: intake is moving


async def test_an_incident_landing_mid_sweep_turns_its_tps_red_before_its_alert_goes_out(
    settings: Settings, mini: MiniRegistry, field: Field, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Situations and alerts come from one read, and the TPS change is published first."""
    code, nrp = mini.tps_codes[1], mini.officer_nrps[0]
    eight = wib(27, "08:00")
    app = create_app(settings.model_copy(update={"clock_start": eight, "sweep_interval_s": 3600}))
    published: list[dict[str, Any]] = []
    real_acquire = sweeper_module.acquire

    def acquire_while_reported(**kw: Any) -> Any:
        # Another node commits a severe incident while this node's tick is under way.
        field.send([(nrp, incident(code, "kericuhan", 4, at=eight))], at=eight)
        return real_acquire(**kw)

    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        real_publish = rt.hub.broadcaster.publish

        async def recorded(channel: str, body: dict[str, Any]) -> None:
            published.append(body)
            await real_publish(channel, body)

        monkeypatch.setattr(rt.hub.broadcaster, "publish", recorded)
        monkeypatch.setattr(sweeper_module, "acquire", acquire_while_reported)
        assert rt.sweeper is not None
        await rt.sweeper.tick()
        monkeypatch.undo()
        assert rt.sweeper.is_leader

    def first(found: Any) -> int | None:
        return next((i for i, body in enumerate(published) if found(body)), None)

    red = first(
        lambda b: any(
            t["code"] == code and t["incident_situation"] == "gangguan" for t in b.get("tps", [])
        )
    )
    alert = first(lambda b: any(a["kind"] == "incident_severe" for a in b.get("alerts", [])))
    assert alert is not None, published
    assert red is not None and red < alert, published


async def test_the_sweeper_sweeps_in_full_on_the_lease_and_after_a_registry_write_else_by_change(
    settings: Settings, mini: MiniRegistry, field: Field, engine: Engine
) -> None:
    code, nrp = mini.tps_codes[0], mini.officer_nrps[0]
    eight = wib(27, "08:00")
    app = create_app(settings.model_copy(update={"clock_start": eight, "sweep_interval_s": 3600}))
    async with app.router.lifespan_context(app):
        sweeper = app.state.runtime.sweeper
        assert sweeper is not None
        await sweeper.tick()
        built = sweeper.model
        assert built is not None  # the first tick on the lease: a full sweep built the model
        field.send([(nrp, ping(code, at=eight))], at=eight)
        await sweeper.tick()
        assert sweeper.model is built  # then by change
        with Session(engine) as s:
            set_value(session=s, key=REGISTRY_STAMP, value="rewritten")
            s.commit()
        await sweeper.tick()
        assert sweeper.model is not built and sweeper.model is not None  # the registry moved
        rebuilt = sweeper.model
        sweeper._reconciled_mono -= settings.sweep_reconcile_s
        await sweeper.tick()
        # Every sweep_reconcile_s a new model is read beside the ticks, which go on meanwhile ...
        assert sweeper.model is rebuilt and sweeper.rebuilding is not None
        new = sweeper.rebuilding.result(timeout=60)
        await sweeper.tick()
        assert sweeper.model is new and sweeper.rebuilding is None  # ... and then taken over


async def test_a_sweep_longer_than_the_lease_keeps_it_so_no_other_node_sweeps_meanwhile(
    settings: Settings, mini: MiniRegistry, engine: Engine
) -> None:
    """A national full sweep (~31 s) outlasts the lease (10 s): it is renewed while it runs."""
    quick = settings.model_copy(update={"sweep_interval_s": 3600, "sweep_lease_s": 0.6})
    app = create_app(quick)
    async with app.router.lifespan_context(app):
        sweeper = app.state.runtime.sweeper
        assert sweeper is not None
        real = sweeper.sweep

        def slow(now: datetime, stalled: bool) -> Any:
            time.sleep(2.0)  # as long as three leases: the sweep of a big registry
            return real(now, stalled)

        sweeper.sweep = slow  # type: ignore[method-assign]
        tick = asyncio.create_task(sweeper.tick())
        taken: list[object] = []
        for _ in range(8):
            await asyncio.sleep(0.25)
            taken.append(acquire(engine=engine, name=LEASE_NAME, holder="other", ttl_s=0.6))
        await tick
        assert sweeper.is_leader
        assert taken == [None] * 8  # the other node never got it while the sweep ran
