"""The MapLibre style (/ogc/styles, /tiles/style.json): built from the catalog through layers.styling, valid
per MapLibre's own validator, public layers only, every URL in it resolvable; glyphs and sprite."""
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

from layers.styling import layer_style
from tests.factories import make_layer, make_parcel_layer
from tests.tiles.test_vector_tiles import tile_at
from tiles.assets import FONT

pytestmark = pytest.mark.django_db

VALIDATOR = Path(__file__).parent / "node" / "node_modules" / ".bin" / "gl-style-validate"
VIETNAMESE = "Đường Phường Thửa đất ạ ả ấ ầ ẩ ẫ ậ ắ ằ ẳ ẵ ặ ẹ ẻ ẽ ế ề ể ễ ệ ỉ ị ọ ỏ ố ồ ổ ỗ ộ ớ ờ ở ỡ ợ ụ ủ ứ ừ ử ữ ự ỳ ỵ ỷ ỹ – “”"


def by_id(style: dict) -> dict:
    return {layer["id"]: layer for layer in style["layers"]}


def test_default_style_draws_every_public_layer_from_the_catalog(client, demo_city):
    demo_city["road-reserves"].is_public = False
    demo_city["road-reserves"].save()

    style = client.get("/tiles/style.json").json()

    assert style["version"] == 8
    assert set(style["sources"]) == set(demo_city) - {"road-reserves"}
    assert "road-reserves" not in json.dumps(style)
    assert style["sources"]["parcels"] == {"type": "vector", "url": "http://testserver/tiles/parcels.json"}
    assert style["sources"]["elevation"]["type"] == "raster"
    layers = by_id(style)
    parcels = layer_style(demo_city["parcels"])
    colour = layers["parcels-fill"]["paint"]["fill-color"]
    assert colour[:2] == ["match", ["to-string", ["get", "land_use"]]]
    assert dict(zip(colour[2:-1:2], colour[3:-1:2])) == {rule.value: rule.color for rule in parcels.rules}
    assert colour[-1] == parcels.default
    assert (layers["parcels-fill"]["minzoom"], layers["parcels-fill"]["maxzoom"]) == (15, 23)
    assert "admin-units-fill" not in layers and layers["admin-units-outline"]["type"] == "line"  # outline only
    assert layers["roads-line"]["type"] == "line" and layers["roads-line"]["source-layer"] == "roads"
    assert layers["elevation-raster"]["type"] == "raster"
    order = [layer["id"] for layer in style["layers"]]
    assert order.index("elevation-raster") < order.index("planning-zones-fill") < order.index("parcels-fill") \
        < order.index("roads-line") < order.index("admin-units-outline")


def test_labels_are_vietnamese_in_the_vendored_font(client, demo_city):
    layers = by_id(client.get("/ogc/styles/default?f=mapbox").json())

    labels = {key: layer for key, layer in layers.items() if layer["type"] == "symbol"}
    assert {"roads-label", "water-label", "admin-units-label", "planning-zones-label", "parcels-label"} <= set(labels)
    assert all(layer["layout"]["text-font"] == [FONT] for layer in labels.values())
    assert labels["roads-label"]["layout"]["text-field"] == ["to-string", ["get", "road_name"]]
    assert labels["roads-label"]["layout"]["symbol-placement"] == "line"
    assert labels["parcels-label"]["minzoom"] >= 17
    zone_names = labels["planning-zones-label"]["layout"]["text-field"]
    assert "Công viên cây xanh" in zone_names or any("ông" in str(v) for v in zone_names)


