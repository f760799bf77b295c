"""Generalised tiles look like exact ones: below full detail a tile carries far fewer vertices, and
rasterised at the tile's own resolution (4096 units) it covers the same pixels to a fraction of a
screen pixel along every edge."""
import math

import numpy as np
import pytest
from affine import Affine
from django.contrib.gis.geos import GEOSGeometry
from rasterio.features import rasterize
from shapely.geometry import shape

from tests.factories import make_feature, make_layer
from tests.tiles.helpers import decode
from tests.tiles.test_vector_tiles import tile_at, url

pytestmark = pytest.mark.django_db

LON, LAT = 106.7700, 10.8500
EXTENT = 4096
SCREEN_PIXEL = EXTENT / 256  # tile units


def _wiggly_ring(lon: float, lat: float, radius: float, vertices: int, phase: float) -> list[tuple[float, float]]:
    """A closed ring like a surveyed boundary: thousands of vertices, bays and headlands of every size."""
    ring = []
    for i in range(vertices):
        a = 2 * math.pi * i / vertices
        r = radius * (1 + 0.18 * math.sin(5 * a + phase) + 0.06 * math.sin(23 * a) + 0.015 * math.sin(181 * a + phase))
        ring.append((lon + r * math.cos(a), lat + r * math.sin(a) * 0.98))
    return [*ring, ring[0]]


def _wkt(rings: list[list[tuple[float, float]]]) -> str:
    return "POLYGON(" + ",".join("(" + ",".join(f"{x!r} {y!r}" for x, y in ring) + ")" for ring in rings) + ")"


@pytest.fixture
def wards():
    """Three detailed polygons (one with a hole) a few kilometres across, as a ward layer."""
    layer = make_layer(slug="wards", geometry_type="Polygon", min_zoom=0, max_zoom=22)
    for n, (dlon, dlat, radius) in enumerate([(0, 0, 0.02), (0.05, 0.01, 0.015), (-0.03, 0.04, 0.01)]):
        outer = _wiggly_ring(LON + dlon, LAT + dlat, radius, 4000, phase=n)
        rings = [outer]
        if n == 0:
            rings.append(list(reversed(_wiggly_ring(LON, LAT, radius * 0.3, 1500, phase=2.0))))
        make_feature(layer, GEOSGeometry(_wkt(rings), srid=4326), refresh=n == 2)
    return layer


def _tile_shapes(response) -> list:
    return [shape(f["geometry"]) for f in decode(response)["wards"]["features"]]


def _raster(shapes: list) -> np.ndarray:
    """The shapes burnt into the tile's 4096 × 4096 grid (tile units are pixels)."""
    return rasterize([(s, 1) for s in shapes], out_shape=(EXTENT, EXTENT), transform=Affine.identity(),
                     fill=0, dtype="uint8")


def _vertices(shapes: list) -> int:
    total = 0
    for s in shapes:
        for polygon in getattr(s, "geoms", [s]):
            total += len(polygon.exterior.coords) + sum(len(r.coords) for r in polygon.interiors)
    return total


@pytest.mark.parametrize("z", [10, 12, 14])
def test_generalised_tile_covers_the_same_pixels_as_the_exact_one(client, settings, wards, z):
    tile = tile_at(LON, LAT, z)
    generalised = _tile_shapes(client.get(url("wards", tile)))
    settings.GISPORTAL_TILE_FULL_DETAIL_ZOOM = 0  # every zoom at full detail: the exact tile
    exact = _tile_shapes(client.get(url("wards", tile)))

    ours, truth = _raster(generalised), _raster(exact)
    differing = int(np.count_nonzero(ours != truth))
    filled = int(np.count_nonzero(truth))
    edge = sum(s.boundary.intersection(_tile_box()).length for s in exact)  # tile units of boundary inside

    assert len(generalised) == len(exact) and filled > 0
    assert _vertices(generalised) < _vertices(exact) / 3  # the work saved is real
    # Along the edges the two differ by less than a quarter of a screen pixel on average (measured:
    # 1.2–1.8 tile units, a tenth of a screen pixel, at z10–z14; simplifying in 3857 gave the same)…
    assert differing / edge < SCREEN_PIXEL / 4, (differing, edge)
    # …which is a few per cent of the area drawn even where the shapes are only a few pixels wide (z10).
    assert differing / filled < 0.05, (differing, filled)


def _tile_box():
    from shapely.geometry import box

    return box(0, 0, EXTENT, EXTENT)

