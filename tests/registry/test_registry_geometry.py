"""Point-in-polygon and friends, on shapes small enough to check by eye."""

import pytest

from backend.registry.geometry import (
    area,
    centroid,
    distance_km,
    interior_point,
    point_in_multipolygon,
    point_in_polygon,
    point_in_ring,
    shape_from_geojson,
)

SQUARE = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)]
HOLE = [(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0), (1.0, 1.0)]
# A "U": concave, its area centroid lies in the gap between the arms.
U_SHAPE = [(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3), (0, 0)]


def test_point_inside_square_is_inside() -> None:
    assert point_in_ring(2.0, 2.0, SQUARE)


def test_points_outside_square_are_outside() -> None:
    for lon, lat in [(5.0, 2.0), (-0.1, 2.0), (2.0, 4.1), (2.0, -3.0)]:
        assert not point_in_ring(lon, lat, SQUARE)


def test_ray_through_a_vertex_counts_once() -> None:
    diamond = [(0.0, 1.0), (1.0, 0.0), (2.0, 1.0), (1.0, 2.0)]  # open ring: closing is implied
    assert point_in_ring(1.0, 1.0, diamond)
    assert not point_in_ring(-1.0, 1.0, diamond)  # the ray passes exactly through two vertices
    assert not point_in_ring(3.0, 1.0, diamond)


def test_point_in_hole_is_outside_polygon() -> None:
    polygon = [SQUARE, HOLE]
    assert not point_in_polygon(2.0, 2.0, polygon)
    assert point_in_polygon(0.5, 0.5, polygon)
    assert point_in_polygon(3.5, 2.0, polygon)


def test_multipolygon_contains_points_of_every_part() -> None:
    far = [(10.0, 10.0), (11.0, 10.0), (11.0, 11.0), (10.0, 11.0)]
    shape = [[SQUARE, HOLE], [far]]
    assert point_in_multipolygon(10.5, 10.5, shape)
    assert point_in_multipolygon(0.5, 0.5, shape)
    assert not point_in_multipolygon(2.0, 2.0, shape)
    assert not point_in_multipolygon(7.0, 7.0, shape)


def test_area_subtracts_holes_whatever_the_ring_orientation() -> None:
    assert area([[SQUARE, HOLE]]) == pytest.approx(12.0)
    assert area([[SQUARE[::-1], HOLE]]) == pytest.approx(12.0)


def test_centroid_of_square_with_centred_hole_is_its_middle() -> None:
    lon, lat = centroid([[SQUARE, HOLE]])
    assert (lon, lat) == (pytest.approx(2.0), pytest.approx(2.0))


def test_interior_point_of_concave_shape_lies_inside() -> None:
    shape = [[U_SHAPE]]
    lon, lat = centroid(shape)
    assert not point_in_multipolygon(lon, lat, shape)  # why interior_point exists
    lon, lat = interior_point(shape)
    assert point_in_multipolygon(lon, lat, shape)


def test_interior_point_avoids_the_hole() -> None:
    lon, lat = interior_point([[SQUARE, HOLE]])
    assert point_in_polygon(lon, lat, [SQUARE, HOLE])


def test_geojson_polygon_and_multipolygon_become_the_same_structure() -> None:
    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    polygon = shape_from_geojson({"type": "Polygon", "coordinates": [ring]})
    multi = shape_from_geojson({"type": "MultiPolygon", "coordinates": [[ring]]})
    assert polygon == multi == [[[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]]]
    with pytest.raises(ValueError, match="unsupported"):
        shape_from_geojson({"type": "Point", "coordinates": [0, 0]})


def test_distance_of_one_degree_of_latitude_is_about_111_km() -> None:
    assert distance_km(-4.0, 104.0, -3.0, 104.0) == pytest.approx(111.32, rel=1e-3)
