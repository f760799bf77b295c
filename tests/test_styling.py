"""A layer's style is public wherever it is drawn: it colours only by a field the tiles carry, never by a
personal one (the legend, the MapLibre styles and the WMS legend all read layers.styling)."""
import pytest

from layers.styling import layer_style
from tests.factories import make_feature, make_layer, square

SECRET_NAME = "Nguyễn Văn Bímật"


@pytest.fixture
def owners(db):
    schema = [
        {"name": "owner", "type": "text", "label_vi": "Chủ", "label_en": "Owner", "display": True, "personal": True},
        {"name": "use", "type": "text", "label_vi": "Loại", "label_en": "Use", "display": True},
        {"name": "note", "type": "text", "label_vi": "Ghi chú", "label_en": "Note"},
    ]
    layer = make_layer(slug="owners", schema=schema, is_public=True,
                       style={"attribute": "owner", "colors": {SECRET_NAME: "#ff0000"}, "default": "#00ff00"})
    make_feature(layer, square(106.73, 10.80), {"owner": SECRET_NAME, "use": "ODT"})
    return layer


def test_a_style_by_a_personal_field_falls_back_to_its_default_colour(owners):
    style = layer_style(owners)
    assert style.attribute == "" and style.rules == () and style.default == "#00ff00"


@pytest.mark.parametrize("attribute", ["note", "missing", ""])
def test_a_style_by_a_field_the_tiles_do_not_carry_is_dropped(owners, attribute):
    owners.style = {"attribute": attribute, "colors": {"x": "#ff0000"}, "default": "#00ff00"}
    assert layer_style(owners).attribute == ""


def test_a_style_by_a_displayed_field_is_kept(owners):
    owners.style = {"attribute": "use", "colors": {"ODT": "#ff0000"}, "default": "#00ff00"}
    style = layer_style(owners)
    assert style.attribute == "use" and [(r.value, r.color) for r in style.rules] == [("ODT", "#ff0000")]


@pytest.mark.parametrize("url", ["/", "/tiles/style.json", "/ogc/styles/default?f=mapbox", "/ogc/styles/owners?f=mapbox",
                                 "/ogc/styles/owners?f=json", "/ogc/collections/owners/tiles/WebMercatorQuad"])
def test_no_public_door_names_the_personal_field_or_its_values(client, owners, url):
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.content.decode()
    assert SECRET_NAME not in body and '"owner"' not in body
