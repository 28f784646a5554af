"""Reference data shipped in the repository, and `posko registry boundaries import`."""

import fnmatch
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend.audit.models import AuditEntry
from backend.config import DEFAULT_REGION_DATA, REPO_DIR, Settings
from backend.db import make_engine
from backend.migrate import upgrade
from backend.regions.models import Boundary
from backend.registry.boundaries import (
    AUDIT_ACTION,
    BoundariesRejected,
    parse_boundaries,
    read_boundaries_file,
    store_boundaries,
)
from backend.registry.cli import app
from backend.runtime import Runtime
from backend.tps.liveness import grace_table
from dashboard.data import map_boundaries
from dashboard.figures import MapOptions, map_figure
from schemas.enums import RegionLevel
from tests.conftest import LiveServer, start_server
from tests.factories import NOW, person_token, seed_mini

runner = CliRunner()
SHIPPED = ("kabupaten", "kecamatan", "desa")
DATA_FILES = [f"oku_timur_{layer}.geojson" for layer in SHIPPED] + ["oku_timur_wilayah.csv"]


def square(lon: float, lat: float, size: float = 0.05) -> list[list[list[float]]]:
    """A closed square ring, GeoJSON order."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return [ring]


def feature(code: Any = "16.09.01", geometry: Any = None, **props: Any) -> dict[str, Any]:
    """A kecamatan-sized square feature; pass geometry=... or id=... to break it."""
    out: dict[str, Any] = {
        "type": "Feature",
        "properties": props,
        "geometry": geometry if geometry is not None else {"type": "Polygon"},
    }
    if geometry is None:
        out["geometry"]["coordinates"] = square(104.0, -4.5)
    if code is not None:
        out["id"] = code
    return out


def collection(*features: dict[str, Any]) -> bytes:
    """A FeatureCollection as file bytes."""
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


# Outlines of a kabupaten elsewhere (OKU Selatan, 16.09): two kecamatan, one desa.
ELSEWHERE = collection(
    feature("16.09", {"type": "Polygon", "coordinates": square(103.8, -4.9, 0.3)}, nama="OKUS"),
    feature("16.09.01", nama="Muaradua"),
    {
        "type": "Feature",
        "properties": {"kode": "1609020001", "nama": "Desa Satu"},
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [square(103.9, -4.7, 0.01), square(103.95, -4.7, 0.01)],
        },
    },
    feature("160902", nama="Simpang"),
)


# --- the shipped data -------------------------------------------------------------------------


def test_shipped_reference_data_lies_in_the_repository_with_its_licence() -> None:
    data_dir = DEFAULT_REGION_DATA.resolve()
    assert data_dir.is_relative_to(REPO_DIR / "backend"), data_dir
    for name in DATA_FILES:
        assert (data_dir / name).is_file(), f"{name} is missing from {data_dir}"
    counts = {
        layer: len(orjson.loads((data_dir / f"oku_timur_{layer}.geojson").read_bytes())["features"])
        for layer in SHIPPED
    }
    assert counts == {"kabupaten": 1, "kecamatan": 20, "desa": 312}
    rows = (data_dir / "oku_timur_wilayah.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 333
    licence = (data_dir / "LICENSE").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Copyright (c) 2024 Cahya DSN" in licence
    assert "Permission is hereby granted, free of charge" in licence
    readme = (data_dir / "README.md").read_text(encoding="utf-8")
    assert "cahyadsn/wilayah_boundaries" in readme
    assert "3c5a7960f4d227a38489094d84252bdbb3f978a5" in readme


def test_default_region_directory_is_the_shipped_one_inside_the_repository() -> None:
    default = Settings.model_fields["region_data_dir"].default
    assert Path(default).resolve() == DEFAULT_REGION_DATA.resolve()
    # POSKO_REGION_DATA_DIR may point elsewhere on purpose (another kabupaten); the default may
    # not: a fresh clone has nothing beside it.
    assert Path(default).resolve().is_relative_to(REPO_DIR)


def test_shipped_data_is_package_data_so_a_wheel_carries_it() -> None:
    config = tomllib.loads((REPO_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["backend"]
    shipped = sorted(p for p in DEFAULT_REGION_DATA.iterdir() if p.is_file())
    assert {p.name for p in shipped} >= {*DATA_FILES, "LICENSE", "README.md"}
    for path in shipped:
        relative = path.relative_to(REPO_DIR / "backend").as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), f"{relative} not in {globs}"


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (
            [feature(geometry={"type": "Point", "coordinates": [104.0, -4.5]})],
            "x.geojson: features[0] (16.09.01): geometry.type: 'Point' is not Polygon or "
            "MultiPolygon",
        ),
        (
            [feature(code=None)],
            "x.geojson: features[0]: id: no Kemendagri code: give it as the feature's id or "
            "properties.kode",
        ),
        ([feature(code="16.9.1")], "x.geojson: features[0]: id: '16.9.1' is not a Kemendagri code"),
        (
            [feature(code="16.09.01", kode="16.09.02")],
            "x.geojson: features[0] (16.09.01): properties.kode: 16.09.02 differs from the "
            "feature's id 16.09.01",
        ),
        ([feature(code="16")], "x.geojson: features[0]: id: 16 is a province"),
        (
            [feature(geometry={"type": "Polygon", "coordinates": [square(104, -4.5)[0][:-1]]})],
            "x.geojson: features[0] (16.09.01): geometry.coordinates[0]: the ring is not closed",
        ),
        (
            [
                feature(
                    geometry={
                        "type": "Polygon",
                        "coordinates": [[[lat, lon] for lon, lat in square(104.3, -4.2)[0]]],
                    }
                )
            ],
            "x.geojson: features[0] (16.09.01): geometry.coordinates[0][0]: latitude 104.3 is "
            "outside -90..90 (GeoJSON is [lon, lat]: swapped?)",
        ),
        (
            [feature(geometry={"type": "Polygon", "coordinates": [[[104, -4], [104, -4]]]})],
            "x.geojson: features[0] (16.09.01): geometry.coordinates[0]: a linear ring needs "
            "at least 4 positions",
        ),
        (
            [feature(geometry={"type": "MultiPolygon", "coordinates": []})],
            "x.geojson: features[0] (16.09.01): geometry.coordinates: a MultiPolygon is a "
            "non-empty list of polygons",
        ),
        (
            [{"type": "Feature", "id": "16.09.01", "properties": {}, "geometry": None}],
            "x.geojson: features[0] (16.09.01): geometry: missing",
        ),
        (
            [feature(), feature(code="160901")],
            "x.geojson: features[1] (16.09.01): id: 16.09.01 duplicates features[0]",
        ),
        (
            [feature(nama=7)],
            "x.geojson: features[0] (16.09.01): properties.nama: must be text",
        ),
        ([{"type": "Point"}], "x.geojson: features[0]: type: not a GeoJSON Feature object"),
    ],
)
def test_a_bad_feature_is_refused_naming_the_feature_and_the_field(
    features: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(BoundariesRejected) as refused:
        parse_boundaries(collection(*features), source="x.geojson")
    assert [str(p) for p in refused.value.problems if str(p).startswith(message)], str(
        refused.value
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "x.geojson: file: not JSON"),
        (
            json.dumps(feature()).encode(),
            "x.geojson: type: 'Feature' is not a GeoJSON FeatureCollection",
        ),
        (b'{"type": "FeatureCollection", "features": []}', "x.geojson: features: no features"),
    ],
)
def test_a_file_that_is_no_feature_collection_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(BoundariesRejected, match="^" + message):
        parse_boundaries(data, source="x.geojson")


def test_every_bad_feature_is_listed_not_only_the_first() -> None:
    data = collection(feature(code="x"), feature("16.09.02"), feature(code="16.09.03", geometry={}))
    with pytest.raises(BoundariesRejected) as refused:
        parse_boundaries(data, source="x.geojson")
    where = [(p.feature, p.field) for p in refused.value.problems]
    assert where == [(0, "id"), (2, "geometry.type")]


def test_levels_follow_from_the_code_and_codes_without_dots_are_dotted() -> None:
    parsed = parse_boundaries(ELSEWHERE, source="okus.geojson")
    assert [(f.code, f.level, f.name) for f in parsed] == [
        ("16.09", RegionLevel.KABUPATEN, "OKUS"),
        ("16.09.01", RegionLevel.KECAMATAN, "Muaradua"),
        ("16.09.02.0001", RegionLevel.DESA, "Desa Satu"),
        ("16.09.02", RegionLevel.KECAMATAN, "Simpang"),
    ]


# --- storing -----------------------------------------------------------------------------------


def _store(engine: Engine, path: Path, *, replace: bool = False) -> Any:
    features, digest = read_boundaries_file(path)
    with Session(engine) as session:
        return store_boundaries(
            session=session,
            features=features,
            replace=replace,
            at=NOW,
            actor="cli:test",
            source=path.name,
            digest=digest,
        )


def _stored(engine: Engine) -> dict[str, RegionLevel]:
    with Session(engine) as session:
        return {b.code: b.level for b in session.exec(select(Boundary)).all()}


def _audited(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)))


def test_import_upserts_by_code_and_is_audited(engine: Engine) -> None:
    for layer in SHIPPED:
        _store(engine, DEFAULT_REGION_DATA / f"oku_timur_{layer}.geojson")
    stored = _stored(engine)
    assert len(stored) == 1 + 20 + 312
    assert stored["16.08.01.1007"] is RegionLevel.DESA and stored["16.08"] is RegionLevel.KABUPATEN
    again = _store(engine, DEFAULT_REGION_DATA / "oku_timur_kecamatan.geojson")
    assert (again.created, again.updated, again.removed) == (0, 20, 0)
    assert again.not_in_registry[:1] == ["16.08.01"]  # an empty registry: all are "not yet"
    entries = _audited(engine)
    assert len(entries) == 4
    last = entries[-1]
    assert (last.actor, last.subject_kind, last.subject) == (
        "cli:test",
        "boundaries",
        "oku_timur_kecamatan.geojson",
    )
    data = orjson.loads(last.data)
    assert data["levels"] == {"kecamatan": 20} and data["updated"] == 20
    assert (
        data["sha256"]
        == read_boundaries_file(DEFAULT_REGION_DATA / "oku_timur_kecamatan.geojson")[1]
    )


def test_replace_removes_stored_outlines_absent_from_the_file(
    engine: Engine, tmp_path: Path
) -> None:
    _store(engine, DEFAULT_REGION_DATA / "oku_timur_kecamatan.geojson")
    path = tmp_path / "okus.geojson"
    path.write_bytes(ELSEWHERE)
    kept = _store(engine, path)
    assert (kept.created, kept.removed) == (4, 0) and len(_stored(engine)) == 24
    replaced = _store(engine, path, replace=True)
    assert (replaced.created, replaced.updated, replaced.removed) == (0, 4, 20)
    assert set(_stored(engine)) == {"16.09", "16.09.01", "16.09.02", "16.09.02.0001"}


# --- the command -------------------------------------------------------------------------------


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite database URL for the command (it migrates the database itself)."""
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_command_imports_a_kabupaten_and_says_what_it_stored(url: str, tmp_path: Path) -> None:
    path = tmp_path / "okus.geojson"
    path.write_bytes(ELSEWHERE)
    result = runner.invoke(app, ["boundaries", "import", str(path), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "boundaries: 1 kabupaten, 2 kecamatan, 1 desa (4 new, 0 updated)" in result.output
    assert "note: 4 code(s) are not in the stored registry (yet): 16.09, 16.09.01" in result.output
    engine = make_engine(Settings(database_url=url))
    try:
        assert len(_stored(engine)) == 4
        [entry] = _audited(engine)
        assert entry.actor.startswith("cli:")
    finally:
        engine.dispose()


def test_command_with_a_bad_file_lists_every_error_and_stores_nothing(
    url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_bytes(
        collection(feature(), feature(geometry={"type": "LineString", "coordinates": []}))
    )
    result = runner.invoke(app, ["boundaries", "import", str(path), "--database-url", url])
    assert result.exit_code == 1
    assert (
        "bad.geojson: features[1] (16.09.01): geometry.type: 'LineString' is not Polygon or "
        "MultiPolygon" in result.output
    )
    assert "bad.geojson: features[1] (16.09.01): id: 16.09.01 duplicates" not in result.output
    assert "1 error(s); nothing imported" in result.output
    engine = make_engine(Settings(database_url=url))
    try:
        upgrade(engine)
        assert _stored(engine) == {}
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(AuditEntry)).one() == 0
    finally:
        engine.dispose()


# --- what the servers serve --------------------------------------------------------------------


@pytest.fixture
def nodes(database_url: str) -> Iterator[tuple[Engine, list[LiveServer], str]]:
    """Two server nodes on one database with the mini registry, and a viewer's token."""
    settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    engine = make_engine(settings)
    upgrade(engine)
    seed_mini(engine)
    token = person_token(engine)
    servers = [start_server(settings), start_server(settings)]
    try:
        yield engine, servers, token
    finally:
        for srv in servers:
            srv.stop()
        engine.dispose()


def _geo(srv: LiveServer, token: str, layer: str) -> list[str]:
    answer = httpx.get(
        f"{srv.url}/api/v1/geo/{layer}", headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/geo+json"
    return [f["id"] for f in answer.json()["features"]]


def test_every_node_serves_imported_outlines_instead_of_the_files_without_a_restart(
    nodes: tuple[Engine, list[LiveServer], str], tmp_path: Path
) -> None:
    engine, servers, token = nodes
    for srv in servers:  # nothing imported: the shipped OKU Timur files
        assert len(_geo(srv, token, "kecamatan")) == 20
        assert len(_geo(srv, token, "desa")) == 312
    path = tmp_path / "okus.geojson"
    path.write_bytes(ELSEWHERE)
    _store(engine, path)
    for srv in servers:
        assert _geo(srv, token, "kabupaten") == ["16.09"]
        assert _geo(srv, token, "kecamatan") == ["16.09.01", "16.09.02"]
        # Never OKU Timur's shipped desa under another kabupaten's map.
        assert _geo(srv, token, "desa") == ["16.09.02.0001"]


def test_the_map_draws_imported_outlines_and_fits_them(
    nodes: tuple[Engine, list[LiveServer], str], tmp_path: Path
) -> None:
    engine, servers, _ = nodes
    rt: Runtime = servers[0].server.config.app.state.runtime  # the running server's own parts
    shipped = map_boundaries(rt)
    assert shipped is not None and shipped.version is None
    west, south, east, north = shipped.extent
    assert 104.0 < west < east < 105.2 and -4.8 < south < north < -3.4  # OKU Timur
    path = tmp_path / "okus.geojson"
    path.write_bytes(ELSEWHERE)
    stamp = _store(engine, path).stamp
    imported = map_boundaries(rt)
    assert imported is not None and imported.version == stamp
    assert imported.extent == pytest.approx((103.8, -4.9, 104.1, -4.45))
    opts = MapOptions(boundaries_version=imported.version, extent=imported.extent)
    fig = map_figure([], [], now=NOW, grace=grace_table(rt.settings), opts=opts)
    sources = [layer["source"] for layer in fig["layout"]["map"]["layers"]]
    # A new import is a new URL: no browser keeps drawing the old outlines from its cache.
    assert sources == [f"/api/v1/geo/desa?v={stamp}", f"/api/v1/geo/kecamatan?v={stamp}"]
