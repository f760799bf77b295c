"""OGC API – Tiles at /ogc/: conformance and links, the TileMatrixSet, tileset metadata, tiles equal to
/tiles/'s, restricted layers as ghosts, bad coordinates, CORS."""
import json

import pytest
from django.contrib.auth.models import User

from layers.models import LayerGrant
from tests.clients import gdal, needs_gdal
from tests.factories import make_feature, make_layer, make_parcel_layer, square
from tests.tiles.helpers import decode
from tests.tiles.test_vector_tiles import LON, LAT, PARCEL, tile_at
from tiles.coords import MAX_ZOOM, ORIGIN

pytestmark = pytest.mark.django_db

TILES_CONF = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
TMS = "/ogc/tileMatrixSets/WebMercatorQuad"


def ogc_tile(slug: str, tile, tms: str = "WebMercatorQuad") -> str:
    return f"/ogc/collections/{slug}/tiles/{tms}/{tile.z}/{tile.y}/{tile.x}"


def test_conformance_declares_tiles_styles_and_tms(client):
    conforms = client.get("/ogc/conformance", HTTP_ACCEPT="application/json").json()["conformsTo"]

    for part in ("core", "tileset", "tilesets-list", "geodata-tilesets", "dataset-tilesets", "mvt", "png"):
        assert TILES_CONF + part in conforms
    assert "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset" in conforms
    assert "http://www.opengis.net/spec/ogcapi-styles-1/1.0/conf/core" in conforms


def test_landing_and_collection_link_to_tiles_and_styles(client):
    make_parcel_layer(slug="parcels")

    landing = client.get("/ogc/", HTTP_ACCEPT="application/json").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"] == "http://testserver/ogc/tileMatrixSets"
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/styles"] == "http://testserver/ogc/styles"
    assert rels["http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"] == "http://testserver/ogc/tiles"
    collection = client.get("/ogc/collections/parcels", HTTP_ACCEPT="application/json").json()
    hrefs = {link["href"] for link in collection["links"]}
    assert "http://testserver/ogc/collections/parcels/tiles" in hrefs
    for href in (*rels.values(), "/ogc/collections/parcels/tiles"):
        assert client.get(href).status_code == 200, href


