"""`GET /api/v1/exports/{dataset}.{format}`: every dataset in every format holds what was stored,
cut to the reader's area, refused with a 4xx that names the field, and audited."""

from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlmodel import Session

from backend.audit.service import list_entries, verify
from backend.exports.datasets import DATASETS, Format
from schemas.enums import Role
from tests.conftest import LiveServer
from tests.exports.conftest import FORMULA, NOTE, Day, token
from tests.exports.files import parse_csv, parse_geojson, parse_xlsx, same, stored

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX, "geojson": "application/geo+json"}


def get(srv: LiveServer, tok: str, path: str, **params: Any) -> httpx.Response:
    """One export, read whole."""
    return httpx.get(
        f"{srv.url}/api/v1/exports/{path}",
        params=params,
        headers={"Authorization": f"Bearer {tok}"},
        timeout=60,
    )


def _check(
    day: Day,
    srv: LiveServer,
    tok: str,
    name: str,
    fmt: Format,
    area: str | None,
    tmp: Path,
    **params: Any,
) -> tuple[httpx.Response, Any]:
    """The file holds exactly the stored rows of the area (children too); returns its rows."""
    spec = DATASETS[name]
    # Read before: the export's own audit entry comes after its snapshot.
    want = stored(day.engine, name, area)
    kids = {child: stored(day.engine, child, area) for child in spec.children}
    r = (
        get(srv, tok, f"{name}.{fmt.value}", area=area, **params)
        if area
        else get(srv, tok, f"{name}.{fmt.value}", **params)
    )
    assert r.status_code == 200, (name, fmt, r.text[:300])
    assert r.headers["content-type"] == MEDIA[fmt.value]
    assert r.headers["content-disposition"].startswith(f'attachment; filename="posko-{name}-')
    assert r.headers["cache-control"] == "no-store"
    if fmt is Format.CSV:
        rows, _ = parse_csv(name, r.content)
        same(rows, want)
    elif fmt is Format.XLSX:
        path = tmp / f"{name}.xlsx"
        path.write_bytes(r.content)
        sheets = parse_xlsx(path)
        assert list(sheets) == [name, *spec.children]
        rows = sheets[name]
        same(rows, want)
        for child in spec.children:
            same(sheets[child], kids[child])
    else:
        rows = parse_geojson(name, r.content)
        same(rows, want)
        for child in spec.children:
            nested = [c for row in rows for c in row[child]]
            key = DATASETS[child].parent_key
            assert key is not None
            same(nested, [{k: v for k, v in c.items() if k != key} for c in kids[child]])
            for row in rows:  # each under its own parent
                mine = [c for c in kids[child] if c[key] == row["incident_id"]]
                assert len(row[child]) == len(mine)
    assert int(r.headers["x-export-rows"]) == len(want)
    return r, rows


def test_exp001_every_dataset_in_every_format_holds_what_was_stored(
    day: Day, served: LiveServer, tmp_path: Path
) -> None:
    tok = token(day)
    seen = 0
    for name, spec in DATASETS.items():
        for fmt in Format:
            if fmt is Format.GEOJSON and not spec.is_located:
                continue
            _, rows = _check(day, served, tok, name, fmt, None, tmp_path)
            assert rows, f"{name}.{fmt.value} is empty: the test would prove nothing"
            seen += 1
    assert seen == len(DATASETS) * 2 + sum(d.is_located for d in DATASETS.values())


def test_exp002_field_text_arrives_intact_and_never_as_a_formula(
    day: Day, served: LiveServer, tmp_path: Path
) -> None:
    tok = token(day)
    r = get(served, tok, "incidents.csv")
    rows, guarded = parse_csv("incidents", r.content)
    assert guarded == ["'" + FORMULA]  # CSV: a leading apostrophe, so Excel shows the text
    assert FORMULA in {row["description"] for row in rows}
    steps, _ = parse_csv("incident_steps", get(served, tok, "incident_steps.csv").content)
    assert NOTE in {s["note"] for s in steps}  # UTF-8 (with BOM) keeps every character
    path = tmp_path / "i.xlsx"
    path.write_bytes(get(served, tok, "incidents.xlsx").content)
    sheets = parse_xlsx(path)
    assert FORMULA in {row["description"] for row in sheets["incidents"]}  # a string cell
    assert NOTE in {s["note"] for s in sheets["incident_steps"]}
    geo = orjson.loads(get(served, tok, "incidents.geojson").content)
    assert FORMULA in {f["properties"]["description"] for f in geo["features"]}


