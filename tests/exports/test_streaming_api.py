"""A large export over the API is sent in chunks as read; an export held open takes a slot."""

import contextlib
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from sqlalchemy import Engine

from backend.config import Settings
from backend.exports.service import CHUNK
from backend.exports.views import SLOTS
from tests.conftest import LiveServer, start_server
from tests.exports.large import N, fill_positions
from tests.factories import MiniRegistry, person_token

pytestmark = pytest.mark.slow(cost_s=25)


@pytest.fixture
def big(engine: Engine, mini: MiniRegistry) -> Engine:
    """The mini registry with N position fixes."""
    fill_positions(engine, mini)
    return engine


def test_exp021_the_api_sends_a_large_export_in_many_chunks(
    big: Engine, mini: MiniRegistry, settings: Settings
) -> None:
    srv: LiveServer = start_server(settings.model_copy(update={"sweep_interval_s": 3600.0}))
    try:
        tok = person_token(big)
        for fmt in ("csv", "geojson"):
            pieces: list[int] = []
            body = bytearray()
            with httpx.stream(
                "GET",
                f"{srv.url}/api/v1/exports/positions.{fmt}",
                headers={"Authorization": f"Bearer {tok}", "Accept-Encoding": "identity"},
                timeout=120,
            ) as r:
                assert r.status_code == 200
                assert "content-length" not in r.headers  # streamed, not buffered first
                for piece in r.iter_raw():
                    pieces.append(len(piece))
                    body += piece
            assert len(pieces) >= N // CHUNK, len(pieces)
            if fmt == "csv":
                assert body.count(b"\r\n") == N + 1
            else:
                assert len(orjson.loads(body)["features"]) == N
        _busy_then_free(srv.url, tok)
    finally:
        srv.stop()


def _busy_then_free(url: str, tok: str) -> None:
    """SLOTS exports held open make the next one a 429; hanging up frees every slot."""
    auth = {"Authorization": f"Bearer {tok}", "Accept-Encoding": "identity"}
    readers: list[Iterator[bytes]] = []  # kept: a dropped iterator closes its connection
    with contextlib.ExitStack() as held:
        for _ in range(SLOTS):
            client = held.enter_context(httpx.Client(timeout=60))
            # GeoJSON: ~74 MB, more than the socket buffers hold (up to 32 + 4 MiB here).
            r = held.enter_context(
                client.stream("GET", f"{url}/api/v1/exports/positions.geojson", headers=auth)
            )
            assert r.status_code == 200
            readers.append(r.iter_raw())
            next(readers[-1])  # started, then not read: the server waits on a full socket
        r = httpx.get(f"{url}/api/v1/exports/tps.csv", headers=auth, timeout=60)
        assert r.status_code == 429 and r.json()["detail"]["field"] == "dataset"
        assert r.headers["retry-after"] == "60"
    # Hung up mid-file: the snapshots are closed and the slots freed (soon after).
    deadline = time.monotonic() + 30
    while (
        r := httpx.get(f"{url}/api/v1/exports/tps.csv", headers=auth, timeout=60)
    ).status_code == 429:
        assert time.monotonic() < deadline, "slots not freed after the readers hung up"
        time.sleep(0.2)
    assert r.status_code == 200
    for _ in range(2 * SLOTS):  # and stay free, however many hang up
        with httpx.stream(
            "GET", f"{url}/api/v1/exports/positions.geojson", headers=auth, timeout=60
        ) as r:
            next(r.iter_raw())
    deadline = time.monotonic() + 30
    while (
        r := httpx.get(f"{url}/api/v1/exports/tps.csv", headers=auth, timeout=60)
    ).status_code == 429:
        assert time.monotonic() < deadline, "slots not freed after the readers hung up"
        time.sleep(0.2)
    assert r.status_code == 200
