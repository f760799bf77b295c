"""VN-2000 downloads read by the user's own GDAL 3.6 (ogr2ogr) and QGIS 3.22 with their defaults land within 1 cm of
PostGIS (the pinned official shift); the GeoPackage and Shapefile carry the platform's feature ids."""
import io
import json
import math
import zipfile
from pathlib import Path

import pytest
from django.db import connection

from layers.vn2000 import VN2000_CRS
from tests.clients import gdal, needs_gdal, needs_qgis, qgis

pytestmark = pytest.mark.django_db

# Every VN-2000 code the platform offers: TM-3 105-45 (Ho Chi Minh City's legal areas), the TM-3 zones and
# provincial meridians, UTM 48N/49N, geographic VN-2000 (4756).
CODES = sorted(VN2000_CRS)
TOLERANCE_M = 0.01


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def download(client, slug: str, fmt: str, srid: int, folder: Path) -> Path:
    """The download on disk, as a user saves it (a Shapefile zip unpacked); the path GDAL and QGIS open."""
    response = client.get(f"/data/{slug}.{fmt}?crs={srid}")
    assert response.status_code == 200, response.content[:300]
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "shp.zip":
        zipfile.ZipFile(io.BytesIO(body(response))).extractall(folder)
        return folder / f"{slug}.shp"
    path = folder / f"{slug}.{fmt}"
    path.write_bytes(body(response))
    return path


def postgis_vertices(slug: str) -> dict[int, list[tuple[float, float]]]:
    """Every stored (WGS 84) vertex of the layer's features, by feature id."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT f.id, ST_X(d.geom), ST_Y(d.geom) FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id, "
                       "ST_DumpPoints(f.geom) d WHERE l.slug = %s ORDER BY f.id, d.path", [slug])
        out: dict[int, list] = {}
        for fid, x, y in cursor.fetchall():
            out.setdefault(fid, []).append((x, y))
    return out


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    scale = math.cos(math.radians(b[1]))
    return math.hypot((a[0] - b[0]) * 111_320 * scale, (a[1] - b[1]) * 110_574)


def assert_vertices_match(got: dict[int, list], expected: dict[int, list], label: str) -> None:
    """Same features, same vertex count, and every client vertex within 1 cm of a stored one (ring order may differ)."""
    assert set(got) == set(expected), label
    worst = 0.0
    for fid, points in got.items():
        assert len(points) == len(expected[fid]), (label, fid)
        for point in points:
            worst = max(worst, min(metres(point, ref) for ref in expected[fid]))
    assert worst < TOLERANCE_M, f"{label}: {worst:.4f} m from PostGIS"


def geojson_vertices(geometry: dict) -> list[tuple[float, float]]:
    def walk(node):
        if isinstance(node[0], (int, float)):
            yield (node[0], node[1])
        else:
            for child in node:
                yield from walk(child)
    return list(walk(geometry["coordinates"]))


def ogr2ogr_vertices(path: Path, ids: list[int]) -> dict[int, list]:
    """Reprojected to EPSG:4326 by the system ogr2ogr with its defaults; features keyed by feature_id (or fid)."""
    data = json.loads(gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", "-t_srs", "EPSG:4326", str(path)))
    out = {}
    for index, feature in enumerate(data["features"]):
        fid = feature["properties"].get("feature_id", ids[index])  # a GeoPackage's id is its fid: file order
        out[fid] = geojson_vertices(feature["geometry"])
    return out


QGIS_SCRIPT = """
from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsVectorLayer
out = {}
for path in PATHS:
    layer = QgsVectorLayer(path, "x", "ogr")
    transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem("EPSG:4326"),
                                       QgsProject.instance().transformContext())
    names = layer.fields().names()
    features = {}
    for feature in layer.getFeatures():
        geometry = feature.geometry()
        geometry.transform(transform)
        fid = feature["feature_id"] if "feature_id" in names else feature.id()
        features[int(fid)] = [[v.x(), v.y()] for v in geometry.vertices()]
    out[path] = {"valid": layer.isValid(), "authid": layer.crs().authid(), "name": layer.crs().description(),
                 "features": features}
    del layer
