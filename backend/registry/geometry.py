"""Small planar geometry on GeoJSON rings: point-in-polygon, area, bounding boxes, interior points.

Coordinates are GeoJSON order `(lon, lat)` in degrees. Over one kabupaten (about 1 degree across,
4 degrees from the equator) treating degrees as planar is accurate enough for "is this point inside
this desa"; distances use an equirectangular approximation in kilometres.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Point = tuple[float, float]  # (lon, lat)
Ring = Sequence[Point]
Polygon = Sequence[Ring]  # outer ring first, then holes
MultiPolygon = Sequence[Polygon]

KM_PER_DEGREE = 111.32


@dataclass(frozen=True, slots=True)
class BBox:
    """An axis-aligned box in degrees."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the point lies in the box (edges included)."""
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat

    def expand(self, margin: float) -> "BBox":
        """The box grown by `margin` degrees on every side."""
        return BBox(
            self.min_lon - margin,
            self.min_lat - margin,
            self.max_lon + margin,
            self.max_lat + margin,
        )

    def union(self, other: "BBox") -> "BBox":
        """The smallest box holding both boxes."""
        return BBox(
            min(self.min_lon, other.min_lon),
            min(self.min_lat, other.min_lat),
            max(self.max_lon, other.max_lon),
            max(self.max_lat, other.max_lat),
        )


def bbox_of_points(points: Iterable[Point]) -> BBox:
    """The bounding box of some points (at least one)."""
    lons: list[float] = []
    lats: list[float] = []
    for lon, lat in points:
        lons.append(lon)
        lats.append(lat)
    if not lons:
        raise ValueError("no points")
    return BBox(min(lons), min(lats), max(lons), max(lats))


def bbox_of(shape: MultiPolygon) -> BBox:
    """The bounding box of a multipolygon (outer rings suffice)."""
    return bbox_of_points(p for polygon in shape for p in polygon[0])


def point_in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Whether the point lies inside a closed or open ring (even-odd ray casting)."""
    inside = False
    n = len(ring)
    if n < 3:
        return False
    x_prev, y_prev = ring[-1]
    for x, y in ring:
        # Half-open test on y makes a ray through a vertex count that vertex exactly once.
        if (y > lat) != (y_prev > lat):
            x_cross = x + (lat - y) * (x_prev - x) / (y_prev - y)
            if lon < x_cross:
                inside = not inside
        x_prev, y_prev = x, y
    return inside


def point_in_polygon(lon: float, lat: float, polygon: Polygon) -> bool:
    """Whether the point lies inside the outer ring and outside every hole."""
    if not polygon or not point_in_ring(lon, lat, polygon[0]):
        return False
    return not any(point_in_ring(lon, lat, hole) for hole in polygon[1:])


def point_in_multipolygon(lon: float, lat: float, shape: MultiPolygon) -> bool:
    """Whether the point lies inside any part of the multipolygon."""
    return any(point_in_polygon(lon, lat, polygon) for polygon in shape)


def ring_area(ring: Ring) -> float:
    """Unsigned area of a ring in square degrees (shoelace)."""
    total = 0.0
    x_prev, y_prev = ring[-1]
    for x, y in ring:
        total += x_prev * y - x * y_prev
        x_prev, y_prev = x, y
    return abs(total) / 2.0


def area(shape: MultiPolygon) -> float:
    """Area in square degrees: outer rings minus holes."""
    return sum(
        ring_area(polygon[0]) - sum(ring_area(hole) for hole in polygon[1:]) for polygon in shape
    )


def interior_point(shape: MultiPolygon) -> Point:
    """A point guaranteed inside the shape: midpoint of the widest inside span of a scanline.

    The scanline runs through the middle of the largest part's box; if it hits nothing (a thin
    or odd shape), lines at other heights are tried.
    """
    largest = max(shape, key=lambda polygon: ring_area(polygon[0]))
    box = bbox_of([largest])
    for fraction in (0.5, 0.37, 0.63, 0.25, 0.75, 0.13, 0.87, 0.43, 0.57):
        lat = box.min_lat + (box.max_lat - box.min_lat) * fraction
        crossings: list[float] = []
        for ring in largest:
            x_prev, y_prev = ring[-1]
            for x, y in ring:
                if (y > lat) != (y_prev > lat):
                    crossings.append(x + (lat - y) * (x_prev - x) / (y_prev - y))
                x_prev, y_prev = x, y
        crossings.sort()
        spans = [(crossings[i], crossings[i + 1]) for i in range(0, len(crossings) - 1, 2)]
        for left, right in sorted(spans, key=lambda s: s[0] - s[1]):
            lon = (left + right) / 2.0
            if point_in_multipolygon(lon, lat, shape):
                return (lon, lat)
    raise ValueError("cannot find an interior point (degenerate polygon)")


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Approximate ground distance in kilometres (equirectangular; fine below ~100 km)."""
    mean_lat = math.radians((a_lat + b_lat) / 2.0)
    dx = (b_lon - a_lon) * math.cos(mean_lat)
    dy = b_lat - a_lat
    return math.hypot(dx, dy) * KM_PER_DEGREE


def shape_from_geojson(geometry: dict[str, Any]) -> list[list[list[Point]]]:
    """Turn a GeoJSON Polygon or MultiPolygon into a multipolygon of `(lon, lat)` tuples."""
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        polygons = list(coordinates or [])
    else:
        raise ValueError(f"unsupported geometry type {kind!r}")
    return [
        [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon]
        for polygon in polygons
        if polygon
    ]


def centroid(shape: MultiPolygon) -> Point:
    """Area-weighted centroid of the outer rings minus holes (may lie outside a concave shape)."""
    sum_a = sum_x = sum_y = 0.0
    for polygon in shape:
        for index, ring in enumerate(polygon):
            a = cx = cy = 0.0
            x_prev, y_prev = ring[-1]
            for x, y in ring:
                cross = x_prev * y - x * y_prev
                a += cross
                cx += (x_prev + x) * cross
                cy += (y_prev + y) * cross
                x_prev, y_prev = x, y
            # Orientation differs between files; force outer rings positive, holes negative.
            sign = (1.0 if a >= 0 else -1.0) * (1.0 if index == 0 else -1.0)
            sum_a += sign * a
            sum_x += sign * cx
            sum_y += sign * cy
    if sum_a == 0:
        return interior_point(shape)
    return (sum_x / (3.0 * sum_a), sum_y / (3.0 * sum_a))
