"""The reports API on a real server: draft, edit, sign (frozen: 409), documents, area and roles."""

import csv
import io
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.cli import app as audit_cli
from backend.audit.service import list_entries
from backend.config import Settings
from backend.reports.render import CSV_COLUMNS
from schemas.enums import Role
from tests.conftest import LiveServer
from tests.factories import person_token
from tests.ops.conftest import auth
from tests.ops.harness import wib
from tests.reports.conftest import Morning

runner = CliRunner()
SIGNER = {"name": "AKBP Kapolres Contoh", "rank": "AKBP", "nrp": "76050123"}


def _draft(srv: LiveServer, token: str, **body: object) -> dict[str, object]:
    r = httpx.post(
        f"{srv.url}/api/v1/reports",
        json={
            "area": "16.08",
            "period_start": wib(27, "07:00").isoformat(),
            "period_end": wib(27, "08:00").isoformat(),
            **body,
        },
        headers=auth(token),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    out: dict[str, object] = r.json()
    return out


def test_a_commander_drafts_edits_signs_and_the_signed_report_is_frozen(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning, engine: Engine
) -> None:
    url, cmd = ops_server.url, tokens["commander"]
    rep = _draft(ops_server, tokens["operator"])
    rid = rep["id"]
    assert rep["status"] == "draft" and rep["version"] == 1
    assert rep["content"]["kabupaten"]["incidents"]["new"] == 2  # type: ignore[index]
    # An operator may draft, not edit or sign.
    r = httpx.patch(
        f"{url}/api/v1/reports/{rid}", json={"remarks": "x"}, headers=auth(tokens["operator"])
    )
    assert r.status_code == 403
    r = httpx.patch(
        f"{url}/api/v1/reports/{rid}",
        json={"remarks": "Situasi aman terkendali.", "plan_next": "Patroli ke TPS 9."},
        headers=auth(cmd),
    )
    assert r.status_code == 200 and r.json()["remarks"] == "Situasi aman terkendali."
    r = httpx.post(f"{url}/api/v1/reports/{rid}/sign", json=SIGNER, headers=auth(cmd), timeout=30)
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and len(signed["content_sha256"]) == 64
    # Frozen: editing or signing again is a 409 naming the status.
    r = httpx.patch(f"{url}/api/v1/reports/{rid}", json={"remarks": "ubah"}, headers=auth(cmd))
    assert r.status_code == 409 and r.json()["detail"]["field"] == "status"
    r = httpx.post(f"{url}/api/v1/reports/{rid}/sign", json=SIGNER, headers=auth(cmd))
    assert r.status_code == 409
    assert httpx.get(f"{url}/api/v1/reports/{rid}", headers=auth(cmd)).json()["remarks"] == (
        "Situasi aman terkendali."
    )
    # A later change is a new version, starting from the signed words.
    r = httpx.post(f"{url}/api/v1/reports/{rid}/revise", headers=auth(cmd), timeout=30)
    assert r.status_code == 201
    assert (r.json()["version"], r.json()["status"], r.json()["remarks"]) == (
        2,
        "draft",
        "Situasi aman terkendali.",
    )
    # Every step is in the audit chain; the signature with the hash of what was signed.
    with Session(engine) as s:
        entries = list_entries(session=s, subject_kind="report", subject=str(rid))
    assert [e.action for e in reversed(entries)] == [
        "report.drafted",
        "report.edited",
        "report.signed",
    ]
    assert entries[0].data["sha256"] == signed["content_sha256"]
    assert entries[0].actor.startswith("person:test commander")


def test_bad_input_is_a_4xx_naming_the_field(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning
) -> None:
    url, cmd = ops_server.url, tokens["commander"]
    r = httpx.post(f"{url}/api/v1/reports", json={"area": "16%"}, headers=auth(cmd))
    assert r.status_code == 422
    r = httpx.post(f"{url}/api/v1/reports", json={}, headers=auth(cmd))  # national: which one?
    assert r.status_code == 422 and r.json()["detail"]["field"] == "area"
    rid = _draft(ops_server, cmd)["id"]
    r = httpx.post(
        f"{url}/api/v1/reports/{rid}/sign", json={**SIGNER, "nrp": "abc"}, headers=auth(cmd)
    )
    assert r.status_code == 422 and "nrp" in r.text
    assert httpx.get(f"{url}/api/v1/reports/999999", headers=auth(cmd)).status_code == 404
    r = httpx.patch(f"{url}/api/v1/reports/{rid}", json={"remarks": "y" * 4001}, headers=auth(cmd))
    assert r.status_code == 422 and "remarks" in r.text
    # The commander's words are text in the document, never markup.
    words = '<script>alert(1)</script> "aman" & terkendali'
    r = httpx.patch(f"{url}/api/v1/reports/{rid}", json={"remarks": words}, headers=auth(cmd))
    assert r.status_code == 200
    page = httpx.get(f"{url}/api/v1/reports/{rid}.html", headers=auth(cmd)).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;aman&#34; &amp; terkendali" in page


def test_reports_are_cut_to_the_callers_area(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning, engine: Engine
) -> None:
    url = ops_server.url
    rid = _draft(ops_server, tokens["commander"])["id"]
    other = person_token(engine, Role.COMMANDER, area="16.10")
    own = person_token(engine, Role.VIEWER, area="16.08")
    assert httpx.get(f"{url}/api/v1/reports", headers=auth(other)).json()["count"] == 0
    for suffix in ("", ".html", ".csv"):
        assert (
            httpx.get(f"{url}/api/v1/reports/{rid}{suffix}", headers=auth(other)).status_code == 404
        )
    r = httpx.post(f"{url}/api/v1/reports/{rid}/sign", json=SIGNER, headers=auth(other))
    assert r.status_code == 404
    r = httpx.post(f"{url}/api/v1/reports", json={"area": "16.08"}, headers=auth(other))
    assert r.status_code == 403
    assert httpx.get(f"{url}/api/v1/reports", headers=auth(own)).json()["count"] == 1
    assert httpx.get(f"{url}/api/v1/reports").status_code == 401


def test_the_csv_holds_every_table_in_named_columns(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning
) -> None:
    rid = _draft(ops_server, tokens["commander"])["id"]
    r = httpx.get(f"{ops_server.url}/api/v1/reports/{rid}.csv", headers=auth(tokens["viewer"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    kab = {
        (x["tabel"], x["baris"], x["kolom"]): x["nilai"]
        for x in rows
        if x["kode_wilayah"] == "16.08"
    }
    assert kab[("tps", "jumlah", "tps")] == "12"
    assert kab[("tps", "jumlah", "terlambat")] == "2"
    assert kab[("insiden", "jumlah", "baru")] == "2"
    assert kab[("kotak", "jumlah", "dalam_perjalanan")] == "1"
    assert kab[("personel", "polsek-belitang", "melapor")] == "1"
    assert {x["kode_wilayah"] for x in rows} == {"16.08", "16.08.01", "16.08.03"}
    # The file left the command post: who took which version is in the audit trail.
    trail = httpx.get(
        f"{ops_server.url}/api/v1/audit",
        headers=auth(tokens["commander"]),
        params={"action": "report.downloaded", "subject": str(rid)},
    ).json()
    assert [(t["actor"].split(":")[0], t["data"]["format"]) for t in trail] == [("person", "csv")]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian chromium")
def test_the_pdf_is_a_real_pdf_with_the_bahasa_heading(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning, tmp_path: Path
) -> None:
    url = ops_server.url
    rid = _draft(ops_server, tokens["commander"])["id"]
    page = httpx.get(f"{url}/api/v1/reports/{rid}.html", headers=auth(tokens["viewer"])).text
    assert "KEPOLISIAN NEGARA REPUBLIK INDONESIA" in page and "RESOR OKU TIMUR" in page
    assert "LAPORAN SITUASI" in page and "KONSEP" in page  # unsigned: marked as a draft
    r = httpx.get(f"{url}/api/v1/reports/{rid}.pdf", headers=auth(tokens["viewer"]), timeout=90)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    trail = httpx.get(
        f"{url}/api/v1/audit",
        headers=auth(tokens["commander"]),
        params={"action": "report.downloaded", "subject": str(rid)},
    ).json()
    assert [t["data"]["format"] for t in trail] == ["pdf"]  # the HTML page is not a download
    data = r.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 1
    if shutil.which("pdftotext"):
        (tmp_path / "l.pdf").write_bytes(data)
        words = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "l.pdf"), "-"], capture_output=True, check=True
        ).stdout.decode()
        for line in (
            "KEPOLISIAN NEGARA REPUBLIK INDONESIA",
            "DAERAH SUMATERA SELATAN",
            "RESOR OKU TIMUR",
            "LAPORAN SITUASI",
            "Kecamatan Belitang",
        ):
            assert line in words


def test_audit_verify_catches_an_edit_of_a_stored_signed_report(
    ops_server: LiveServer,
    tokens: dict[str, str],
    morning: Morning,
    engine: Engine,
    settings: Settings,
) -> None:
    url, cmd = ops_server.url, tokens["commander"]
    rid = _draft(ops_server, cmd)["id"]
    assert (
        httpx.post(f"{url}/api/v1/reports/{rid}/sign", json=SIGNER, headers=auth(cmd)).status_code
        == 200
    )
    env = {"POSKO_SECRET_KEY": settings.secret_key}
    args = ["verify", "--database-url", settings.database_url]
    ok = runner.invoke(audit_cli, args, env=env)
    assert ok.exit_code == 0, ok.output
    # Someone with the database but not the key softens the signed remarks.
    with engine.begin() as c:
        c.execute(
            text("UPDATE situation_report SET remarks = 'tidak ada apa-apa' WHERE id = :i"),
            {"i": rid},
        )
    bad = runner.invoke(audit_cli, args, env=env)
    assert bad.exit_code == 1
    assert f"signed report {rid} differs from what was signed" in bad.output


def test_a_signature_on_a_report_changed_since_it_was_read_is_a_409(
    ops_server: LiveServer, tokens: dict[str, str], morning: Morning
) -> None:
    url, cmd = ops_server.url, tokens["commander"]
    read = _draft(ops_server, cmd)
    # Someone re-drafts it (the same period again) after the commander read it.
    again = _draft(ops_server, tokens["operator"])
    assert again["id"] == read["id"] and again["row_version"] == read["row_version"] + 1
    stale = {**SIGNER, "row_version": read["row_version"]}
    r = httpx.post(f"{url}/api/v1/reports/{read['id']}/sign", json=stale, headers=auth(cmd))
    assert r.status_code == 409 and r.json()["detail"]["field"] == "row_version"
    r = httpx.patch(
        f"{url}/api/v1/reports/{read['id']}",
        json={"remarks": "x", "row_version": read["row_version"]},
        headers=auth(cmd),
    )
    assert r.status_code == 409
    fresh = {**SIGNER, "row_version": again["row_version"]}
    r = httpx.post(f"{url}/api/v1/reports/{read['id']}/sign", json=fresh, headers=auth(cmd))
    assert r.status_code == 200 and r.json()["status"] == "signed"
