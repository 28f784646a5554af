"""GET /api/v1/replay/* and `posko replay`: the same picture as the service, cut to the area."""

from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine
from typer.testing import CliRunner

from backend.cli import app as cli_app
from backend.config import Settings
from schemas.live import Snapshot
from tests.conftest import LiveServer, start_server
from tests.factories import MiniRegistry, person_token
from tests.ops.harness import Field, wib
from tests.replay.test_state_at import picture, replayed, scripted_day, snapshot_part

runner = CliRunner()


def test_replay_snapshot_api_is_the_live_snapshot_shape_at_that_moment(
    field: Field, mini: MiniRegistry, settings: Settings, tokens: dict[str, str]
) -> None:
    seen = scripted_day(field, mini)
    # Started after the day was written: its own sweeper (clock from 08:00 WIB) acts later.
    srv = start_server(settings.model_copy(update={"clock_start": wib(27, "08:00")}))
    try:
        _compare(srv, seen, tokens)
    finally:
        srv.stop()


def _compare(ops_server: LiveServer, seen: list[Any], tokens: dict[str, str]) -> None:
    headers = {"authorization": f"Bearer {tokens['viewer']}"}
    # Moments before the server's exercise clock started (08:00 WIB): its own sweeps after
    # that cannot have touched them.
    for moment, expected in [(m, p) for m, p in seen if m < wib(27, "08:00")]:
        r = httpx.get(
            ops_server.url + "/api/v1/replay/snapshot",
            params={"at": moment.isoformat(), "area": "16.08"},
            headers=headers,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        snap = Snapshot.model_validate(r.json())
        assert snap.seq == 0 and snap.channel == "kab:16.08" and snap.taken_at == moment
        assert picture(snap.tps, snap.incidents, snap.alerts) == snapshot_part(expected)
    for path in ("log", "rollup", "positions", "incidents"):
        r = httpx.get(
            f"{ops_server.url}/api/v1/replay/{path}",
            params={"at": wib(27, "07:32").isoformat()},
            headers=headers,
            timeout=10,
        )
        assert r.status_code == 200, (path, r.text)


def test_replay_api_refuses_a_naive_moment_and_an_area_outside_yours(
    engine: Engine, mini: MiniRegistry, ops_server: LiveServer
) -> None:
    narrow = {"authorization": f"Bearer {person_token(engine, area='16.08')}"}
    url = ops_server.url + "/api/v1/replay/snapshot"
    r = httpx.get(url, params={"at": "2024-11-27T08:00:00"}, headers=narrow, timeout=10)
    assert r.status_code == 422 and "at" in r.text
    r = httpx.get(url, params={"at": "kemarin"}, headers=narrow, timeout=10)
    assert r.status_code == 422
    for edge in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"):
        r = httpx.get(url, params={"at": edge}, headers=narrow, timeout=10)
        assert r.status_code == 422 and "at" in r.text, (edge, r.text)
    r = httpx.get(
        url, params={"at": "2024-11-27T08:00:00+07:00", "area": "17"}, headers=narrow, timeout=10
    )
    assert r.status_code == 403
    r = httpx.get(url, params={"at": "2024-11-27T08:00:00+07:00"}, timeout=10)
    assert r.status_code == 401


def test_posko_replay_prints_the_moment_and_its_json(
    field: Field, mini: MiniRegistry, settings: Settings
) -> None:
    seen = scripted_day(field, mini)
    moment, expected = seen[4]
    url = ["--database-url", settings.database_url]
    at = moment.astimezone(wib(27, "08:00").tzinfo).isoformat()
    r = runner.invoke(cli_app, ["replay", "--at", at, "--area", "16.08", "--json", *url])
    assert r.exit_code == 0, r.output
    snap = Snapshot.model_validate(orjson.loads(r.output))
    assert picture(snap.tps, snap.incidents, snap.alerts) == snapshot_part(expected)
    wib_at = (moment + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S+07:00")
    r = runner.invoke(cli_app, ["replay", "--at", wib_at, "--area", "16.08", *url])
    assert r.exit_code == 0, r.output
    assert (moment + timedelta(hours=7)).strftime("%H:%M:%S WIB") in r.output
    assert "insiden terbuka" in r.output and "peringatan terbuka" in r.output
    assert replayed(field.engine, moment)["incidents"] == expected["incidents"]
    bad = runner.invoke(cli_app, ["replay", "--at", "2024-11-27T08:00", *url])
    assert bad.exit_code != 0 and "offset" in bad.output
    bad = runner.invoke(cli_app, ["replay", "--at", wib_at, "--area", "16%", *url])
    assert bad.exit_code != 0
