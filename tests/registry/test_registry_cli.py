"""`posko registry seed|import` end to end on a SQLite file."""

from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend.audit.cli import app as audit_app
from backend.config import Settings
from backend.db import make_engine
from backend.registry.cli import app
from backend.tps.models import Tps
from tests.registry.conftest import DATA_DIR, hold_election_day

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database URL in tmp_path; the reference data dir is pinned for Settings()."""
    monkeypatch.setenv("POSKO_REGION_DATA_DIR", str(DATA_DIR))
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _tps_count(url: str) -> int:
    engine = make_engine(Settings(database_url=url))
    try:
        with Session(engine) as session:
            return session.exec(select(func.count()).select_from(Tps)).one()
    finally:
        engine.dispose()


def test_seed_prints_counts_per_level_risk_and_unit(url: str) -> None:
    result = runner.invoke(app, ["seed", "--database-url", url, "--seed", "2024"])
    assert result.exit_code == 0, result.output
    assert "regions: 1 provinsi, 1 kabupaten, 20 kecamatan, 312 desa" in result.output
    assert "units: 1 polres, 11 polsek" in result.output
    assert "TPS: 1012 (" in result.output and "sangat_rawan" in result.output
    assert "officers: 298" in result.output
    assert "Polsek Semendawai Suku III" in result.output
    assert _tps_count(url) == 1012


def test_seed_refuses_to_erase_election_data_unless_told_and_audit_verify_passes_after(
    url: str,
) -> None:
    assert runner.invoke(app, ["seed", "--database-url", url]).exit_code == 0
    engine = make_engine(Settings(database_url=url))
    held = hold_election_day(engine)
    engine.dispose()
    entries = _audit_entries(url)
    refused = runner.invoke(app, ["seed", "--database-url", url, "--seed", "7"])
    assert refused.exit_code == 1
    assert "refused: the database holds election data" in refused.output
    for table, n in held.items():
        assert f"  {table}: {n} rows" in refused.output
    assert f"the audit chain ({entries} entries" in refused.output
    assert "--erase-election-data" in refused.output
    assert _audit_entries(url) == entries  # the refusal changed nothing
    old = runner.invoke(app, ["seed", "--database-url", url, "--seed", "7", "--force"])
    assert old.exit_code != 0  # the old flag is gone: erasing must be asked for by name
    erased = runner.invoke(
        app, ["seed", "--database-url", url, "--seed", "7", "--erase-election-data"]
    )
    assert erased.exit_code == 0, erased.output
    assert f"{held['ping']} ping" in erased.output
    assert f"the audit chain started over ({entries} entries before)" in erased.output
    verified = runner.invoke(audit_app, ["verify", "--database-url", url])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("audit chain ok: 2 entries\n")


def _audit_entries(url: str) -> int:
    engine = make_engine(Settings(database_url=url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one())
    finally:
        engine.dispose()


def test_import_with_a_bad_row_exits_non_zero_and_lists_it(url: str, tmp_path: Path) -> None:
    path = tmp_path / "tps.csv"
    path.write_text(
        "code,desa,kecamatan,lat,lon,dpt,risk\n"
        "16.08.01.1007-001,Dusun Martapura,Martapura,-4.2978,104.3462,412,rawan\n"
        "16.08.01.1007-002,Dusun Martapura,Martapura,-4.2978,104.3462,412,sangat\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(path), "--database-url", url])
    assert result.exit_code == 1
    assert "tps.csv: line 3, column risk: 'sangat' is not one of" in result.output
    assert "1 error(s); nothing imported" in result.output
    assert _tps_count(url) == 0


def test_import_of_a_good_file_reports_what_changed(url: str, tmp_path: Path) -> None:
    path = tmp_path / "tps.csv"
    path.write_text(
        "code;desa;kecamatan;lat;lon;dpt;risk\n"
        "16.08.01.1007-001;Dusun Martapura;Martapura;-4.2978;104.3462;412;rawan\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", str(path), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "TPS: 1 new, 0 updated, 0 removed" in result.output
    assert _tps_count(url) == 1