def test_tile_matrix_set_document_is_web_mercator_quad(client):
    listing = client.get("/ogc/tileMatrixSets").json()
    assert [item["id"] for item in listing["tileMatrixSets"]] == ["WebMercatorQuad"]

    doc = client.get(TMS).json()
    assert doc["uri"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    assert doc["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert len(doc["tileMatrices"]) == MAX_ZOOM + 1
    zero, z16 = doc["tileMatrices"][0], doc["tileMatrices"][16]
    assert zero["pointOfOrigin"] == [-ORIGIN, ORIGIN] and zero["cornerOfOrigin"] == "topLeft"
    assert zero["scaleDenominator"] == pytest.approx(559082264.0287178)
    assert zero["cellSize"] == pytest.approx(156543.03392804097)
    assert (z16["id"], z16["matrixWidth"], z16["matrixHeight"], z16["tileWidth"]) == ("16", 65536, 65536, 256)
    assert client.get("/ogc/tileMatrixSets/WorldCRS84Quad", HTTP_ACCEPT="application/json").status_code == 404


def test_tileset_metadata_has_template_limits_layers_and_fields(client):
    layer = make_parcel_layer(slug="parcels", min_zoom=14, max_zoom=18)
    make_feature(layer, square(LON, LAT), PARCEL)

    tilesets = client.get("/ogc/collections/parcels/tiles").json()["tilesets"]
    assert [(t["dataType"], t["tileMatrixSetURI"].rsplit("/", 1)[1]) for t in tilesets] == [("vector", "WebMercatorQuad")]
    doc = client.get("/ogc/collections/parcels/tiles/WebMercatorQuad").json()

    item = next(link for link in doc["links"] if link["rel"] == "item")
    assert item["href"] == ("http://testserver/ogc/collections/parcels/tiles/WebMercatorQuad/"
                            "{tileMatrix}/{tileRow}/{tileCol}")
    assert item["type"] == "application/vnd.mapbox-vector-tile" and item["templated"] is True
    assert [limit["tileMatrix"] for limit in doc["tileMatrixSetLimits"]] == [str(z) for z in range(14, 19)]
    at16 = tile_at(LON, LAT, 16)
    limit16 = doc["tileMatrixSetLimits"][2]
    assert limit16["minTileCol"] <= at16.x <= limit16["maxTileCol"]
    assert limit16["minTileRow"] <= at16.y <= limit16["maxTileRow"]
    (entry,) = doc["layers"]
    assert entry["id"] == "parcels" and entry["geometryDimension"] == 2
    assert (entry["minTileMatrix"], entry["maxTileMatrix"]) == ("14", "18")
    assert entry["propertiesSchema"]["properties"]["legal_area"] == {"type": "number"}
    assert entry["propertiesSchema"]["properties"]["land_use"] == {"type": "string"}
    assert "owner_note" not in entry["propertiesSchema"]["properties"]


def test_ogc_tile_is_the_same_tile_as_tiles(client):
    layer = make_parcel_layer(slug="parcels")
    feature = make_feature(layer, square(LON, LAT), PARCEL)
    tile = tile_at(LON, LAT, 16)

    ogc = client.get(ogc_tile("parcels", tile), HTTP_ACCEPT_ENCODING="gzip")
    plain = client.get(f"/tiles/parcels/{tile.z}/{tile.x}/{tile.y}.pbf", HTTP_ACCEPT_ENCODING="gzip")

    assert ogc.status_code == 200 and ogc["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert ogc.content == plain.content and ogc["ETag"] == plain["ETag"]
    assert [f["id"] for f in decode(ogc)["parcels"]["features"]] == [feature.pk]
    # row and col are y and x: swapped, the same numbers name a tile elsewhere (empty here)
    swapped = client.get(f"/ogc/collections/parcels/tiles/WebMercatorQuad/16/{tile.x}/{tile.y}")
    assert swapped.status_code == 204


def test_dataset_tilesets_basemap_and_groups(client):
    water = make_layer(slug="rivers", basemap_role="water", category="environment")
    make_layer(slug="zones", category="planning")
    make_layer(slug="secret-pipes", category="infrastructure", basemap_role="roads", is_public=False)
    make_feature(water, square(LON, LAT))

    listing = client.get("/ogc/tiles").json()
    ids = [link["href"].rsplit("/", 2)[1] for t in listing["tilesets"] for link in t["links"] if link["rel"] == "self"]
    assert ids == ["basemap", "planning", "environment"]
    assert "secret-pipes" not in str(listing)
    basemap = client.get("/ogc/tiles/basemap/WebMercatorQuad").json()
    assert [entry["id"] for entry in basemap["layers"]] == ["rivers"]
    tile = tile_at(LON, LAT, 15)
    response = client.get(f"/ogc/tiles/basemap/WebMercatorQuad/15/{tile.y}/{tile.x}")
    assert response.status_code == 200 and list(decode(response)) == ["rivers"]
    assert client.get("/ogc/tiles/infrastructure/WebMercatorQuad", HTTP_ACCEPT="application/json").status_code == 404


def test_raster_layer_has_map_tiles_not_vector_tiles(client, demo_city):
    doc = client.get("/ogc/collections/elevation/map/tiles/WebMercatorQuad").json()
    assert doc["dataType"] == "map"
    item = next(link for link in doc["links"] if link["rel"] == "item")
    assert item["type"] == "image/png"
    limit = doc["tileMatrixSetLimits"][4]  # zoom 14: inside the DEM
    z, x, y = int(limit["tileMatrix"]), (limit["minTileCol"] + limit["maxTileCol"]) // 2, \
        (limit["minTileRow"] + limit["maxTileRow"]) // 2
    ogc = client.get(f"/ogc/collections/elevation/map/tiles/WebMercatorQuad/{z}/{y}/{x}")
    plain = client.get(f"/tiles/raster/elevation/{z}/{x}/{y}.png")
    assert ogc.status_code == 200 and ogc["Content-Type"] == "image/png"
    assert ogc.content == plain.content and ogc.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/ogc/collections/elevation/tiles", HTTP_ACCEPT="application/json").status_code == 404
    listed = {link["href"] for t in client.get("/ogc/tiles").json()["tilesets"] for link in t["links"]
              if link["rel"] == "self" and t["dataType"] == "map"}
    assert listed == {"http://testserver/ogc/collections/elevation/map/tiles/WebMercatorQuad"}
    assert client.get("/ogc/collections/parcels/map/tiles", HTTP_ACCEPT="application/json").status_code == 404


RESTRICTED_PATHS = [
    "/ogc/collections/{slug}/tiles",
    "/ogc/collections/{slug}/tiles/WebMercatorQuad",
    "/ogc/collections/{slug}/tiles/WebMercatorQuad/{z}/{y}/{x}",
    "/ogc/styles/{slug}?f=mapbox",
    "/ogc/styles/{slug}?f=json",
    "/ogc/collections/{slug}/styles",
]


@pytest.mark.parametrize("template", RESTRICTED_PATHS)
def test_restricted_layer_answers_as_a_missing_layer(client, template):
    make_feature(make_layer(slug="secret", is_public=False), square(LON, LAT))
    tile = tile_at(LON, LAT, 16)

    def get(slug):
        return client.get(template.format(slug=slug, z=tile.z, x=tile.x, y=tile.y), HTTP_ACCEPT="application/json")

    secret, ghost = get("secret"), get("no-such-layer")
    assert secret.status_code == ghost.status_code == 404
    assert secret.content == ghost.content
    assert secret.json()["description_vi"] and secret.json()["description"]


def test_granted_user_sees_the_restricted_tileset_as_on_tiles(client):
    secret = make_layer(slug="secret", is_public=False)
    feature = make_feature(secret, square(LON, LAT))
    user = User.objects.create_user("planner")
    LayerGrant.objects.create(layer=secret, user=user)
    client.force_login(user)
    tile = tile_at(LON, LAT, 16)

    assert client.get("/ogc/collections/secret/tiles/WebMercatorQuad").json()["layers"][0]["id"] == "secret"
    response = client.get(ogc_tile("secret", tile))
    assert response.status_code == 200 and response["Cache-Control"].startswith("private")
    assert [f["id"] for f in decode(response)["secret"]["features"]] == [feature.pk]
    # styles are public documents: never a restricted layer, whoever asks
    assert client.get("/ogc/styles/secret?f=mapbox", HTTP_ACCEPT="application/json").status_code == 404


@pytest.mark.parametrize("matrix,row,col", [
    ("a", "0", "0"), ("-1", "0", "0"), ("25", "0", "0"), ("99999999999", "0", "0"), ("1.5", "0", "0"),
    ("2", "4", "0"), ("2", "0", "4"), ("2", "-1", "0"), ("2", "0", "1e3"), ("16", "99999999", "0"), ("2", "", "0"),
])
def test_bad_tile_coordinates_are_4xx_in_vietnamese_and_english(client, matrix, row, col):
    make_parcel_layer(slug="parcels")

    for prefix in ("/ogc/collections/parcels/tiles/WebMercatorQuad", "/ogc/tiles/land/WebMercatorQuad"):
        response = client.get(f"{prefix}/{matrix}/{row}/{col}", HTTP_ACCEPT="application/json")
        assert response.status_code in (400, 404), (prefix, response.status_code)
        body = response.json()
        assert body["description"] and body["description_vi"] and body["description"] != body["description_vi"]


def test_unknown_tile_matrix_set_is_404(client):
    make_parcel_layer(slug="parcels")
    response = client.get("/ogc/collections/parcels/tiles/GoogleCRS84Quad/1/0/0", HTTP_ACCEPT="application/json")
    assert response.status_code == 404 and "WebMercatorQuad" in response.json()["description"]


CORS_PATHS = ["/tiles/parcels/16/{x}/{y}.pbf", "/tiles/parcels.json", "/tiles/style.json",
              "/ogc/collections/parcels/tiles/WebMercatorQuad", "/ogc/collections/parcels/tiles/WebMercatorQuad/16/{y}/{x}",
              "/ogc/styles/default?f=mapbox", "/ogc/tileMatrixSets/WebMercatorQuad",
              "/tiles/fonts/DejaVu%20Sans/0-255.pbf", "/tiles/sprite/sprite.json", "/tiles/sprite/sprite@2x.png"]


@pytest.mark.parametrize("template", CORS_PATHS)
def test_cors_on_tiles_tilejson_styles_glyphs_and_sprite(client, template):
    make_feature(make_parcel_layer(slug="parcels"), square(LON, LAT), PARCEL)
    tile = tile_at(LON, LAT, 16)
    path = template.format(x=tile.x, y=tile.y)

    response = client.get(path, HTTP_ORIGIN="https://maps.example.org")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    preflight = client.options(path, HTTP_ORIGIN="https://maps.example.org",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight


def test_cors_on_errors_but_no_credentials_for_restricted_tiles(client):
    make_feature(make_layer(slug="secret", is_public=False), square(LON, LAT))
    client.force_login(User.objects.create_superuser("admin"))
    tile = tile_at(LON, LAT, 16)

    response = client.get(f"/tiles/secret/16/{tile.x}/{tile.y}.pbf", HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 200  # same-origin use by the signed-in user
    assert "Access-Control-Allow-Credentials" not in response  # a browser will not hand it to another site
    bad = client.get("/tiles/secret/99/0/0.pbf", HTTP_ORIGIN="https://maps.example.org", HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and bad["Access-Control-Allow-Origin"] == "*"


def test_writes_to_tile_doors_are_405(client):
    make_parcel_layer(slug="parcels")
    for path in ("/ogc/collections/parcels/tiles", "/tiles/style.json", "/tiles/parcels/1/0/0.pbf"):
        response = client.post(path, HTTP_ACCEPT="application/json")
        assert response.status_code == 405, path


@needs_gdal
def test_gdal_3_6_reads_the_tile_matrix_set(client, tmp_path):
    """GDAL 3.6 reads only TMS 1.0 JSON: the document carries 1.0's names beside 2.0's, and GDAL's COG writer,
    given it as TILING_SCHEME, aligns a raster on the set's tiles exactly as with its built-in definition."""
    (tmp_path / "tms.json").write_bytes(client.get(TMS).content)
    gdal("gdal_create", "-of", "GTiff", "-outsize", "256", "256", "-bands", "1", "-a_srs", "EPSG:3857",
         "-a_ullr", "11880000", "1210000", "11890000", "1200000", str(tmp_path / "in.tif"))
    for scheme, out in ((str(tmp_path / "tms.json"), "ours.tif"), ("GoogleMapsCompatible", "gdal.tif")):
        gdal("gdal_translate", "-q", "-of", "COG", "-co", f"TILING_SCHEME={scheme}", str(tmp_path / "in.tif"),
             str(tmp_path / out))
    ours, builtin = (json.loads(gdal("gdalinfo", "-json", str(tmp_path / name))) for name in ("ours.tif", "gdal.tif"))
    assert ours["geoTransform"] == pytest.approx(builtin["geoTransform"])
    assert ours["size"] == builtin["size"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/tiles/fonts/DejaVu%20Sans/0-255%00.pbf", "/tiles/a/b/c", "/ogc/no/such/path",
                                 "/ogc/collections?x=%00", "/data/nothing-here.zip"])
def test_refusals_before_any_view_are_readable_cross_origin(client, url):
    """A NUL refused by middleware, a router 404: a page on another site can still read why."""
    response = client.get(url)
    assert 400 <= response.status_code < 500
    assert response["Access-Control-Allow-Origin"] == "*" and not response.has_header("Access-Control-Allow-Credentials")
