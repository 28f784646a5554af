"""Credentials in URLs never reach the log that `posko serve` writes, access log included."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from backend.config import REPO_DIR, Settings
from backend.redact import REDACTED, RedactSecrets, redact
from tests.conftest import free_port
from tests.factories import MiniRegistry


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POSKO_DATABASE_URL": settings.database_url,
        "POSKO_SECRET_KEY": settings.secret_key,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--access-log"],
            env=env,
            cwd=REPO_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start:\n" + log.read_text(errors="replace"))


def test_the_access_log_never_prints_a_token(
    settings: Settings, mini: MiniRegistry, viewer: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _serve(settings, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{url}/login", params={"token": viewer, "next": "/wall"}).is_redirect
        httpx.get(f"{url}/login?%74oken={viewer}")  # the name percent-encoded
        httpx.get(f"{url}/api/v1/summary", params={"token": viewer})
        httpx.get(f"{url}/wall", params={"next": f"/login?token={viewer}"})
        with connect(f"ws://127.0.0.1:{port}/ws/live?token={viewer}", open_timeout=10) as ws:
            ws.recv(timeout=10)
        with pytest.raises(InvalidStatus):  # refused at the handshake: uvicorn logs that line
            connect(f"ws://127.0.0.1:{port}/_dash-ws-callback?token={viewer}", open_timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = log.read_text(errors="replace")
    # The requests were logged (the access log was on) ...
    assert f"GET /login?token={REDACTED}&next=%2Fwall HTTP/1.1" in text, text[-3000:]
    assert f"/_dash-ws-callback?token={REDACTED}" in text, text[-3000:]
    # ... and no credential, nor the prefix that names it, is in the file.
    assert viewer not in text and viewer[:12] not in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /login?token=pkk_abc-DEF_1&next=/wall", f"GET /login?token={REDACTED}&next=/wall"),
        ("/ws/live?area=16&token=xyz", f"/ws/live?area=16&token={REDACTED}"),
        ("/login?%74oken=xyz&next=/", f"/login?%74oken={REDACTED}&next=/"),
        ("/x?TOKEN=xyz", f"/x?TOKEN={REDACTED}"),
        ("/x?password=hunter2;", f"/x?password={REDACTED};"),
        ("/wall?next=/login%3Ftoken%3Dpks_s3cr3tS3cr3t", f"/wall?next=/login%3Ftoken%3D{REDACTED}"),
        ("Bearer pkd_abcdefgh seen", f"Bearer {REDACTED} seen"),
        ("GET /api/v1/tps?area=16.08 HTTP/1.1", "GET /api/v1/tps?area=16.08 HTTP/1.1"),
        ("/x?tokens=1&monkey=2", "/x?tokens=1&monkey=2"),
    ],
)
def test_redaction_replaces_secret_values_and_leaves_the_rest(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_redaction_keeps_the_shape_of_uvicorns_access_record() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/login?token=pkk_secret", "1.1", 303),
        None,
    )
    assert RedactSecrets().filter(record)
    assert record.args == ("127.0.0.1:5000", "GET", f"/login?token={REDACTED}", "1.1", 303)