def test_style_passes_maplibre_validator(client, demo_city, tmp_path):
    node = shutil.which("node")
    if not node or not VALIDATOR.exists():
        pytest.skip("node or tests/tiles/node/node_modules missing (npm ci --prefix tests/tiles/node)")
    for style_id in ("default", "basemap", "parcels", "elevation"):
        path = tmp_path / f"{style_id}.json"
        path.write_bytes(client.get(f"/ogc/styles/{style_id}?f=mapbox").content)
        result = subprocess.run([node, str(VALIDATOR), str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and not result.stdout.strip(), (style_id, result.stdout, result.stderr)


def test_styles_list_and_metadata(client):
    make_parcel_layer(slug="parcels")
    make_layer(slug="secret", is_public=False)

    listing = client.get("/ogc/styles").json()
    ids = [style["id"] for style in listing["styles"]]
    assert ids[:2] == ["default", "basemap"] and "parcels" in ids and "secret" not in ids
    for style in listing["styles"]:
        sheet = next(link for link in style["links"] if link["rel"] == "stylesheet")
        assert client.get(sheet["href"]).json()["version"] == 8
    meta = client.get("/ogc/styles/parcels?f=json").json()
    assert meta["stylesheets"][0]["link"]["href"].endswith("/ogc/styles/parcels?f=mapbox")
    own = client.get("/ogc/collections/parcels/styles").json()
    assert own["default"] == "parcels" and own["styles"][0]["links"][0]["href"].endswith("/ogc/styles/parcels?f=mapbox")
    bad = client.get("/ogc/styles/parcels?f=sld", HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and bad.json()["description_vi"]


def test_glyph_ranges_cover_vietnamese_and_missing_ranges_404(client):
    codepoints = set()
    for start in (0, 256, 512, 768, 7680, 8192):
        response = client.get(f"/tiles/fonts/{quote(FONT)}/{start}-{start + 255}.pbf")
        assert response.status_code == 200 and response["Content-Type"] == "application/x-protobuf"
        codepoints |= glyph_ids(b"".join(response.streaming_content))
    assert {ord(char) for char in VIETNAMESE if char != " "} <= codepoints
    for path in (f"/tiles/fonts/{quote(FONT)}/19968-20223.pbf", f"/tiles/fonts/{quote(FONT)}/1-256.pbf",
                 f"/tiles/fonts/{quote(FONT)}/abc.pbf", "/tiles/fonts/Comic%20Sans/0-255.pbf",
                 f"/tiles/fonts/{quote(FONT)}/..%2F..%2Fsettings-255.pbf", "/tiles/sprite/other.json"):
        response = client.get(path, HTTP_ACCEPT="application/json")
        assert response.status_code == 404, path
        assert response.json()["description_vi"] and response.json()["description"], path


def glyph_ids(body: bytes) -> set[int]:
    """The code points of a glyph PBF (glyphs > fontstack > glyph.id), read with a small protobuf walker."""
    def fields(data: bytes):
        i = 0
        while i < len(data):
            key, i = varint(data, i)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = varint(data, i)
            else:
                size, i = varint(data, i)
                value, i = data[i:i + size], i + size
            yield number, value

    def varint(data: bytes, i: int) -> tuple[int, int]:
        shift = result = 0
        while True:
            byte = data[i]
            result |= (byte & 0x7F) << shift
            i += 1
            shift += 7
            if not byte & 0x80:
                return result, i

    ids = set()
    for number, stack in fields(body):
        assert number == 1
        for field, glyph in fields(stack):
            if field == 3:
                ids |= {value for key, value in fields(glyph) if key == 1}
    return ids


def test_sprite_index_matches_its_image(client):
    for suffix, ratio in (("", 1), ("@2x", 2)):
        index = json.loads(b"".join(client.get(f"/tiles/sprite/sprite{suffix}.json").streaming_content))
        png = b"".join(client.get(f"/tiles/sprite/sprite{suffix}.png").streaming_content)
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert "marker" in index and index["marker"]["pixelRatio"] == ratio
        assert all(icon["x"] + icon["width"] <= width and icon["y"] + icon["height"] <= height for icon in index.values())


@pytest.mark.django_db(transaction=True)
def test_every_url_in_the_style_resolves_on_a_live_server(live_server, demo_city):
    style = requests.get(f"{live_server.url}/tiles/style.json", timeout=30).json()
    home = urlsplit(live_server.url).netloc
    checked = 0
    for source in style["sources"].values():
        assert urlsplit(source["url"]).netloc == home
        tilejson = requests.get(source["url"], timeout=30)
        assert tilejson.status_code == 200 and tilejson.headers["Access-Control-Allow-Origin"] == "*"
        template = tilejson.json()["tiles"][0]
        z = 15
        lon, lat = 106.70, 10.78
        tile = tile_at(lon, lat, z)
        response = requests.get(template.format(z=z, x=tile.x, y=tile.y), timeout=60)
        assert response.status_code in (200, 204), template
        checked += 1
    for start in (0, 7680):
        url = style["glyphs"].format(fontstack=quote(FONT), range=f"{start}-{start + 255}")
        assert requests.get(url, timeout=30).status_code == 200
    for suffix in ("", "@2x"):
        for ext in ("json", "png"):
            response = requests.get(f"{style['sprite']}{suffix}.{ext}", timeout=30)
            assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert checked == len(style["sources"]) >= 6
