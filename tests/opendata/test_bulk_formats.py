"""FlatGeobuf and GeoParquet downloads: opened by GDAL (system ogrinfo and pyogrio), pyarrow and geopandas; the
platform's ids, the stored geometries, GeoParquet 1.1 metadata, VN-2000 as the other formats give it, as_of, bbox."""
import datetime as dt
import json
import math
import re

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from django.contrib.auth.models import User
from django.db import connection
from pyproj import CRS

from layers import editing
from layers.vn2000 import VN2000_CRS
from opendata import columnar
from tests.clients import gdal, needs_gdal
from tests.factories import age_history

pytestmark = pytest.mark.django_db

DEMO_VECTOR = ["admin-units", "planning-zones", "road-reserves", "roads", "water", "parcels"]
GEOPARQUET_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                    "GeometryCollection"}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def save(client, url: str, path):
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    path.write_bytes(body(response))
    return path


def stored(slug: str) -> dict[int, shapely.Geometry]:
    """The layer's stored (WGS 84) geometries by feature id."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT f.id, ST_AsBinary(f.geom) FROM layers_feature f JOIN layers_layer l ON l.id = f.layer_id "
                       "WHERE l.slug = %s", [slug])
        return {fid: shapely.from_wkb(bytes(wkb)) for fid, wkb in cursor.fetchall()}


def same_shape(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    """Equal vertex for vertex (1e-9 degrees), a single polygon and its one-part Multi counting as equal."""
    parts = lambda g: list(g.geoms) if g.geom_type.startswith("Multi") else [g]  # noqa: E731
    pa, pb = parts(a), parts(b)
    return len(pa) == len(pb) and all(x.equals_exact(y, 1e-9) for x, y in zip(pa, pb))


@needs_gdal
@pytest.mark.parametrize("slug", DEMO_VECTOR)
def test_flatgeobuf_opens_in_system_gdal_and_pyogrio_with_ids_and_geometries(client, demo_city, tmp_path, slug):
    layer = demo_city[slug]
    path = save(client, f"/data/{slug}.fgb", tmp_path / f"{slug}.fgb")
    info = gdal("ogrinfo", "-ro", "-so", "-al", str(path))  # GDAL 3.6, as users have it
    assert f"Feature Count: {layer.feature_count}" in info
    assert re.search(r"^Geometry: (.+)$", info, re.M)[1].replace(" ", "") == layer.geometry_type
    frame = pyogrio.read_dataframe(path)  # GDAL 3.12
    expected = stored(slug)
    assert sorted(frame["feature_id"]) == sorted(expected)
    for fid, geometry in zip(frame["feature_id"], frame.geometry):
        assert same_shape(geometry, expected[int(fid)]), fid
    assert pyogrio.read_info(path)["crs"] in ("EPSG:4326", "OGC:CRS84") or "WGS 84" in pyogrio.read_info(path)["crs"]


def test_flatgeobuf_has_its_spatial_index_and_reads_by_bbox(client, parcels, tmp_path):
    path = save(client, "/data/parcels.fgb", tmp_path / "parcels.fgb")
    assert path.read_bytes()[:3] == b"fgb"
    header = pyogrio.read_info(path, layer="parcels")
    assert header["features"] == 5
    assert header["capabilities"]["fast_spatial_filter"]  # the packed R-tree is there
    assert len(pyogrio.read_dataframe(path, bbox=(106.72, 10.79, 106.74, 10.81))) == 3


@pytest.mark.parametrize("slug", DEMO_VECTOR)
def test_geoparquet_reads_in_pyarrow_and_geopandas_with_ids_and_geometries(client, demo_city, tmp_path, slug):
    layer = demo_city[slug]
    path = save(client, f"/data/{slug}.parquet", tmp_path / f"{slug}.parquet")
    assert path.read_bytes()[:4] == b"PAR1"
    table = pq.read_table(path)
    assert table.num_rows == layer.feature_count
    geo = check_geo_metadata(table.schema.metadata, [layer.geometry_type])
    assert CRS.from_user_input(geo["columns"]["geometry"]["crs"]).equals(CRS.from_user_input("OGC:CRS84"))
    frame = gpd.read_parquet(path)
    assert frame.crs.equals(CRS.from_user_input("OGC:CRS84"))
    expected = stored(slug)
    assert sorted(frame["feature_id"]) == sorted(expected)
    for fid, geometry in zip(frame["feature_id"], frame.geometry):
        assert same_shape(geometry, expected[int(fid)]), fid
    west, south, east, north = geo["columns"]["geometry"]["bbox"]
    bounds = frame.total_bounds
    assert np.allclose([west, south, east, north], bounds)
    boxes = table.column("bbox").to_pylist()
    assert all(math.isclose(box["xmin"], g.bounds[0]) and math.isclose(box["ymax"], g.bounds[3])
               for box, g in zip(boxes, frame.geometry))


def check_geo_metadata(metadata: dict, geometry_types: list[str]) -> dict:
    """The `geo` key against GeoParquet 1.1's required keys and values; returns it."""
    geo = json.loads(metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB"
    assert isinstance(column["geometry_types"], list) and set(column["geometry_types"]) <= GEOPARQUET_TYPES
    assert column["geometry_types"] == geometry_types
    assert isinstance(column["crs"], dict) and column["crs"]["type"]  # PROJJSON
    if "bbox" in column:
        w, s, e, n = column["bbox"]
        assert w <= e and s <= n
    covering = column["covering"]["bbox"]
    assert {key: value[1] for key, value in covering.items()} == {k: k for k in ("xmin", "ymin", "xmax", "ymax")}
    return geo


def test_geoparquet_types_fields_and_row_groups(client, parcels, tmp_path, monkeypatch):
    path = save(client, "/data/parcels.parquet", tmp_path / "one.parquet")
    schema = pq.read_schema(path)
    assert str(schema.field("feature_id").type) == "int64"
    assert str(schema.field("legal_area").type) == "double"
    assert str(schema.field("geometry").type) == "binary"
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    frame = gpd.read_parquet(path)
    first = frame.sort_values("feature_id").iloc[0]
    assert first["address"].startswith("Số 1 đường Thảo Điền")
    monkeypatch.setattr(columnar, "ROW_GROUP", 2)  # a file in groups of 2 rows: 5 rows, 3 groups
    path = save(client, "/data/parcels.parquet?properties=land_use", tmp_path / "groups.parquet")
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert pq.read_table(path).num_rows == 5


@pytest.mark.parametrize("fmt", ["fgb", "parquet"])
def test_vn2000_coordinates_equal_the_geopackage_and_land_on_postgis(client, parcels, tmp_path, fmt):
    path = save(client, f"/data/parcels.{fmt}?crs=9210", tmp_path / f"parcels.{fmt}")
    reference = pyogrio.read_dataframe(save(client, "/data/parcels.gpkg?crs=9210", tmp_path / "parcels.gpkg"),
                                       fid_as_index=True)
    frame = gpd.read_parquet(path) if fmt == "parquet" else pyogrio.read_dataframe(path)
    for fid, geometry in zip(frame["feature_id"], frame.geometry):
        assert geometry.equals_exact(reference.geometry[int(fid)], 1e-6)  # the same metres as the GeoPackage
    crs = frame.crs
    assert crs.to_epsg() is None  # no EPSG code: readers would pick EPSG:5194
    assert "towgs84" in crs.to_proj4() and "-191.90441429" in crs.to_proj4()
    back = frame.to_crs(4326)  # the user's pyproj with the file's own CRS
    expected = stored("parcels")
    for fid, geometry in zip(back["feature_id"], back.geometry):
        assert shapely.hausdorff_distance(geometry, expected[int(fid)]) < 1e-7  # about 1 cm


@pytest.mark.parametrize("fmt", ["fgb", "parquet"])
def test_bbox_properties_and_as_of(client, parcels, tmp_path, fmt):
    read = (lambda p: gpd.read_parquet(p)) if fmt == "parquet" else pyogrio.read_dataframe
    boxed = read(save(client, f"/data/parcels.{fmt}?bbox=106.72,10.79,106.74,10.81&properties=land_use",
                      tmp_path / f"box.{fmt}"))
    assert len(boxed) == 3 and set(boxed.columns) == {"feature_id", "land_use", "geometry"}
    admin = User.objects.create_user("bulk-admin", password="x", is_staff=True, is_superuser=True)
    feature = parcels.features.order_by("id").first()
    age_history(feature.pk, 2)  # a test is one transaction (one now()): its first version two days back
    before = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    editing.feature_update(layer=parcels, feature_id=feature.pk, user=admin, expected_version=feature.version,
                           properties={**feature.properties, "land_use": "TMD"})
    now = read(save(client, f"/data/parcels.{fmt}", tmp_path / f"now.{fmt}")).set_index("feature_id")
    then = read(save(client, f"/data/parcels.{fmt}?as_of={before}", tmp_path / f"then.{fmt}")).set_index("feature_id")
    assert now.loc[feature.pk, "land_use"] == "TMD"
    assert then.loc[feature.pk, "land_use"] == feature.properties["land_use"] != "TMD"
    assert len(then) == 1  # the others were made today


@pytest.mark.parametrize("fmt", ["fgb", "parquet"])
def test_restricted_and_bad_requests_are_refused_in_both_languages(client, parcels, secret, fmt):
    hidden = client.get(f"/data/secret-bunkers.{fmt}")
    assert hidden.status_code == 404 and hidden.content == client.get(f"/data/no-such-layer.{fmt}").content
    for query, parameter in (("crs=1234", "crs"), ("bbox=106,11,107,10", "bbox"), ("properties=nope", "properties"),
                             ("as_of=yesterday", "as_of"), ("filter=x", None)):
        response = client.get(f"/data/parcels.{fmt}?{query}")
        assert response.status_code == 400, query
        data = response.json()
        assert data["description_vi"] and data["description"] and data["description_vi"] != data["description"]
        if parameter:
            assert data["parameter"] == parameter


def test_staff_get_restricted_layers_privately(admin_client, secret):
    for fmt in ("fgb", "parquet"):
        response = admin_client.get(f"/data/secret-bunkers.{fmt}")
        assert response.status_code == 200 and "private" in response["Cache-Control"]


def test_catalog_page_and_dcat_list_both_formats(client, parcels):
    page = client.get("/data/parcels/").content.decode()
    assert 'href="/data/parcels.fgb"' in page and 'href="/data/parcels.parquet"' in page
    dcat = client.get("/data/catalog.jsonld").json()
    urls = {d["dcat:downloadURL"]["@id"].rsplit("/", 1)[1]: d for ds in dcat["dcat:dataset"]
            for d in ds["dcat:distribution"]}
    assert urls["parcels.fgb"]["dct:format"] == "FlatGeobuf"
    assert urls["parcels.parquet"]["dct:format"] == "GeoParquet"
    assert urls["parcels.parquet"]["dcat:mediaType"]["@id"].endswith("application/vnd.apache.parquet")
    response = client.get("/data/parcels.parquet")
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert response["Content-Disposition"] == 'attachment; filename="parcels.parquet"'
    assert "public" in response["Cache-Control"]


def test_mixed_geometry_kinds_are_listed(client, db, tmp_path):
    from tests.factories import make_feature, make_layer, square

    layer = make_layer(slug="mixed-things", geometry_type="Geometry", schema=[])
    make_feature(layer, "POINT(106.7 10.8)", {"kind": "well"}, refresh=False)
    make_feature(layer, square(106.71, 10.8), {"kind": "pond"}, refresh=False)
    make_feature(layer, "MULTIPOLYGON(((106.72 10.8,106.721 10.8,106.721 10.801,106.72 10.8)))", {"kind": "x"})
    table = pq.read_table(save(client, "/data/mixed-things.parquet", tmp_path / "mixed.parquet"))
    check_geo_metadata(table.schema.metadata, ["MultiPolygon", "Point", "Polygon"])
    frame = pyogrio.read_dataframe(save(client, "/data/mixed-things.fgb", tmp_path / "mixed.fgb"))
    assert sorted(frame.geometry.geom_type) == ["MultiPolygon", "Point", "Polygon"]


@pytest.mark.parametrize("fmt", ["fgb", "parquet"])
def test_an_empty_result_is_a_valid_file_of_the_layer_type(client, parcels, tmp_path, fmt):
    path = save(client, f"/data/parcels.{fmt}?bbox=106.0,10.0,106.01,10.01", tmp_path / f"empty.{fmt}")
    if fmt == "fgb":
        info = pyogrio.read_info(path, force_feature_count=True)
        assert info["features"] == 0 and info["geometry_type"] == "Polygon"
        return
    table = pq.read_table(path)
    assert table.num_rows == 0 and "feature_id" in table.column_names
    geo = check_geo_metadata(table.schema.metadata, ["Polygon"])
    assert "bbox" not in geo["columns"]["geometry"]  # no rows, no extent (optional in GeoParquet)
    assert len(gpd.read_parquet(path)) == 0


@pytest.mark.parametrize("srid", sorted(VN2000_CRS))
def test_geoparquet_in_every_vn2000_code_lands_on_postgis(client, parcels, tmp_path, srid):
    path = save(client, f"/data/parcels.parquet?crs={srid}", tmp_path / "p.parquet")
    frame = gpd.read_parquet(path)
    assert frame.crs.to_epsg() is None and "-191.90441429" in frame.crs.to_proj4()
    expected = stored("parcels")
    for fid, geometry in zip(frame["feature_id"], frame.to_crs(4326).geometry):
        assert shapely.hausdorff_distance(geometry, expected[int(fid)]) < 1e-7, srid


def test_odd_fields_schemaless_layers_and_bad_values(client, points, tmp_path):
    from tests.factories import make_feature, make_layer

    odd = make_layer(slug="odd-fields", geometry_type="Point", schema=[
        {"name": "bbox", "type": "text", "label_vi": "b", "label_en": "b"},
        {"name": "count", "type": "integer", "label_vi": "c", "label_en": "c"},
        {"name": "day", "type": "date", "label_vi": "d", "label_en": "d"}])
    make_feature(odd, "POINT(106.7 10.8)", {"bbox": "x", "count": 10**30, "day": "not a day"}, refresh=False)
    make_feature(odd, "POINT(106.8 10.9)", {"bbox": "y", "count": 7, "day": "2024-02-29"})
    table = pq.read_table(save(client, "/data/odd-fields.parquet", tmp_path / "odd.parquet"))
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["columns"]["geometry"]["covering"]["bbox"]["xmin"] == ["bbox_1", "xmin"]  # the field keeps "bbox"
    rows = sorted(table.to_pylist(), key=lambda r: r["feature_id"])
    assert [r["bbox"] for r in rows] == ["x", "y"] and [r["count"] for r in rows] == [None, 7]
    assert [str(r["day"]) for r in rows] == ["None", "2024-02-29"]
    fgb = pyogrio.read_dataframe(save(client, "/data/odd-fields.fgb", tmp_path / "odd.fgb"))
    assert sorted(fgb["bbox"]) == ["x", "y"]
    wells = gpd.read_parquet(save(client, "/data/wells.parquet", tmp_path / "wells.parquet"))  # no schema: text fields
    assert set(wells["tên"]) == {"Giếng Đình", "Far east", "Far west"} and set(wells["depth"]) == {"12", "3", "4"}
    assert sorted(pyogrio.read_dataframe(save(client, "/data/wells.fgb", tmp_path / "wells.fgb"))["tên"]) == \
        ["Far east", "Far west", "Giếng Đình"]


@pytest.mark.parametrize("fmt", ["fgb", "parquet", "gpkg"])
def test_download_files_answer_byte_ranges(client, parcels, tmp_path, fmt):
    data = save(client, f"/data/parcels.{fmt}", tmp_path / f"whole.{fmt}").read_bytes()
    whole = client.get(f"/data/parcels.{fmt}")
    assert whole["Accept-Ranges"] == "bytes" and whole["ETag"]
    part = client.get(f"/data/parcels.{fmt}", HTTP_RANGE="bytes=8-99")
    assert part.status_code == 206 and b"".join(part.streaming_content) == data[8:100]
    assert part["Content-Range"] == f"bytes 8-99/{len(data)}"
    assert part["Content-Disposition"] == f'attachment; filename="parcels.{fmt}"'
    tail = client.get(f"/data/parcels.{fmt}", HTTP_RANGE="bytes=-16", HTTP_IF_RANGE=whole["ETag"])
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == data[-16:]
    other = client.get(f"/data/parcels.{fmt}", HTTP_RANGE="bytes=-16", HTTP_IF_RANGE='"f-0-0"')
    assert other.status_code == 200 and b"".join(other.streaming_content) == data
    refused = client.get(f"/data/parcels.{fmt}", HTTP_RANGE=f"bytes={len(data)}-")
    assert refused.status_code == 416 and refused["Content-Range"] == f"bytes */{len(data)}"
    assert refused.json()["description_vi"] and refused.json()["description"]


@needs_gdal
@pytest.mark.django_db(transaction=True)  # a real server on the committed rows
def test_system_gdal_reads_the_flatgeobuf_over_http_by_ranges(live_server, parcels, settings, tmp_path):
    url = f"/vsicurl/{live_server.url}/data/parcels.fgb"
    info = gdal("ogrinfo", "-ro", "-so", "--config", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".fgb", url, "parcels")
    assert "Feature Count: 5" in info
    boxed = gdal("ogrinfo", "-ro", "-q", "-spat", "106.72", "10.79", "106.74", "10.81", url, "parcels")
    assert len(re.findall(r"^  feature_id \(Integer64\) = ", boxed, re.M)) == 3
