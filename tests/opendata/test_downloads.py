"""Downloads: GeoJSON streamed from PostGIS and GDAL files cached per layer version."""
import io
import json
import zipfile

import pyogrio
import pytest
from django.db import connection

from layers.vn2000 import transformer
from tests.factories import make_feature, square

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_geojson_is_rfc7946_streamed_with_vietnamese_text(client, parcels):
    response = client.get("/data/parcels.geojson")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/geo+json"
    data = json.loads(body(response))
    assert "crs" not in data
    assert len(data["features"]) == 5
    first = min(data["features"], key=lambda f: f["id"])
    assert first["properties"]["address"].startswith("Số 1 đường Thảo Điền")
    lon, lat = first["geometry"]["coordinates"][0][0]
    assert 106 < lon < 107 and 10 < lat < 11  # lon/lat order
    assert response["Access-Control-Allow-Origin"] == "*"


def test_geojson_in_vn2000_uses_the_official_parameters(client, parcels):
    response = client.get("/data/parcels.geojson?crs=9210")
    assert response["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/9210>"
    data = json.loads(body(response))
    assert data["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::9210"
    first = min(data["features"], key=lambda f: f["id"])
    x, y = first["geometry"]["coordinates"][0][0]
    ex, ey = transformer(4326, 9210).transform(106.730, 10.800)
    assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01


def test_geojson_bbox_and_properties(client, parcels):
    data = json.loads(body(client.get("/data/parcels.geojson?bbox=106.72,10.79,106.74,10.81&properties=land_use,address")))
    assert len(data["features"]) == 3
    assert all(set(f["properties"]) <= {"land_use", "address"} for f in data["features"])
    assert {f["properties"]["land_use"] for f in data["features"]} == {"ODT", "CLN"}


@pytest.mark.parametrize("query, parameter", [
    ("crs=1234", "crs"), ("crs=EPSG:4326;DROP TABLE x", "crs"), ("bbox=1,2,3", "bbox"),
    ("bbox=a,b,c,d", "bbox"), ("bbox=106,11,107,10", "bbox"), ("bbox=106,-95,107,10", "bbox"),
    ("properties=nope", "properties"), ("properties=land_use,'; select 1", "properties"),
    ("bbox=" + "1," * 3000 + "1", "bbox"), ("crs=\u202e\u0000", "crs"),
])
def test_bad_download_parameters_are_400(client, parcels, query, parameter):
    response = client.get(f"/data/parcels.geojson?{query}")
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter


def test_unknown_and_restricted_layers_are_the_same_404(client, parcels, secret):
    a = client.get("/data/secret-bunkers.geojson")
    b = client.get("/data/no-such-layer.gpkg")
    assert a.status_code == b.status_code == 404
    assert a.content == b.content


def test_staff_may_download_restricted(admin_client, secret):
    response = admin_client.get("/data/secret-bunkers.geojson")
    assert response.status_code == 200
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)  # autocommit, as in a server: the connection survives close()
def test_disconnect_closes_the_server_side_cursor(client, parcels):
    response = client.get("/data/parcels.geojson")
    chunks = iter(response.streaming_content)
    next(chunks)
    next(chunks)  # the cursor is open now
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE 'opendata_dl_%%'")
        assert cursor.fetchone()[0] == 1
    response.close()  # what the WSGI server does when the client goes away
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE 'opendata_dl_%%'")
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("fmt", ["gpkg", "csv", "kml"])
def test_gdal_formats_open_with_count_and_text(client, parcels, fmt, tmp_path):
    response = client.get(f"/data/parcels.{fmt}")
    assert response.status_code == 200
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(body(response))
    info = pyogrio.read_info(path)
    assert info["features"] == 5
    frame = pyogrio.read_dataframe(path)
    text = " ".join(str(v) for v in frame.get("address", frame.get("Description", [])) if v)
    if fmt != "kml":
        assert "Thảo Điền" in text
    else:
        assert "Thảo Điền".encode() in path.read_bytes()


def test_second_download_is_a_cached_file_with_length(client, parcels, settings):
    first = client.get("/data/parcels.gpkg?crs=9210")
    second = client.get("/data/parcels.gpkg?crs=9210")
    data = body(second)
    assert body(first) == data
    assert int(second["Content-Length"]) == len(data)
    files = list((settings.OPENDATA_CACHE_DIR / "parcels").glob("*.gpkg"))
    assert len(files) == 1
    # a change to the layer makes a new version, and the old file goes
    make_feature(parcels, square(106.76, 10.83), {"ward_code": "26794", "map_sheet": 1, "parcel_no": 99,
                                                  "land_use": "ODT", "legal_area": 1.0})
    parcels.refresh_from_db()
    third = client.get("/data/parcels.gpkg?crs=9210")
    path = settings.OPENDATA_CACHE_DIR / "third.gpkg"
    path.write_bytes(body(third))
    assert pyogrio.read_info(path)["features"] == 6
    assert len(list((settings.OPENDATA_CACHE_DIR / "parcels").glob("*.gpkg"))) == 1


def test_shapefile_zip_has_prj_cpg_and_field_mapping(client, parcels, tmp_path):
    response = client.get("/data/parcels.shp.zip?crs=9210")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    names = set(archive.namelist())
    assert {"parcels.shp", "parcels.shx", "parcels.dbf", "parcels.prj", "parcels.cpg", "fields.txt"} <= names
    assert archive.read("parcels.cpg").decode().strip().upper() in {"UTF-8", "UTF8"}
    prj = archive.read("parcels.prj").decode()
    assert "105.75" in prj and "Vietnam_2000" in prj
    mapping = archive.read("fields.txt").decode()
    assert "legal_area\tlegal_area" in mapping and "Diện tích pháp lý" in mapping
    archive.extractall(tmp_path)
    frame = pyogrio.read_dataframe(tmp_path / "parcels.shp")
    assert len(frame) == 5
    assert any("Thảo Điền" in (a or "") for a in frame["address"])
    x0, y0, _, _ = frame.total_bounds
    assert 600_000 < x0 < 700_000 and 1_100_000 < y0 < 1_300_000  # TM-3 105-45 metres


def test_long_field_names_are_mapped(client, db, tmp_path):
    from tests.factories import make_layer
    from layers.schemas import PLANNING_ZONES_SCHEMA

    layer = make_layer(slug="zones", schema=PLANNING_ZONES_SCHEMA)
    make_feature(layer, square(106.7, 10.8), {"zone_code": "I.1", "function": "mixed-use", "max_density": 60.0,
                                               "max_floors": 25, "plan_name": "Khu đô thị mới Thủ Thiêm"})
    response = client.get("/data/zones.shp.zip")
    zipfile.ZipFile(io.BytesIO(body(response))).extractall(tmp_path)
    frame = pyogrio.read_dataframe(tmp_path / "zones.shp")
    assert frame["max_densit"][0] == 60.0 and frame["max_floors"][0] == 25
    assert frame["plan_name"][0] == "Khu đô thị mới Thủ Thiêm"


def test_kml_refuses_other_crs(client, parcels):
    response = client.get("/data/parcels.kml?crs=9210")
    assert response.status_code == 400 and response.json()["parameter"] == "crs"


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp.zip", "csv", "kml"])
def test_empty_layer_downloads(client, db, fmt):
    from tests.factories import make_layer

    make_layer(slug="empty", schema=[{"name": "tên", "type": "text", "label_vi": "Tên", "label_en": "Name"}])
    response = client.get(f"/data/empty.{fmt}")
    assert response.status_code == 200
    if fmt == "geojson":
        assert json.loads(body(response))["features"] == []


def test_gpkg_carries_the_vn2000_crs(client, parcels, tmp_path):
    path = tmp_path / "p.gpkg"
    path.write_bytes(body(client.get("/data/parcels.gpkg?crs=3405")))
    crs = pyogrio.read_info(path)["crs"]
    assert "VN-2000 / UTM zone 48N" in crs and "TOWGS84[-191.90441429" in crs  # the official shift travels


@pytest.mark.django_db(transaction=True)  # each write commits: history rows get distinct times
def test_as_of_reads_the_layer_from_history(client, tmp_path):
    import time as _time
    from urllib.parse import quote

    from django.utils import timezone

    from layers.models import Feature
    from tests.factories import make_layer

    layer = make_layer(slug="history")
    first = make_feature(layer, square(106.7, 10.8), {"tên": "Chợ cũ"})
    make_feature(layer, square(106.71, 10.8), {"tên": "Bến đò"})
    _time.sleep(0.05)
    before = timezone.now()
    _time.sleep(0.05)
    first.properties = {"tên": "Chợ mới"}
    first.save()
    Feature.objects.filter(properties__tên="Bến đò").delete()
    now = json.loads(body(client.get("/data/history.geojson")))
    assert [f["properties"]["tên"] for f in now["features"]] == ["Chợ mới"]
    then = json.loads(body(client.get(f"/data/history.geojson?as_of={quote(before.isoformat())}")))
    assert sorted(f["properties"]["tên"] for f in then["features"]) == ["Bến đò", "Chợ cũ"]
    path = tmp_path / "then.gpkg"
    path.write_bytes(body(client.get(f"/data/history.gpkg?as_of={quote(before.isoformat())}")))
    assert pyogrio.read_info(path)["features"] == 2
    bad = client.get("/data/history.geojson?as_of=yesterday")
    assert bad.status_code == 400 and bad.json()["parameter"] == "as_of"
