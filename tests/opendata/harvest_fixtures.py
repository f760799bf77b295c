"""Fixtures for the harvest tests: the real servers (pygeoapi, MapServer) over the demo planning zones, started
once per session and only for the tests that ask; the layer checksum that proves "untouched"."""
import hashlib

import pytest
import shapely
from django.db import connection

from tests.opendata import harvest_servers as servers


@pytest.fixture(scope="session")
def harvest_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("harvest")


@pytest.fixture(scope="session")
def zones_original(demo_files):
    """The source's rows: 25 demo planning zones in EPSG:9210, each with its zone_id."""
    return servers.source_frame(demo_files["planning-zones"])


@pytest.fixture
def zones_gpkg(harvest_folder, zones_original):
    """The GeoPackage both servers read, as the original at the start of each test."""
    return servers.write_source(zones_original, harvest_folder / "zones.gpkg")


@pytest.fixture(scope="session")
def pygeoapi_server(harvest_folder, zones_original):
    servers.write_source(zones_original, harvest_folder / "zones.gpkg")
    server = servers.Pygeoapi(harvest_folder / "zones.gpkg", harvest_folder)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def wfs_server(harvest_folder, zones_original):
    servers.write_source(zones_original, harvest_folder / "zones.gpkg")
    server = servers.MapServerWfs(harvest_folder / "zones.gpkg", harvest_folder)
    yield server
    server.stop()


def layer_checksum(slug: str) -> str:
    """Every feature of the layer, byte for byte (id, version, properties, geometry), in one digest."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(string_agg(f.id || ':' || f.version || ':' || f.properties::text || ':' || "
            "encode(ST_AsEWKB(f.geom), 'hex'), '|' ORDER BY f.id), '') FROM layers_feature f "
            "JOIN layers_layer l ON l.id = f.layer_id WHERE l.slug = %s", [slug])
        return hashlib.sha256(cursor.fetchone()[0].encode()).hexdigest()


def metres_apart(a: shapely.Geometry, b: shapely.Geometry) -> float:
    """Hausdorff distance between two lon/lat geometries, in metres (local scale near HCMC)."""
    import math

    lat = a.centroid.y
    scale = lambda c: c * [111_320.0 * math.cos(math.radians(lat)), 110_574.0]  # noqa: E731
    return shapely.hausdorff_distance(shapely.transform(a, scale), shapely.transform(b, scale))
