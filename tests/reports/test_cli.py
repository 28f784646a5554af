"""`posko report draft|sign|pdf` against a real database."""

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from backend.cli import app
from backend.config import Settings
from tests.ops.harness import wib
from tests.reports.conftest import Morning

runner = CliRunner()


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    env = {"POSKO_SECRET_KEY": settings.secret_key}
    r = runner.invoke(app, ["report", *args, "--database-url", settings.database_url], env=env)
    return r.exit_code, r.output


def test_draft_sign_and_print_from_the_shell(
    engine: Engine, settings: Settings, morning: Morning, tmp_path: Path
) -> None:
    code, out = _run(
        settings,
        "draft",
        "--area",
        "16.08",
        "--from",
        wib(27, "07:00").isoformat(),
        "--to",
        wib(27, "08:00").isoformat(),
        "--at",
        wib(27, "08:00").isoformat(),
    )
    assert code == 0, out
    found = re.search(r"report (\d+) v1 \(on_demand, draft\)", out)
    assert found is not None
    rid = found.group(1)
    code, out = _run(settings, "sign", rid, "--name", "Kapolres", "--rank", "AKBP", "--nrp", "1")
    assert code == 2 and "--nrp" in out
    code, out = _run(
        settings, "sign", rid, "--name", "Kapolres", "--rank", "AKBP", "--nrp", "76050123"
    )
    assert code == 0 and re.search(r"signed, sha256 [0-9a-f]{64}", out), out
    code, out = _run(
        settings, "sign", rid, "--name", "Kapolres", "--rank", "AKBP", "--nrp", "76050123"
    )
    assert code == 1 and "frozen" in out
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian chromium")
    pdf = tmp_path / "lapsit.pdf"
    code, out = _run(settings, "pdf", rid, "--out", str(pdf))
    assert code == 0, out
    assert pdf.read_bytes().startswith(b"%PDF-")
    with engine.connect() as c:
        actor, data = c.execute(
            text("SELECT actor, data FROM audit_entry WHERE action = 'report.downloaded'")
        ).one()
    assert actor.startswith("cli:") and '"pdf"' in data


def test_draft_refuses_a_bad_area(engine: Engine, settings: Settings) -> None:
    code, out = _run(settings, "draft", "--area", "16%")
    assert code == 2 and "--area" in out