emit(out)
sys.stdout.flush()
"""


def qgis_read(paths: list[Path]) -> dict:
    """Each file loaded by QGIS 3.22 and transformed to EPSG:4326 with the project's default transform context."""
    result = qgis(f"PATHS = {json.dumps([str(p) for p in paths])}\n" + QGIS_SCRIPT)
    return {path: {**info, "features": {int(k): [tuple(v) for v in vs] for k, vs in info["features"].items()}}
            for path, info in result.items()}


@needs_gdal
@pytest.mark.parametrize("srid", CODES)
@pytest.mark.parametrize("fmt", ["shp.zip", "gpkg", "fgb"])
def test_ogr2ogr_lands_on_postgis(client, parcels, tmp_path, fmt, srid):
    path = download(client, "parcels", fmt, srid, tmp_path / "dl")
    expected = postgis_vertices("parcels")
    assert_vertices_match(ogr2ogr_vertices(path, sorted(expected)), expected, f"ogr2ogr {fmt} EPSG:{srid}")


@needs_gdal
@pytest.mark.parametrize("fmt", ["shp.zip", "gpkg", "fgb"])
def test_ogr2ogr_on_a_demo_layer_with_real_rivers(client, demo_city, tmp_path, fmt):
    """The issue's case: water in TM-3 105-45 was 0.8 m off in GDAL."""
    path = download(client, "water", fmt, 9210, tmp_path / "dl")
    expected = postgis_vertices("water")
    assert_vertices_match(ogr2ogr_vertices(path, sorted(expected)), expected, f"ogr2ogr water {fmt}")


@needs_qgis
def test_qgis_lands_on_postgis(client, parcels, tmp_path):
    paths = {(fmt, srid): download(client, "parcels", fmt, srid, tmp_path / f"{srid}-{fmt}")
             for fmt in ("shp.zip", "gpkg") for srid in CODES}
    read = qgis_read(list(paths.values()))
    expected = postgis_vertices("parcels")
    for (fmt, srid), path in paths.items():
        info = read[str(path)]
        assert info["valid"], path
        assert info["name"].startswith("VN-2000"), info["name"]  # the CRS keeps its name
        assert_vertices_match(info["features"], expected, f"QGIS {fmt} EPSG:{srid}")


@needs_gdal
def test_plain_epsg_code_would_be_off_in_gdal(tmp_path, parcels, client):
    """The control: the same file declaring only EPSG:9210 lands 0.8 m away in GDAL 3.6 (why no file carries the code)."""
    path = download(client, "parcels", "shp.zip", 9210, tmp_path / "dl")
    from pyproj import CRS

    path.with_suffix(".prj").write_text(CRS.from_epsg(9210).to_wkt("WKT1_ESRI"))
    expected = postgis_vertices("parcels")
    with pytest.raises(AssertionError, match="from PostGIS"):
        assert_vertices_match(ogr2ogr_vertices(path, sorted(expected)), expected, "EPSG code only")


def test_formats_without_the_shift_say_so_and_point_to_those_with_it(client, parcels):
    response = client.get("/data/parcels.geojson?crs=9210")
    note = json.loads(body(response))["crs_note"]
    assert "EPSG:6960" in note["en"] and "GeoPackage" in note["en"] and "tham số chính thức" in note["vi"]
    links = response["Link"]
    assert "<http://testserver/data/parcels.gpkg?crs=9210>" in links and "<http://testserver/data/parcels.shp.zip?crs=9210>" in links
    assert "<http://testserver/data/parcels.shp.zip?crs=3405>" in client.get("/data/parcels.csv?crs=3405")["Link"]
    assert not client.get("/data/parcels.gpkg?crs=9210").has_header("Link")  # it carries the shift itself
    wgs84 = client.get("/data/parcels.geojson")
    assert "crs_note" not in json.loads(body(wgs84)) and not wgs84.has_header("Link")


@pytest.mark.parametrize("url", ["/data/parcels/", "/data/"])
def test_download_pages_explain_what_each_format_carries(client, parcels, url):
    page = client.get(url).content.decode()
    assert 'id="formats"' in page
    assert "tham số chuyển đổi chính thức" in page and "official transformation" in page
    assert "feature_id" in page


def test_the_collection_document_says_which_files_carry_the_official_shift(client, parcels):
    note = client.get("/ogc/collections/parcels", HTTP_ACCEPT="application/json").json()["crsNote"]
    assert note["vi"].startswith("OGC API") and "EPSG:6960" in note["en"] and ".gpkg" in note["en"]
