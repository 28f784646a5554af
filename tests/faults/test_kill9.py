"""kill -9 under load, again and again: every event acked `stored` is in the database, once."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlalchemy import Engine, text

from backend.config import Settings
from tests.conftest import free_port
from tests.factories import MiniRegistry, device_token
from tests.faults.loadgen import Ledger, run_load


def _serve(settings: Settings) -> tuple[subprocess.Popen[bytes], int]:
    """Start `posko serve` on a free port; return the process and its port once it answers."""
    env = {
        **os.environ,
        "POSKO_DATABASE_URL": settings.database_url,
        "POSKO_SECRET_KEY": settings.secret_key,
        "POSKO_MAX_AGE_S": str(settings.max_age_s),
        "POSKO_MAX_FUTURE_S": str(settings.max_future_s),
    }
    # The port is chosen here and bound by the child a moment later; another process may take
    # it meanwhile (the child then exits at once): start again on another port.
    for _ in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90  # a generous start on a busy machine
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if answered.status_code == 200 and proc.poll() is None:
                return proc, port
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise RuntimeError("server did not start")
    raise RuntimeError("server exited at start three times (port taken?)")


def _wait_acked(ledger: Ledger, at_least: int, timeout: float = 60.0) -> None:
    """Wait until the ledger holds `at_least` events acked `stored` (a deadline, not a rate)."""
    deadline = time.monotonic() + timeout
    while len(ledger.stored) < at_least:
        assert time.monotonic() < deadline, "the load did not get going"
        time.sleep(0.05)


def _load_until_killed(
    url: str, tokens: list[str], codes: list[str], ledger: Ledger, resend: list[str]
) -> None:
    stop = asyncio.Event()  # never set: the phones run until the server dies
    asyncio.run(run_load(url, tokens, codes, ledger, stop, resend))


@pytest.mark.slow
def test_kill9_under_load_never_loses_or_doubles_an_acked_event(
    settings: Settings, engine: Engine, mini: MiniRegistry
) -> None:
    tokens = [device_token(engine, oid) for oid in mini.officer_ids]
    ledger = Ledger()
    for _ in range(3):
        proc, port = _serve(settings)
        url = f"ws://127.0.0.1:{port}"
        before = len(ledger.stored)
        load = threading.Thread(
            target=_load_until_killed,
            args=(url, tokens, mini.tps_codes, ledger, ledger.unacked),
            daemon=True,
        )
        load.start()
        # Killed under load: once it has acked hundreds of events (and goes on acking),
        # however long that takes on this machine.
        _wait_acked(ledger, before + 500)
        proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: the process just dies
        proc.wait()
        load.join(timeout=60)
        assert not load.is_alive(), "the phones did not notice the server died"
    with engine.connect() as c:
        rows = dict(c.execute(text("SELECT event_id, count(*) FROM ping GROUP BY event_id")).all())
    in_db = {_dashed(str(k)): n for k, n in rows.items()}
    lost = [e for e in ledger.stored if e not in in_db]
    assert not lost, f"{len(lost)} acknowledged events are missing"
    assert max(in_db.values()) == 1
    # Whatever was never acked may or may not be there; resent now, each is stored at most once.
    proc, port = _serve(settings)
    url = f"ws://127.0.0.1:{port}"
    try:
        pending = ledger.unacked
        asyncio.run(
            run_load(url, tokens, mini.tps_codes, ledger, asyncio.Event(), pending, generate=False)
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert not ledger.unacked
    with engine.connect() as c:
        ids = [_dashed(str(r[0])) for r in c.execute(text("SELECT event_id FROM ping"))]
    # Every event sent is there exactly once: the ones acked `stored`, and the ones committed
    # just before a kill whose ack never left (answered `duplicate` when resent).
    assert len(ids) == len(set(ids))
    assert set(ids) == set(ledger.sent)


def _dashed(value: str) -> str:
    v = value.replace("-", "")
    return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"
