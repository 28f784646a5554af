"""`posko export`: the same files from the database directly, audited as the CLI's."""

from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.service import list_entries
from backend.cli import app
from backend.config import Settings
from tests.conftest import TEST_SECRET
from tests.exports.conftest import Day
from tests.exports.files import parse_csv, parse_geojson, parse_xlsx, same, stored

runner = CliRunner()


@pytest.fixture(autouse=True)
def _same_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSKO_SECRET_KEY", TEST_SECRET)  # the audit chain's key
    monkeypatch.setenv("USER", "analis-polres")


def test_exp010_the_cli_writes_each_format_to_a_file_cut_to_the_area(
    day: Day, settings: Settings, tmp_path: Path
) -> None:
    db = ["--database-url", settings.database_url]
    xlsx = tmp_path / "out" / "insiden.xlsx"  # the format from the file's name
    r = runner.invoke(app, ["export", "incidents", "--area", "16.08", "--out", str(xlsx), *db])
    assert r.exit_code == 0, r.output
    assert "1 rows of incidents (16.08)" in r.output
    sheets = parse_xlsx(xlsx)
    same(sheets["incidents"], stored(day.engine, "incidents", "16.08"))
    same(sheets["incident_steps"], stored(day.engine, "incident_steps", "16.08"))
    assert [p.name for p in xlsx.parent.iterdir()] == ["insiden.xlsx"]  # no temporary left
    geo = tmp_path / "posisi.json"
    want = stored(day.engine, "positions", None)
    r = runner.invoke(app, ["export", "positions", "--format", "geojson", "--out", str(geo), *db])
    assert r.exit_code == 0, r.output
    same(parse_geojson("positions", geo.read_bytes()), want)
    want = stored(day.engine, "audit", "16.07")
    r = runner.invoke(app, ["export", "audit", "--area", "16.07", *db])  # to standard output
    assert r.exit_code == 0, r.output
    rows, _ = parse_csv("audit", r.stdout_bytes)
    same(rows, want)
    with Session(day.engine) as s:
        entries = list_entries(session=s, action_prefix="export.")
    assert [(e.subject, e.area_code, e.actor, e.data["via"]) for e in entries] == [
        ("audit.csv", "16.07", "cli:analis-polres", "cli"),
        ("positions.geojson", None, "cli:analis-polres", "cli"),
        ("incidents.xlsx", "16.08", "cli:analis-polres", "cli"),
    ]


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["alerts", "--format", "geojson"], "--format"),
        (["pings"], "DATASET"),
        (["tps", "--area", "16%"], "--area"),
        (["timeline", "--from", "2024-11-27T08:00"], "--from"),
        (["tps", "--format", "xlsx"], "--out"),
    ],
)
def test_exp011_the_cli_refuses_naming_the_option(
    day: Day, settings: Settings, args: list[str], hint: str
) -> None:
    r = runner.invoke(app, ["export", *args, "--database-url", settings.database_url])
    assert r.exit_code == 2, r.output
    assert hint in r.output
