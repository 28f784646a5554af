"""`posko officer tracker`: a tracker key from the command line, shown once, audited."""

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.service import list_entries, verify
from backend.cli import app
from backend.config import Settings
from backend.positions.service import hash_key, officer_for_key
from tests.conftest import TEST_SECRET
from tests.factories import MiniRegistry
from tests.helpers import count

runner = CliRunner()


@pytest.fixture(autouse=True)
def _same_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSKO_SECRET_KEY", TEST_SECRET)  # the audit chain's key
    monkeypatch.setenv("USER", "operator-polres")


def test_tracker_key_is_made_shown_once_and_replaces_the_earlier_one(
    engine: Engine, settings: Settings, mini: MiniRegistry
) -> None:
    nrp = mini.officer_nrps[0]
    db = ["--database-url", settings.database_url]
    first = runner.invoke(app, ["officer", "tracker", nrp, *db])
    assert first.exit_code == 0, first.output
    key1 = first.output.split(": ", 1)[1].split()[0]
    second = runner.invoke(app, ["officer", "tracker", nrp, *db])
    key2 = second.output.split(": ", 1)[1].split()[0]
    assert len(key1) == 24 and key1 != key2
    with Session(engine) as s:
        assert officer_for_key(session=s, key=key1) is None  # revoked by the new one
        owner = officer_for_key(session=s, key=key2)
        assert owner is not None and owner.nrp == nrp
        entries = list_entries(session=s, action_prefix="tracker.bind")
        assert len(entries) == 2 and all(e.actor == "cli:operator-polres" for e in entries)
        assert verify(session=s).ok
    assert count(engine, "tracker_key", f"key_hash = '{hash_key(key2)}'") == 1
    assert count(engine, "tracker_key", f"key_hash = '{key2}'") == 0  # only the hash is kept


def test_a_given_traccar_id_is_bound_unless_guessable_or_taken(
    engine: Engine, settings: Settings, mini: MiniRegistry
) -> None:
    db = ["--database-url", settings.database_url]
    nrp0, nrp1 = mini.officer_nrps[:2]
    r = runner.invoke(app, ["officer", "tracker", nrp0, "--traccar", "48241179", *db])
    assert r.exit_code != 0 and "12" in r.output  # the app's default 8 digits: refused
    r = runner.invoke(app, ["officer", "tracker", nrp0, "--traccar", "okut-brimob-07x", *db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["officer", "tracker", nrp1, "--traccar", "okut-brimob-07x", *db])
    assert r.exit_code != 0 and "already in use" in r.output
    r = runner.invoke(app, ["officer", "tracker", "99999999", *db])
    assert r.exit_code != 0 and "no officer" in r.output
