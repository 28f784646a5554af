"""A dashboard that stops reading never slows intake: it is told to resync instead."""

import base64
import os
import re
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import orjson
import pytest

from tests.conftest import LiveServer
from tests.factories import MiniRegistry
from tests.helpers import field_socket, ping


def _resyncs(server: LiveServer) -> float:
    m = re.search(
        r"^posko_live_resyncs_total (\S+)$", httpx.get(server.url + "/metrics").text, re.M
    )
    return float(m.group(1)) if m else 0.0


@contextmanager
def _stuck_screen(server: LiveServer, token: str) -> Iterator[socket.socket]:
    """A /ws/live subscriber that completes the handshake and then never reads again."""
    port = int(server.url.rsplit(":", 1)[1])
    sock = socket.socket()
    # A tiny receive window, set before connecting: the stall shows after kilobytes.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/live?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(12) == b"HTTP/1.1 101"
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def server(settings, mini):  # type: ignore[no-untyped-def]
    """A server whose live queues hold only a few messages, so a stuck screen overflows fast."""
    from tests.conftest import start_server

    settings.live_queue_max = 8
    srv = start_server(settings)
    yield srv
    srv.stop()


@pytest.mark.slow
def test_dead_live_subscribers_never_slow_intake(
    server: LiveServer, device: str, viewer: str, mini: MiniRegistry
) -> None:
    before = _resyncs(server)
    with ExitStack() as stack:
        # Five screens that subscribe and then never read a byte: their sockets fill up.
        for _ in range(5):
            stack.enter_context(_stuck_screen(server, viewer))
        stored = 0
        with field_socket(server.ws_url, device) as ws:
            # One commit per round, each changing all 12 TPS: ~3 KB of deltas per round per
            # screen, megabytes in all, more than any socket buffer holds.
            # Each round's acks must come while the stuck screens are still connected: intake
            # blocked behind them would time out here. How fast it goes is bench/'s question
            # (bench/subscribers.py: intake with and without 200 live subscribers).
            for r in range(3000):
                batch = [ping(code, minutes=r / 10) for code in mini.tps_codes]
                ws.send(orjson.dumps(batch).decode())
                stored += sum(a["result"] == "stored" for a in orjson.loads(ws.recv(timeout=30)))
    assert stored == 3000 * 12
    assert _resyncs(server) > before, "the stuck screens were never told to resync"
