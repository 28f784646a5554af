"""Record real /ws/live frames and reads from a real server, as fixtures for the Node tests.

Run once (and again whenever the live frames change shape):

    python -m tests.js.record_frames

It starts the app on the small test registry with an exercise clock at 08:00 WIB on voting day,
subscribes to /ws/live as a viewer, reads the snapshot, log and incident list the browser reads,
sends pings and an incident from a field device, waits for a heartbeat, makes the hub tell every
screen to resync, and has a revoked credential and a device token refused. Everything lands in
tests/js/fixtures/ as the server sent it; the tests build gaps, overflows, older versions and
reconnects from these frames.
"""

import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from backend.app import create_app
from backend.config import Settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.runtime import Runtime
from tests.conftest import TEST_SECRET, free_port
from tests.factories import NOW, device_token, person_token, seed_mini
from tests.helpers import field_socket, incident, ping, send

OUT = Path(__file__).resolve().parent / "fixtures"


def _settings(db: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{db}",
        secret_key=TEST_SECRET,
        clock_start=NOW,
        max_age_s=10 * 365 * 24 * 3600.0,
        max_future_s=10 * 365 * 24 * 3600.0,
        clock_skew_tolerance_s=10 * 365 * 24 * 3600.0,
        late_after_s=10 * 365 * 24 * 3600.0,
    )


def _serve(settings: Settings) -> tuple[str, uvicorn.Server, asyncio.AbstractEventLoop]:
    """The app under uvicorn on its own loop (kept, to call the hub from here)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    loop = asyncio.new_event_loop()
    threading.Thread(target=lambda: loop.run_until_complete(server.serve()), daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    return f"127.0.0.1:{port}", server, loop


def _frame(live: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = orjson.loads(live.recv(timeout=10))
    return frame


def _until(live: ClientConnection, kind: str, into: list[dict[str, Any]]) -> dict[str, Any]:
    """Read frames (keeping every one in `into`) until one of `kind` arrives."""
    while True:
        frame = _frame(live)
        into.append(frame)
        if frame["type"] == kind:
            return frame


def _refused(host: str, token: str) -> dict[str, Any]:
    """What /ws/live says to a credential it refuses: the error frame, then the close code."""
    with connect(f"ws://{host}/ws/live?token={token}", open_timeout=10) as live:
        frame = _frame(live)
        try:
            live.recv(timeout=10)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return {"frame": frame, "close_code": closed.rcvd.code}
    raise AssertionError("the refused socket stayed open")


def record(out: Path = OUT) -> None:
    """Run the scenario and write the fixtures."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp) / "posko.db")
        engine = make_engine(settings)
        upgrade(engine)
        mini = seed_mini(engine)
        viewer = person_token(engine)
        device = device_token(engine, mini.officer_ids[0])
        host, server, loop = _serve(settings)
        rt: Runtime = server.config.app.state.runtime
        auth = {"authorization": f"Bearer {viewer}"}
        frames: list[dict[str, Any]] = []
        try:
            with connect(f"ws://{host}/ws/live?token={viewer}", open_timeout=10) as live:
                hello = _until(live, "hello", frames)
                with httpx.Client(base_url=f"http://{host}", headers=auth) as http:
                    reads = {
                        "snapshot": http.get("/api/v1/snapshot").json(),
                        "log": http.get("/api/v1/log?limit=60").json(),
                        "incidents": http.get("/api/v1/incidents?limit=300").json(),
                    }
                codes = mini.tps_codes
                with field_socket(f"ws://{host}", device) as field:
                    send(field, ping(codes[0], "persiapan", "aman", minutes=-20))
                    send(field, ping(codes[1], "pemungutan", "aman", minutes=-10))
                    send(field, ping(codes[0], "pemungutan", "waspada", minutes=-5))
                    send(field, incident(codes[2], severity=4, minutes=-1))
                # The deltas, and whatever the sweeper publishes after the incident, until the
                # stream goes quiet for a heartbeat.
                heartbeat = _until(live, "heartbeat", frames)
                loop.call_soon_threadsafe(rt.hub.resync_all)
                resync = _until(live, "resync", frames)
            with connect(f"ws://{host}/ws/live?token={viewer}", open_timeout=10) as again:
                second_hello = _frame(again)
            refused = {
                "revoked": _refused(host, "pkp_revoked_or_signed_out"),
                "device": _refused(host, device),
            }
        finally:
            server.should_exit = True
            time.sleep(1)
            engine.dispose()
    deltas = [f for f in frames if f["type"] == "delta"]
    assert hello["seq"] == reads["snapshot"]["seq"], "a delta slipped in before the snapshot"
    first = hello["seq"] + 1
    assert [d["seq"] for d in deltas] == list(range(first, first + len(deltas)))
    assert heartbeat["seq"] == deltas[-1]["seq"] and second_hello["seq"] == heartbeat["seq"]
    out.mkdir(parents=True, exist_ok=True)
    fixtures = {
        "stream.json": {
            "hello": hello,
            "deltas": deltas,
            "heartbeat": heartbeat,
            "resync": resync,
            "second_hello": second_hello,
            "in_order": frames,
        },
        "reads.json": reads,
        "refused.json": refused,
    }
    for name, body in fixtures.items():
        (out / name).write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")
        print(f"wrote {out / name}")


if __name__ == "__main__":
    record()
