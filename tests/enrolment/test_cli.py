"""`posko officer enrol`: the sheet from the command line, audited as the CLI's user."""

import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.service import list_entries, verify
from backend.cli import app
from backend.config import Settings
from backend.enrolment.service import EnrolmentError, redeem
from tests.conftest import TEST_SECRET
from tests.enrolment.conftest import BELITANG, code_of
from tests.enrolment.test_sheet import _cards, modules_for, modules_of, parse
from tests.factories import MiniRegistry
from tests.ops.harness import wib

runner = CliRunner()


@pytest.fixture(autouse=True)
def _same_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # The command reads its settings from the environment; the audit chain's key derives from
    # the secret, so it must be the one the test's engine appends with.
    monkeypatch.setenv("POSKO_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("USER", "operator-polres")


def test_officer_enrol_writes_a_sheet_whose_links_work_once(
    engine: Engine, settings: Settings, mini: MiniRegistry, tmp_path: Path
) -> None:
    out = tmp_path / "sheet.html"
    db = ["--database-url", settings.database_url]
    r = runner.invoke(app, ["officer", "enrol", "--polsek", BELITANG, "--out", str(out), *db])
    assert r.exit_code == 0, r.output
    assert "2 link(s), valid until " in r.output and str(out) in r.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    cards = _cards(parse(out.read_text()))
    assert [c.attrs["data-nrp"] for c in cards] == mini.officer_nrps[2:]
    link = cards[0].attrs["data-link"]
    assert link.startswith("http://127.0.0.1:8000/lapor/#daftar=pke_")
    assert modules_of(cards[0].find_all("svg")[0].raw) == modules_for(link)
    with Session(engine) as s:
        done = redeem(session=s, code=code_of(link), now=wib(27, "08:00"), remote=None)
        assert done.officer.nrp == mini.officer_nrps[2]
        (entry,) = list_entries(session=s, action_prefix="enrolment.create")
        assert verify(session=s).ok
    assert entry.actor == "cli:operator-polres"
    assert entry.area_code == "16.08"
    assert entry.data["officers"] == mini.officer_nrps[2:]


def test_officer_enrol_one_nrp_with_hours_and_a_new_sheet_revokes_the_old(
    engine: Engine, settings: Settings, mini: MiniRegistry, tmp_path: Path
) -> None:
    db = ["--database-url", settings.database_url]
    nrp = mini.officer_nrps[0]
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    for out in (first, second):
        r = runner.invoke(
            app, ["officer", "enrol", "--nrp", nrp, "--hours", "2", "--out", str(out), *db]
        )
        assert r.exit_code == 0, r.output
    old = _cards(parse(first.read_text()))[0].attrs["data-link"]
    new = _cards(parse(second.read_text()))[0].attrs["data-link"]
    with Session(engine) as s, pytest.raises(EnrolmentError, match="revoked"):
        redeem(session=s, code=code_of(old), now=wib(27, "08:00"), remote=None)
    with Session(engine) as s:
        assert redeem(session=s, code=code_of(new), now=wib(27, "08:00"), remote=None).token
        (entry,) = list_entries(session=s, action_prefix="enrolment.create", limit=1)
    assert entry.data["revoked_links"] != []


def test_officer_enrol_refuses_what_it_cannot_find(
    settings: Settings, mini: MiniRegistry, tmp_path: Path, engine: Engine
) -> None:
    db = ["--database-url", settings.database_url]
    out = tmp_path / "x.html"
    r = runner.invoke(app, ["officer", "enrol", "--polsek", "polsek-entah", "--out", str(out), *db])
    assert r.exit_code == 2 and "no unit polsek-entah" in r.output and not out.exists()
    r = runner.invoke(app, ["officer", "enrol", "--nrp", "1", "--out", str(out), *db])
    assert r.exit_code == 2 and "no officer with NRP 1" in r.output
    r = runner.invoke(app, ["officer", "enrol", "--hours", "0", "--out", str(out), *db])
    assert r.exit_code == 2
    r = runner.invoke(app, ["officer", "enrol", *db])
    assert r.exit_code == 2 and "--out" in r.output
