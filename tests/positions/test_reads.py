"""The map's reads of positions, cut to the reader's area; pings and record_fix feed the table."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, text

from backend.config import Settings
from backend.db import RawDb
from backend.intake.writer import StorageUnavailable
from backend.positions.service import Fix, FixRefused, record_fix, store_fixes
from backend.positions.writer import PositionWriter
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, device_token, person_token
from tests.helpers import ping
from tests.positions.conftest import bind, positions

TRACCAR = "/api/v1/channels/traccar"


def send_fix(server: LiveServer, key: str, at: datetime, lat: float, batt: float = 80) -> None:
    """One Traccar position."""
    form = {"id": key, "lat": lat, "lon": 104.35, "timestamp": int(at.timestamp()), "batt": batt}
    assert httpx.post(server.url + TRACCAR, data=form, timeout=10).status_code == 200  # type: ignore[arg-type]


def get(server: LiveServer, token: str, path: str, **params: str) -> httpx.Response:
    """GET with a Bearer token."""
    return httpx.get(
        server.url + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_officers_positions_show_age_battery_and_staleness(
    settings: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    srv = start_server(settings.model_copy(update={"positions_stale_s": 600.0}))
    try:
        now = datetime.now(UTC)
        keys = [bind(engine, nrp) for nrp in mini.officer_nrps[:2]]
        send_fix(srv, keys[0], now - timedelta(seconds=30), -4.30, batt=64)
        send_fix(srv, keys[1], now - timedelta(minutes=20), -4.15)
        body = get(srv, person_token(engine), "/api/v1/officers/positions").json()
    finally:
        srv.stop()
    assert body["count"] == 2 and body["stale_after_s"] == 600.0
    by_nrp = {f["nrp"]: f for f in body["data"]}
    fresh, stale = by_nrp[mini.officer_nrps[0]], by_nrp[mini.officer_nrps[1]]
    assert (fresh["is_stale"], fresh["battery"], fresh["lat"]) == (False, 64, -4.30)
    assert 25 <= fresh["age_s"] <= 90
    assert stale["is_stale"] is True and stale["age_s"] >= 1200
    assert fresh["unit"] == "Polres OKU Timur" and fresh["name"] == "Petugas 0"


def test_positions_are_cut_to_the_readers_area(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    send_fix(server, key, datetime.now(UTC), -4.30)
    own = person_token(engine, area="16.08")
    other = person_token(engine, area="17")
    assert get(server, own, "/api/v1/officers/positions").json()["count"] == 1
    assert get(server, other, "/api/v1/officers/positions").json()["count"] == 0
    assert get(server, own, "/api/v1/officers/positions", area="16.09").status_code == 403
    assert get(server, own, "/api/v1/officers/positions", area="16%").status_code == 422
    phone = device_token(engine, mini.officer_ids[0])
    assert get(server, phone, "/api/v1/officers/positions").status_code == 403


def test_trail_is_the_days_fixes_in_order_and_only_in_your_area(
    server: LiveServer, engine: Engine, mini: MiniRegistry, key: str
) -> None:
    now = datetime.now(UTC)
    for i, lat in enumerate((-4.30, -4.31, -4.32)):
        send_fix(server, key, now - timedelta(seconds=30 - i * 10), lat)
    send_fix(server, key, now - timedelta(days=2), -4.0)  # another day
    nrp = mini.officer_nrps[0]
    own = person_token(engine, area="16.08")
    body = get(server, own, f"/api/v1/officers/{nrp}/trail").json()
    assert [p["lat"] for p in body["data"]] == [-4.30, -4.31, -4.32]
    assert body["count"] == 3 and body["nrp"] == nrp
    since = (now - timedelta(days=3)).isoformat()
    assert get(server, own, f"/api/v1/officers/{nrp}/trail", since=since).json()["count"] == 4
    other = person_token(engine, area="17")
    assert get(server, other, f"/api/v1/officers/{nrp}/trail").status_code == 404
    assert get(server, own, "/api/v1/officers/00000000/trail").status_code == 404
    naive = get(server, own, f"/api/v1/officers/{nrp}/trail", since="2026-01-01T00:00:00")
    assert naive.status_code == 422


def test_a_located_ping_places_its_officer(
    server: LiveServer, engine: Engine, mini: MiniRegistry
) -> None:
    token = device_token(engine, mini.officer_ids[0])
    tps = mini.tps_codes[0]
    r = httpx.post(
        server.url + "/api/v1/pings",
        json=[ping(tps, lat=-4.297, lon=104.346), ping(tps, minutes=1, lat=-4.2975, lon=104.346)],
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200
    r = httpx.post(
        server.url + "/api/v1/pings",
        json=ping(tps, minutes=2),  # no fix: nothing to place
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 200
    # One fix per officer per commit: the newest of the batch.
    fixes = positions(engine)
    assert [(f["lat"], f["source"]) for f in fixes] == [(-4.2975, "ping")]


def test_store_fixes_tells_new_from_duplicate(engine: Engine, mini: MiniRegistry) -> None:
    at = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    oid = mini.officer_ids[0]
    a = Fix(oid, at, -4.3, 104.3, at, "whatsapp")
    b = Fix(oid, at + timedelta(seconds=10), -4.31, 104.3, at, "whatsapp")
    db = RawDb(engine)
    try:
        db.begin()
        assert store_fixes(db, [a, b, a]) == [True, True, False]
        db.commit()
        db.begin()
        assert store_fixes(db, [b]) == [False]
        db.commit()
    finally:
        db.close()
    with engine.connect() as c:
        assert c.execute(text("SELECT lat FROM officer_last_fix")).scalar_one() == -4.31


def test_record_fix_stores_after_commit_and_refuses_the_implausible(
    engine: Engine, mini: MiniRegistry
) -> None:
    async def run() -> tuple[bool, bool]:
        writer = PositionWriter(
            engine, linger_s=0.05, queue_max=100, max_future_s=3600, max_age_s=86400
        )
        await writer.start()
        try:
            now = datetime.now(UTC)
            kw = {"officer_id": mini.officer_ids[1], "received_at": now, "source": "telegram"}
            first = await record_fix(writer, device_time=now, lat=-4.1, lon=104.6, **kw)  # type: ignore[arg-type]
            again = await record_fix(writer, device_time=now, lat=-4.1, lon=104.6, **kw)  # type: ignore[arg-type]
            with pytest.raises(FixRefused) as err:
                await record_fix(writer, device_time=now, lat=0.0, lon=0.0, **kw)  # type: ignore[arg-type]
            assert err.value.field == "lat"
            with pytest.raises(FixRefused):
                old = now - timedelta(days=2)
                await record_fix(writer, device_time=old, lat=-4.1, lon=104.6, **kw)  # type: ignore[arg-type]
        finally:
            await writer.stop()
        with pytest.raises(StorageUnavailable):
            await writer.submit([])
        return first, again

    assert asyncio.run(run()) == (True, False)
    assert len(positions(engine)) == 1


def test_fixes_arriving_together_share_commits(engine: Engine, mini: MiniRegistry) -> None:
    async def run() -> int:
        writer = PositionWriter(
            engine, linger_s=0.2, queue_max=10_000, max_future_s=3600, max_age_s=86400
        )
        await writer.start()
        try:
            now = datetime.now(UTC)
            await asyncio.gather(
                *(
                    record_fix(
                        writer,
                        officer_id=mini.officer_ids[i % 4],
                        device_time=now - timedelta(seconds=i),
                        lat=-4.1,
                        lon=104.6,
                        received_at=now,
                        source="traccar",
                    )
                    for i in range(200)
                )
            )
        finally:
            await writer.stop()
        return writer.counts.commits

    commits = asyncio.run(run())
    assert commits <= 3, commits  # 200 requests within the linger: one or two commits
    assert len(positions(engine)) == 200
