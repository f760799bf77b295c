"""The catalog's layer previews: drawn on the server from data and style, refreshed by a change, behind can_view."""
from io import BytesIO

import pytest
from PIL import Image

from layers.models import Feature, Layer, LayerGrant
from layers.editing import feature_update
from layers.styling import layer_style
from tests.factories import make_feature, make_layer, square

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n"


def _image(response) -> Image.Image:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "image/png"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(PNG)
    image = Image.open(BytesIO(body))
    image.verify()  # a whole, valid PNG (verify() leaves the image unusable: open it again)
    return Image.open(BytesIO(body)).convert("RGB")


def _share(image: Image.Image, colour: str, tolerance: int = 40) -> float:
    """The share of pixels near the colour (the background and edges are not)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    pixels = list(image.getdata())
    near = sum(1 for p in pixels if abs(p[0] - r) + abs(p[1] - g) + abs(p[2] - b) <= tolerance)
    return near / len(pixels)


def test_a_vector_layer_is_drawn_in_its_map_colours(client, demo_city):
    zones = demo_city["planning-zones"]
    image = _image(client.get("/tiles/thumbnail/planning-zones.png"))
    assert image.size == (640, 400)
    style = layer_style(zones)
    used = set(Feature.objects.filter(layer=zones).values_list("properties__function", flat=True))
    drawn = [rule.color for rule in style.rules if rule.value in used]
    assert drawn, "the demo's zones are styled by function"
    # Filled at 150/255 over the light background: the shade of the style's colour, not the old blue box.
    assert sum(_share(image, _blend(colour), 30) for colour in drawn) > 0.2
    assert _share(image, "#2255aa", 20) < 0.01


def _blend(colour: str, alpha: float = 150 / 255, background=(246, 248, 249)) -> str:
    rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c * alpha + b * (1 - alpha)) for c, b in zip(rgb, background)]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def test_a_dense_parcel_layer_is_drawn_and_small(client, demo_city):
    response = client.get("/tiles/thumbnail/parcels.png")
    image = _image(response)
    background = _share(image, "#f6f8f9", 6)
    assert background < 0.9  # thousands of parcels leave a visible fabric, dots where they are under a pixel
    assert len(response.content) < 200_000  # a palette PNG: bounded by its pixels, not by 3,000 parcels


def test_a_raster_layer_is_drawn_with_its_ramp(client, demo_city):
    elevation = demo_city["elevation"]
    assert elevation.kind == "raster"
    image = _image(client.get("/tiles/thumbnail/elevation.png"))
    colours = image.getcolors(maxcolors=640 * 400)
    assert len(colours) > 50  # a ramp, not a flat box
    assert _share(image, "#f6f8f9", 6) < 0.5


def test_an_edit_changes_the_url_the_etag_and_the_image(client, demo_city, django_user_model):
    zones = demo_city["planning-zones"]
    page = client.get("/data/planning-zones/").content.decode()
    before_url = _thumbnail_src(page, "planning-zones")
    first = client.get(before_url)
    before = _image(first)
    assert client.get(before_url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    # The largest zone changes function, so its colour: an attribute edit, the geometry untouched.
    feature = max(Feature.objects.filter(layer=zones), key=lambda f: f.geom.area)
    colours = {rule.value: rule.color for rule in layer_style(zones).rules}
    other = next(v for v, c in colours.items() if c != colours.get(feature.properties["function"]))
    admin = django_user_model.objects.create_superuser("admin", password="x")
    feature_update(layer=zones, feature_id=feature.pk, expected_version=feature.version, user=admin,
                   properties={**feature.properties, "function": other}, comment="a test edit")
    page = client.get("/data/planning-zones/").content.decode()
    after_url = _thumbnail_src(page, "planning-zones")
    assert after_url != before_url
    second = client.get(after_url)
    after = _image(second)
    assert second["ETag"] != first["ETag"]
    assert client.get(after_url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    assert list(after.getdata()) != list(before.getdata())


def _thumbnail_src(page: str, slug: str) -> str:
    import re

    found = re.findall(rf'src="(/tiles/thumbnail/{slug}\.png\?v=[0-9a-f]+)"', page)
    assert found, f"no preview of {slug} on the page"
    return found[0]


def test_the_catalog_shows_previews_not_extent_rectangles(client, demo_city):
    page = client.get("/data/").content.decode()
    for slug in ("parcels", "planning-zones", "elevation"):
        _thumbnail_src(page, slug)
    assert "od-extents" not in page and 'class="od-map"' not in page


def test_cache_headers_like_the_tiles(client, demo_city):
    response = client.get("/tiles/thumbnail/planning-zones.png")
    assert response["Cache-Control"].startswith("public")
    assert response["ETag"].strip('"')
    assert "gp-l-" in response["xkey"]


@pytest.fixture
def secret(db):
    layer = make_layer(slug="secret-bunkers", title_vi="Hầm bí mật", title_en="Secret bunkers", is_public=False,
                       geometry_type="Polygon")
    make_feature(layer, square(106.75, 10.8, 0.002), {"name": "A"})
    return Layer.objects.get(pk=layer.pk)


def test_a_restricted_layer_answers_like_a_missing_one(client, django_user_model, secret):
    missing = client.get("/tiles/thumbnail/no-such-layer.png")
    hidden = client.get("/tiles/thumbnail/secret-bunkers.png")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content.replace(b"secret-bunkers", b"no-such-layer") == missing.content
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get("/tiles/thumbnail/secret-bunkers.png").status_code == 404
    user = django_user_model.objects.create_user("planner", password="x")
    LayerGrant.objects.create(layer=secret, user=user)
    client.force_login(user)
    response = client.get("/tiles/thumbnail/secret-bunkers.png")
    _image(response)
    assert response["Cache-Control"].startswith("private")
    assert "Cookie" in response["Vary"]
    assert "xkey" not in response


def test_only_get_and_head(client, demo_city):
    assert client.post("/tiles/thumbnail/parcels.png").status_code == 405
    assert client.head("/tiles/thumbnail/parcels.png").status_code == 200


def test_a_preview_never_colours_by_a_personal_field(client, db):
    """A style naming a personal field is ignored (layers/styling.py): the preview is the unstyled one; the same
    style on a displayed, non-personal field does colour it (the control)."""
    schema = [{"name": "owner", "type": "string", "personal": True, "display": True},
              {"name": "kind", "type": "string", "display": True}]
    for slug, attribute in (("by-owner", "owner"), ("unstyled", ""), ("by-kind", "kind")):
        layer = make_layer(slug=slug, schema=schema, style={
            "attribute": attribute, "colors": {"Nguyễn Văn A": "#ff0000", "x": "#ff0000"}, "default": "#3388ff"})
        make_feature(layer, square(106.75, 10.8, 0.002), {"owner": "Nguyễn Văn A", "kind": "x"})
    by_owner = _image(client.get("/tiles/thumbnail/by-owner.png"))
    unstyled = _image(client.get("/tiles/thumbnail/unstyled.png"))
    by_kind = _image(client.get("/tiles/thumbnail/by-kind.png"))
    assert _share(by_kind, _blend("#ff0000"), 30) > 0.3
    assert _share(by_owner, _blend("#ff0000"), 30) == 0
    assert list(by_owner.getdata()) == list(unstyled.getdata())


def test_past_the_shape_cap_every_feature_still_leaves_a_mark(client, db, monkeypatch):
    """A layer with more shapes than MAX_SHAPES: the largest are drawn as shapes, the rest as dots; none vanishes."""
    from tiles import thumbnails

    monkeypatch.setattr(thumbnails, "MAX_SHAPES", 3)
    layer = make_layer(slug="many", style={"default": "#d62728"})
    for n in range(10):  # ten squares in a row, each well over a pixel
        make_feature(layer, square(106.70 + n * 0.01, 10.80, 0.004), refresh=n == 9)
    layer.refresh_from_db()
    image = _image(client.get("/tiles/thumbnail/many.png"))
    frame = thumbnails.frame_of(layer)
    for n in range(10):
        lon, lat = 106.70 + n * 0.01 + 0.002, 10.802  # each square's centre, where its dot lies
        x, y = thumbnails._mercator(lon, lat)
        px = int((x - frame.x0) / (frame.x1 - frame.x0) * 640)
        py = int((frame.y1 - y) / (frame.y1 - frame.y0) * 400)
        r, g, b = image.getpixel((px, py))
        assert (r, g, b) != (246, 248, 249) and r > g + 40, (n, (r, g, b))


def test_a_style_change_alone_gives_a_new_preview(client, db):
    """The map's colours changed in the catalog (no feature touched): new URL on the page, new ETag, new colours."""
    layer = make_layer(slug="restyled", style={"default": "#1f77b4"})
    make_feature(layer, square(106.75, 10.8, 0.002))
    before_url = _thumbnail_src(client.get("/data/restyled/").content.decode(), "restyled")
    before = client.get(before_url)
    Layer.objects.filter(pk=layer.pk).update(style={"default": "#2ca02c"})
    after_url = _thumbnail_src(client.get("/data/restyled/").content.decode(), "restyled")
    after = client.get(after_url)
    assert after_url != before_url and after["ETag"] != before["ETag"]
    assert _share(_image(before), _blend("#1f77b4"), 30) > 0.3 and _share(_image(after), _blend("#2ca02c"), 30) > 0.3
