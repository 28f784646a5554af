"""`posko simulate provision` and `posko simulate` from the command line; a self-paced day."""

import asyncio
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.service import list_entries, verify
from backend.cli import app
from backend.config import WIB, Settings
from backend.db import make_engine
from backend.simulate.provision import Credentials, read_credentials
from backend.simulate.runner import RunConfig, Runner, SimulateError
from tests.conftest import TEST_SECRET, start_server
from tests.factories import MiniRegistry


def test_provision_writes_a_token_per_officer_to_a_file_only_its_owner_reads(
    settings: Settings, mini: MiniRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSKO_SECRET_KEY", TEST_SECRET)
    out = tmp_path / "demo" / "devices.json"
    result = CliRunner().invoke(
        app, ["simulate", "provision", "--out", str(out), "--database-url", settings.database_url]
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    body = json.loads(out.read_text())
    assert body["viewer"].startswith("pkp_")
    assert sorted(body["devices"]) == sorted(mini.officer_nrps)
    for d in body["devices"].values():
        assert d["token"].startswith("pkd_")
        assert isinstance(d["hmac_key_id"], int) and len(d["hmac_secret"]) == 64


def test_provision_audits_every_credential_it_issues_and_audit_verify_passes(
    settings: Settings, mini: MiniRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSKO_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("USER", "operator-posko")
    out = tmp_path / "devices.json"
    result = CliRunner().invoke(
        app, ["simulate", "provision", "--out", str(out), "--database-url", settings.database_url]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text())
    engine = make_engine(settings)
    try:
        with Session(engine) as s:
            issued = list_entries(session=s, action_prefix="credential.issued")
            assert verify(session=s).ok
    finally:
        engine.dispose()
    assert {e.actor for e in issued} == {"cli:operator-posko"}
    by_officer = {e.subject: e.data for e in issued if e.subject_kind == "officer"}
    assert sorted(by_officer) == sorted(mini.officer_nrps)
    for nrp, device in body["devices"].items():
        assert by_officer[nrp]["credential_id"] == device["hmac_key_id"]
        assert (by_officer[nrp]["kind"], by_officer[nrp]["area"]) == ("device", "16.08")
    viewer = [e.data for e in issued if e.subject_kind == "credential"]
    assert [(v["kind"], v["role"]) for v in viewer] == [("person", "viewer")]
    verified = CliRunner().invoke(app, ["audit", "verify", "--database-url", settings.database_url])
    assert verified.exit_code == 0, verified.output


def test_posko_simulate_without_a_command_plays_the_day(
    exercise_settings: Settings, creds: Credentials, engine: Engine, tmp_path: Path
) -> None:
    from backend.simulate.provision import write_credentials

    devices = tmp_path / "devices.json"
    write_credentials(devices, creds)
    server = start_server(exercise_settings)
    try:
        result = CliRunner().invoke(
            app,
            [
                *("simulate", "--url", server.url, "--devices", str(devices)),
                *("--seed", "3", "--duration", "2", "--progress", "1"),
            ],
        )
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "plan seed 3: 4 officers, 12 TPS" in result.output
    assert "done: sent" in result.output
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM ping")).scalar_one() > 0


async def test_against_a_real_time_server_the_day_runs_fast_here_with_real_device_times(
    settings: Settings, creds: Credentials, engine: Engine
) -> None:
    real_time = settings.model_copy(
        update={"late_after_s": 300.0, "clock_skew_tolerance_s": 120.0, "max_age_s": 7 * 86400.0}
    )
    server = await asyncio.to_thread(start_server, real_time)
    lines: list[str] = []
    try:
        stats = await Runner(
            RunConfig(
                url=server.url,
                viewer=creds.viewer,
                devices=creds.devices,
                seed=3,
                speed=2400,
                start=datetime(2024, 11, 27, 6, 40, tzinfo=WIB),
                duration=2.5,
                out=lines.append,
            )
        ).run()
    finally:
        await asyncio.to_thread(server.stop)
    assert stats.sent > 10
    assert stats.unacked == 0 and stats.rejected == 0
    assert not stats.flags  # fresh device times: neither late nor skewed
    with engine.connect() as c:
        first = c.execute(text("SELECT min(device_time) FROM ping")).scalar_one()
        phases = {r[0] for r in c.execute(text("SELECT DISTINCT phase FROM ping"))}
    first = first if isinstance(first, datetime) else datetime.fromisoformat(first)
    first = first.replace(tzinfo=UTC) if first.tzinfo is None else first
    assert abs(first - datetime.now(UTC)) < timedelta(minutes=1)
    assert "pemungutan" in phases  # 06:40 to 08:20 of the planned day in 2.5 s


async def test_speed_is_refused_when_the_server_runs_an_exercise_clock(
    exercise_settings: Settings, creds: Credentials
) -> None:
    server = await asyncio.to_thread(start_server, exercise_settings)
    try:
        runner = Runner(
            RunConfig(
                url=server.url,
                viewer=creds.viewer,
                devices=creds.devices,
                seed=3,
                speed=10,
                out=lambda _: None,
            )
        )
        with pytest.raises(SimulateError, match="exercise clock"):
            await runner.run()
    finally:
        await asyncio.to_thread(server.stop)


def test_read_credentials_reads_what_provision_wrote(creds: Credentials, tmp_path: Path) -> None:
    from backend.simulate.provision import write_credentials

    write_credentials(tmp_path / "d.json", creds)
    assert read_credentials(tmp_path / "d.json") == creds
