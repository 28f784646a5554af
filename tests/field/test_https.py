"""`posko serve --certfile --keyfile`: the phone's whole path over HTTPS and WSS, with a test CA."""

import os
import signal
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import trustme
from pydantic import ValidationError
from sqlalchemy import Engine
from typer.testing import CliRunner
from websockets.sync.client import connect

from backend.cli import app
from backend.config import REPO_DIR, Settings
from schemas.enums import Role
from tests.conftest import free_port
from tests.factories import MiniRegistry, person_token
from tests.helpers import ping


def _certificate(tmp_path: Path) -> tuple[trustme.CA, Path, Path]:
    """A CA made here, and a certificate it signed for 127.0.0.1 (chain and key as PEM files)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    chain, key = tmp_path / "posko.crt", tmp_path / "posko.key"
    chain.write_bytes(b"".join(pem.bytes() for pem in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key))
    return ca, chain, key


def _serve_tls(
    settings: Settings, port: int, chain: Path, key: Path, ctx: ssl.SSLContext, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POSKO_DATABASE_URL": settings.database_url,
        "POSKO_SECRET_KEY": settings.secret_key,
    }
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--access-log"]
    cmd += ["--certfile", str(chain), "--keyfile", str(key)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO_DIR, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=1, verify=ctx)
            if r.status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("server did not start:\n" + log.read_text(errors="replace"))


def test_https001_a_phone_enrols_reads_and_reports_over_https_and_wss(
    settings: Settings, engine: Engine, mini: MiniRegistry, tmp_path: Path
) -> None:
    ca, chain, key = _certificate(tmp_path)
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    admin = person_token(engine, Role.ADMIN)
    port = free_port()
    log = tmp_path / "serve.log"
    proc = _serve_tls(settings, port, chain, key, ctx, log)
    base = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, verify=ctx, timeout=30) as c:
            made = c.post(
                "/api/v1/enrolments",
                json={"nrp": mini.officer_nrps[0]},
                headers={"authorization": f"Bearer {admin}"},
            )
            assert made.status_code == 201, made.text
            link = made.json()["data"][0]["url"]
            assert link.startswith(f"{base}/lapor/#daftar=pke_")  # the scheme it was reached by
            redeemed = c.post(
                "/api/v1/enrolments/redeem", json={"code": link.partition("#daftar=")[2]}
            )
            assert redeemed.status_code == 200, redeemed.text
            token = redeemed.json()["token"]
            me = c.get("/api/v1/field/me", headers={"authorization": f"Bearer {token}"})
            assert me.status_code == 200 and len(me.json()["tps"]) == 3
        offers = ["posko.v1", f"posko.bearer.{token}"]
        with connect(
            f"wss://127.0.0.1:{port}/ws/field",
            ssl=ctx,
            subprotocols=offers,  # type: ignore[arg-type]
            open_timeout=10,
        ) as ws:
            assert ws.subprotocol == "posko.v1"
            fresh = ping(mini.tps_codes[0], at=datetime.now(UTC))  # this server keeps time rules
            ws.send(orjson.dumps([fresh]).decode())
            assert orjson.loads(ws.recv(timeout=10))[0]["result"] == "stored"
        # Plain HTTP is not served on the TLS port, and an unknown CA is not trusted.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/healthz", timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
    text = log.read_text(errors="replace")
    assert "Uvicorn running on https://" in text, text[-2000:]
    assert token not in text and token[:12] not in text and admin not in text


def test_https002_serve_refuses_half_a_certificate_or_a_missing_file(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSKO_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("POSKO_SECRET_KEY", settings.secret_key)
    _, chain, key = _certificate(tmp_path)
    runner = CliRunner(env={"COLUMNS": "400"})  # the message unwrapped by the error box
    r = runner.invoke(app, ["serve", "--certfile", str(chain)])
    assert r.exit_code == 2 and "give both --certfile and --keyfile" in r.output
    r = runner.invoke(app, ["serve", "--keyfile", str(key)])
    assert r.exit_code == 2 and "give both --certfile and --keyfile" in r.output
    r = runner.invoke(app, ["serve", "--certfile", str(chain), "--keyfile", str(tmp_path / "no")])
    assert r.exit_code == 2 and "is not a file" in r.output


def test_https003_the_certificate_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSKO_SSL_CERTFILE", str(tmp_path / "a.crt"))
    monkeypatch.setenv("POSKO_SSL_KEYFILE", str(tmp_path / "a.key"))
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.ssl_certfile, s.ssl_keyfile) == (tmp_path / "a.crt", tmp_path / "a.key")
    monkeypatch.delenv("POSKO_SSL_KEYFILE")
    with pytest.raises(ValidationError, match="go together"):
        Settings(_env_file=None)  # type: ignore[call-arg]
