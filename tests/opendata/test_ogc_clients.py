"""The field's own clients read the OGC API from a live server: GDAL 3.6 (ogr2ogr/ogrinfo, OAPIF driver)
and QGIS 3.22 (OAPIF provider), at the documented address /ogc and at /ogc/, with counts equal to PostGIS."""
import sqlite3

import pytest
from django.db import connection

from opendata.fairuse import limits
from tests.clients import gdal, needs_gdal, needs_qgis, qgis

pytestmark = pytest.mark.django_db(transaction=True)
BBOX = (106.76, 10.80, 106.80, 10.84)  # a corner of the demo city, inside Thu Duc


def public_counts(bbox=None) -> dict[str, int]:
    """Features per public vector layer, straight from PostGIS (optionally those intersecting a WGS 84 box)."""
    where, params = "", []
    if bbox:
        where, params = " AND ST_Intersects(f.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", list(bbox)
    with connection.cursor() as cursor:
        cursor.execute("SELECT l.slug, count(f.id) FROM layers_layer l LEFT JOIN layers_feature f ON f.layer_id = l.id"
                       + where + " WHERE l.is_public AND l.kind = 'vector' GROUP BY l.slug", params)
        return dict(cursor.fetchall())


def gpkg_counts(path) -> dict[str, int]:
    """Rows per feature table of a GeoPackage, read with SQLite (the file must open)."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT table_name FROM gpkg_contents WHERE data_type = 'features'")]
        return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


@pytest.fixture
def shipped_limits(opendata_settings):
    """The fair-use limits as shipped (tests/opendata/conftest.py raises them for other tests)."""
    del opendata_settings.OPENDATA_RATE_ANON, opendata_settings.OPENDATA_RATE_TOKEN
    assert limits() == (300, 3000, 60)
    return opendata_settings


@needs_gdal
def test_ogr2ogr_with_defaults_copies_every_public_collection(live_server, demo_city, secret, shipped_limits, tmp_path):
    expected = public_counts()
    assert expected["parcels"] > 300 * 10  # more than GDAL's 10-feature pages × the anonymous request budget
    out = tmp_path / "city.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server.url}/ogc", timeout=300)  # every layer, defaults
    assert gpkg_counts(out) == expected
    assert "secret-bunkers" not in gdal("ogrinfo", "-ro", "-q", f"OAPIF:{live_server.url}/ogc/")


QGIS_READ = """
from qgis.core import QgsVectorLayer, QgsFeatureRequest, QgsRectangle
out = {}
for root in ROOTS:
    for name in NAMES:
        layer = QgsVectorLayer(f"url='{root}' typename='{name}'", name, "OAPIF")
        if not layer.isValid():
            out[f"{root}|{name}"] = None
            continue
        full = sum(1 for _ in layer.getFeatures())
        rect = QgsFeatureRequest().setFilterRect(QgsRectangle(*BBOX))
        out[f"{root}|{name}"] = [full, sum(1 for _ in layer.getFeatures(rect))]
emit(out)
"""


@needs_qgis
def test_qgis_reads_every_public_collection_at_ogc_and_ogc_slash(live_server, demo_city, secret):
    expected, in_box = public_counts(), public_counts(BBOX)
    roots = [f"{live_server.url}/ogc", f"{live_server.url}/ogc/"]
    names = sorted(expected) + ["secret-bunkers"]
    script = f"ROOTS = {roots!r}\nNAMES = {names!r}\nBBOX = {BBOX!r}\n" + QGIS_READ
    got = qgis(script, timeout=600)
    for root in roots:
        assert got[f"{root}|secret-bunkers"] is None  # a restricted layer is no collection
        for name, count in expected.items():
            assert got[f"{root}|{name}"] == [count, in_box[name]], (root, name)