def test_exp003_a_kabupaten_reader_gets_only_his_kabupaten_and_may_narrow_never_widen(
    day: Day, served: LiveServer, tmp_path: Path
) -> None:
    okut = token(day, area="16.08")
    for name, spec in DATASETS.items():
        for fmt in (Format.CSV, Format.GEOJSON if spec.is_located else Format.XLSX):
            r, rows = _check(day, served, okut, name, fmt, "16.08", tmp_path)
            text = r.content.decode("utf-8", "replace") if fmt is not Format.XLSX else ""
            assert "16.07" not in text, f"{name}.{fmt.value} leaks Banyuasin"
            for row in rows:
                assert row.get("kabupaten_code") in ("16.08", None)
                assert (row.get("tps_code") or "16.08").startswith("16.08")
                assert row.get("officer_nrp") != "90010001"
    # A province reader narrows to one kabupaten; a kabupaten reader cannot widen.
    sumsel = token(day, area="16")
    _, rows = _check(day, served, sumsel, "tps", Format.CSV, "16.07", tmp_path)
    assert {row["tps_code"] for row in rows} == set(day.bny.tps_codes)
    for wider in ("16", "16.07"):
        r = get(served, okut, "tps.csv", area=wider)
        assert r.status_code == 403 and r.json()["detail"]["field"] == "area"
    r = get(served, okut, "tps.csv", area="16%")
    assert r.status_code == 422 and r.json()["detail"]["field"] == "area"


def test_exp004_the_audit_trail_is_cut_as_the_audit_api_cuts_it(
    day: Day, served: LiveServer
) -> None:
    for area in ("16.08", "16.07", "16"):
        tok = token(day, area=area)
        api = httpx.get(
            f"{served.url}/api/v1/audit",
            params={"limit": 5000},
            headers={"Authorization": f"Bearer {tok}"},
        ).json()
        rows, _ = parse_csv("audit", get(served, tok, "audit.csv").content)
        # The API lists newest first and the export in chain order; the export reads before its
        # own entry is written, the API's read came before this export.
        assert [row["seq"] for row in rows] == sorted(e["seq"] for e in api)
        assert all(row["area_code"] and row["area_code"].startswith(area) for row in rows)


def test_exp005_refusals_name_the_field(day: Day, served: LiveServer) -> None:
    tok = token(day)
    cases = [
        ("alerts.geojson", {}, 422, "format"),  # no position: GeoJSON refused, naming it
        ("audit.geojson", {}, 422, "format"),
        ("timeline.geojson", {}, 422, "format"),
        ("pings.csv", {}, 404, "dataset"),
        ("tps.pdf", {}, 404, "format"),
        ("timeline.csv", {"from": "2024-11-27T08:00:00"}, 422, "from"),  # no offset
        (
            "timeline.csv",
            {"from": "2024-11-27T09:00+07:00", "to": "2024-11-27T08:00+07:00"},
            422,
            "to",
        ),
        ("timeline.csv", {"from": "kemarin"}, 422, "from"),
    ]
    for path, params, code, field in cases:
        r = get(served, tok, path, **params)
        assert r.status_code == code, (path, r.text)
        detail = r.json()["detail"]
        if isinstance(detail, list):  # FastAPI's own validation: the parameter in `loc`
            assert detail[0]["loc"][-1] == field, detail
        else:
            assert detail["field"] == field, detail
    assert "geojson" in get(served, tok, "alerts.geojson").json()["detail"]["reason"]
    viewer = token(day, Role.VIEWER)
    assert get(served, viewer, "tps.csv").status_code == 200
    r = get(served, viewer, "audit.csv")  # the audit trail is a commander's, as in its API
    assert r.status_code == 403 and r.json()["detail"]["field"] == "authorization"
    r = httpx.get(f"{served.url}/api/v1/exports/tps.csv")
    assert r.status_code == 401


def test_exp006_every_export_is_audited_with_who_what_area_and_rows(
    day: Day, served: LiveServer
) -> None:
    tok = token(day, area="16.08")
    window = {"from": "2024-11-27T08:00+07:00", "to": "2024-11-27T08:06+07:00"}
    r = get(served, tok, "timeline.csv", **window)
    rows, _ = parse_csv("timeline", r.content)
    assert rows and all(row["at"].isoformat() < "2024-11-27T01:06" for row in rows)
    get(served, tok, "incidents.xlsx")
    with Session(day.engine) as s:
        entries = list_entries(session=s, action_prefix="export.")
        assert verify(session=s).ok
    assert [e.subject for e in entries] == ["incidents.xlsx", "timeline.csv"]  # newest first
    xlsx, csv_ = entries
    assert csv_.actor.startswith("person:test commander#")
    assert csv_.area_code == "16.08"
    assert csv_.data["rows"] == len(rows)
    assert csv_.data["from"] == "2024-11-27T01:00:00+00:00"
    assert csv_.data["to"] == "2024-11-27T01:06:00+00:00"
    assert csv_.data["via"] == "api"
    assert xlsx.data["rows"] == 1 and xlsx.data["child_rows"] == {
        "incident_reports": 1,
        "incident_steps": 2,
    }
