"""Read the region reference files (centroids, outlines) from the configured data directory.

The files are read by path from Settings.region_data_dir (by default OKU Timur's, shipped in
backend/registry/data/oku_timur with its MIT licence) or from a path given on the command line.
Every file is optional: a missing file only means the registry falls back to coarser or synthetic
positions.

- `oku_timur_wilayah.csv`: `kode,nama,level,jenis,kode_induk,lat,lng,kodepos`, one row per region.
- `oku_timur_{kabupaten,kecamatan,desa}.geojson`: features with `id`/`properties.kode` = Kemendagri
  code, `properties.lat`/`lng` = centroid, geometry Polygon or MultiPolygon in `[lng, lat]`.
"""

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.registry.geometry import (
    BBox,
    MultiPolygon,
    bbox_of,
    bbox_of_points,
    shape_from_geojson,
)

WILAYAH_CSV = "oku_timur_wilayah.csv"
KABUPATEN_GEOJSON = "oku_timur_kabupaten.geojson"
KECAMATAN_GEOJSON = "oku_timur_kecamatan.geojson"
DESA_GEOJSON = "oku_timur_desa.geojson"

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Reference:
    """Centroids by Kemendagri code and the kabupaten's outline box, as far as files exist."""

    centres: dict[str, LatLon] = field(default_factory=dict)
    bbox: BBox | None = None
    sources: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether no reference file was found at all."""
        return not self.sources


class ReferenceDataError(ValueError):
    """A reference file exists but cannot be read."""


def _read_geojson(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"{path}: {exc}") from exc
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise ReferenceDataError(f"{path}: not a GeoJSON FeatureCollection")
    return features


def _feature_code(feature: dict[str, Any]) -> str | None:
    props = feature.get("properties") or {}
    code = props.get("kode") or feature.get("id")
    return str(code) if code else None


def _read_centroid_csv(path: Path) -> dict[str, LatLon]:
    centres: dict[str, LatLon] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                code, lat, lng = row.get("kode"), row.get("lat"), row.get("lng")
                if code and lat and lng:
                    centres[code] = (float(lat), float(lng))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"{path}: {exc}") from exc
    return centres


def load_reference(data_dir: Path | None) -> Reference:
    """Read centroids (CSV first, GeoJSON properties for what it lacks) and the outline box."""
    if data_dir is None or not data_dir.is_dir():
        return Reference()
    centres: dict[str, LatLon] = {}
    sources: list[str] = []
    bbox: BBox | None = None
    csv_path = data_dir / WILAYAH_CSV
    if csv_path.is_file():
        centres.update(_read_centroid_csv(csv_path))
        sources.append(WILAYAH_CSV)
    for name in (KABUPATEN_GEOJSON, KECAMATAN_GEOJSON, DESA_GEOJSON):
        path = data_dir / name
        if not path.is_file():
            continue
        # The desa layer is half a megabyte; read it only when the CSV left gaps or no box yet.
        if name == DESA_GEOJSON and bbox is not None and centres and csv_path.is_file():
            continue
        sources.append(name)
        for feature in _read_geojson(path):
            code = _feature_code(feature)
            props = feature.get("properties") or {}
            if code and code not in centres and props.get("lat") is not None:
                centres[code] = (float(props["lat"]), float(props["lng"]))
            if feature.get("geometry"):
                box = bbox_of(shape_from_geojson(feature["geometry"]))
                bbox = box if bbox is None else bbox.union(box)
    if bbox is None and centres:
        bbox = bbox_of_points((lon, lat) for lat, lon in centres.values())
    return Reference(centres=centres, bbox=bbox, sources=tuple(sources))


def load_boundaries(path: Path) -> dict[str, MultiPolygon]:
    """Read desa (or any) polygons from a GeoJSON file, keyed by Kemendagri code."""
    shapes: dict[str, MultiPolygon] = {}
    for feature in _read_geojson(path):
        code = _feature_code(feature)
        if code is None or not feature.get("geometry"):
            continue
        try:
            shapes[code] = shape_from_geojson(feature["geometry"])
        except ValueError as exc:
            raise ReferenceDataError(f"{path}: feature {code}: {exc}") from exc
    return shapes
