"""Read exported files back (CSV, XLSX with openpyxl, GeoJSON), and what the database holds."""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import orjson
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.alerts.models import Alert
from backend.areas import contains
from backend.audit.models import AuditEntry
from backend.exports.datasets import DATASETS, Kind
from backend.incidents.models import Incident, IncidentReport, IncidentStepRow
from backend.officers.models import Officer
from backend.positions.models import OfficerPosition
from backend.tps.models import Tps, TpsState, TpsTransition

Rows = list[dict[str, Any]]
FORMULA_START = ("=", "+", "-", "@")


def _utc(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def _wib_matches(wib: Any, at: datetime | None) -> None:
    """The `_wib` cell is the same moment as `_utc`, on the WIB wall clock."""
    if at is None:
        assert wib in (None, ""), wib
        return
    local = (at + timedelta(hours=7)).replace(tzinfo=None)
    if isinstance(wib, datetime):  # XLSX: an Excel date (stored to the millisecond)
        assert abs(wib - local) < timedelta(milliseconds=2), (wib, local)
    else:
        assert wib == local.isoformat(" ", "seconds"), (wib, local)


def parse_csv(name: str, body: bytes) -> tuple[Rows, list[str]]:
    """Rows of a CSV export (times from `_utc`, checked against `_wib`); also the guarded cells."""
    assert body.startswith(b"\xef\xbb\xbf"), "no BOM"
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    head = next(reader)
    spec = DATASETS[name]
    guarded: list[str] = []
    rows: Rows = []
    for cells in reader:
        raw = dict(zip(head, cells, strict=True))
        row: dict[str, Any] = {}
        for c in spec.columns:
            if c.kind is Kind.TIME:
                at = _utc(raw[f"{c.name}_utc"]) if raw[f"{c.name}_utc"] else None
                _wib_matches(raw[f"{c.name}_wib"], at)
                row[c.name] = at
                continue
            v = raw[c.name]
            if v == "":
                row[c.name] = None
            elif c.kind is Kind.INT:
                row[c.name] = int(v)
            elif c.kind is Kind.FLOAT:
                row[c.name] = float(v)
            elif c.kind is Kind.BOOL:
                assert v in ("true", "false")
                row[c.name] = v == "true"
            elif v.startswith("'") and v[1:].startswith(FORMULA_START):
                guarded.append(v)
                row[c.name] = v[1:]
            else:
                row[c.name] = v
        rows.append(row)
    return rows, guarded


def parse_xlsx(path: Path) -> dict[str, Rows]:
    """Each sheet's rows, by sheet name (continuation sheets `name (2)` joined to `name`)."""
    book = openpyxl.load_workbook(path, read_only=True)
    out: dict[str, Rows] = {}
    try:
        for sheet in book.worksheets:
            name = sheet.title.split(" (", 1)[0]
            spec = DATASETS[name]
            it = sheet.iter_rows(values_only=True)
            head = list(next(it))
            rows = out.setdefault(name, [])
            for cells in it:
                raw = dict(zip(head, cells, strict=True))
                row: dict[str, Any] = {}
                for c in spec.columns:
                    if c.kind is Kind.TIME:
                        at = _utc(raw[f"{c.name}_utc"]) if raw[f"{c.name}_utc"] else None
                        _wib_matches(raw[f"{c.name}_wib"], at)
                        row[c.name] = at
                    elif c.kind is Kind.FLOAT and raw[c.name] is not None:
                        row[c.name] = float(raw[c.name])
                    else:
                        row[c.name] = raw[c.name]
                rows.append(row)
    finally:
        book.close()
    return out


def _geo_value(kind: Kind, v: Any) -> Any:
    if v is None:
        return None
    if kind is Kind.TIME:
        assert v.endswith("+07:00"), v
        return datetime.fromisoformat(v).astimezone(UTC)
    if kind is Kind.JSON:
        assert isinstance(v, dict)
        return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
    return v


def parse_geojson(name: str, body: bytes) -> Rows:
    """Features as rows (lat, lon from the point); nested children parsed alike."""
    doc = orjson.loads(body)
    assert doc["type"] == "FeatureCollection"
    spec = DATASETS[name]
    rows: Rows = []
    for f in doc["features"]:
        assert f["type"] == "Feature"
        props = f["properties"]
        row = {
            c.name: _geo_value(c.kind, props[c.name])
            for c in spec.columns
            if c.name not in ("lat", "lon")
        }
        geometry = f["geometry"]
        if geometry is None:
            row["lat"] = row["lon"] = None
        else:
            assert geometry["type"] == "Point"
            row["lon"], row["lat"] = geometry["coordinates"]
        for child_name in spec.children:
            child = DATASETS[child_name]
            row[child_name] = [
                {c.name: _geo_value(c.kind, r[c.name]) for c in child.columns if c.name in r}
                for r in props[child_name]
            ]
        rows.append(row)
    return rows


def _json_text(text: str) -> str:
    return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()


def stored(engine: Engine, name: str, area: str | None) -> Rows:
    """What the database holds for a dataset in an area, read with the ORM, in export order.

    Only the columns that say the row is the right one with the right content: each
    dataset's key, its place, its times and its text.
    """
    with Session(engine) as s:
        nrp = {o.id: o.nrp for o in s.exec(select(Officer))}
        tps = {t.id: t for t in s.exec(select(Tps))}
        if name == "tps":
            states = {st.tps_id: st for st in s.exec(select(TpsState))}
            return [
                {
                    "tps_code": t.code,
                    "kabupaten_code": t.kabupaten_code,
                    "lat": t.lat,
                    "lon": t.lon,
                    "voters": t.voters,
                    "phase": states[t.id].phase,
                    "phase_at": states[t.id].phase_at,
                    "situation": states[t.id].situation,
                    "last_officer_nrp": nrp.get(states[t.id].last_officer_id),
                }
                for t in sorted(tps.values(), key=lambda t: t.code)
                if contains(area, t.kabupaten_code)
            ]
        if name == "timeline":
            return [
                {
                    "transition_id": tr.id,
                    "tps_code": tps[tr.tps_id].code,
                    "kind": tr.kind,
                    "after": tr.after,
                    "at": tr.at,
                    "received_at": tr.received_at,
                    "officer_nrp": nrp.get(tr.officer_id),
                }
                for tr in s.exec(select(TpsTransition).order_by(col(TpsTransition.id)))
                if contains(area, tps[tr.tps_id].kabupaten_code)
            ]
        incidents = {
            i.id: i
            for i in s.exec(select(Incident).order_by(col(Incident.id)))
            if contains(area, i.kabupaten_code)
        }
        if name == "incidents":
            return [
                {
                    "incident_id": i.id,
                    "status": i.status,
                    "category": i.category,
                    "description": i.description,
                    "opened_at": i.opened_at,
                    "tps_code": tps[i.tps_id].code if i.tps_id else None,
                }
                for i in incidents.values()
            ]
        if name == "incident_reports":
            return [
                {
                    "report_id": r.id,
                    "incident_id": r.incident_id,
                    "event_id": str(r.event_id),
                    "officer_nrp": nrp[r.officer_id],
                    "description": r.description,
                    "device_time": r.device_time,
                }
                for r in s.exec(
                    select(IncidentReport).order_by(
                        col(IncidentReport.incident_id), col(IncidentReport.id)
                    )
                )
                if r.incident_id in incidents
            ]
        if name == "incident_steps":
            return [
                {
                    "step_id": st.id,
                    "incident_id": st.incident_id,
                    "at": st.at,
                    "kind": st.kind,
                    "actor": st.actor,
                    "note": st.note,
                    "data": _json_text(st.data),
                }
                for st in s.exec(
                    select(IncidentStepRow).order_by(
                        col(IncidentStepRow.incident_id), col(IncidentStepRow.id)
                    )
                )
                if st.incident_id in incidents
            ]
        if name == "alerts":
            return [
                {
                    "alert_id": a.id,
                    "kind": a.kind,
                    "subject": a.subject,
                    "kabupaten_code": a.kabupaten_code,
                    "raised_at": a.raised_at,
                    "detail": _json_text(a.detail),
                }
                for a in s.exec(select(Alert).order_by(col(Alert.id)))
                if a.kabupaten_code is None or contains(area, a.kabupaten_code)
            ]
        if name == "positions":
            officers = {o.id: o for o in s.exec(select(Officer))}
            return [
                {
                    "officer_nrp": officers[p.officer_id].nrp,
                    "device_time": p.device_time,
                    "lat": p.lat,
                    "lon": p.lon,
                    "battery": p.battery,
                    "source": p.source,
                }
                for p in s.exec(
                    select(OfficerPosition).order_by(
                        col(OfficerPosition.officer_id), col(OfficerPosition.device_time)
                    )
                )
                if contains(area, officers[p.officer_id].kabupaten_code)
            ]
        if name == "audit":
            return [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "actor": e.actor,
                    "action": e.action,
                    "area_code": e.area_code,
                    "data": _json_text(e.data),
                    "hash": e.hash,
                }
                for e in s.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
                if area is None or (e.area_code is not None and contains(area, e.area_code))
            ]
    raise AssertionError(name)


def same(got: Rows, want: Rows) -> None:
    """The exported rows are the stored ones, in order, on the columns `want` names."""
    assert len(got) == len(want), (len(got), len(want))
    for g, w in zip(got, want, strict=True):
        picked = {k: _norm(g[k]) for k in w}
        expected = {k: _norm(v) for k, v in w.items()}
        assert picked == expected, {
            k: (picked[k], expected[k]) for k in w if picked[k] != expected[k]
        }


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9)  # XLSX keeps 16 significant digits (%.16G), not Python's 17
    if isinstance(v, str) and v.startswith("{"):
        try:
            return _json_text(v)
        except orjson.JSONDecodeError:
            return v
    return v.value if hasattr(v, "value") else v
