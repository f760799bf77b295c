"""The layer catalog: creation, kept-current statistics, visibility, and the parcel key."""
import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from layers.errors import InvalidParameter, UnknownLayer
from layers.models import RESERVED_SLUGS, Feature, Layer, LayerGrant
from layers.schemas import PARCELS_SCHEMA, validate_properties
from layers.selectors import layer_for, layers_visible_to
from layers.services import layer_create, layer_refresh_stats
from tests.factories import make_feature, make_layer, make_parcel_layer, square

pytestmark = pytest.mark.django_db


def test_layer_create_keeps_bilingual_metadata():
    layer = layer_create(slug="truong-hoc", title_vi="Trường học", title_en="Schools", category="infrastructure",
                         geometry_type="Point", keywords=["giáo dục"], license="CC BY 4.0")
    assert layer.title_vi == "Trường học" and layer.kind == "vector" and layer.is_public


def test_layer_create_refuses_unknown_category():
    with pytest.raises(ValidationError):
        layer_create(slug="x", title_vi="X", title_en="X", category="secret-stuff")


def test_stats_follow_the_features():
    layer = make_layer()
    assert layer.feature_count == 0 and layer.extent is None
    make_feature(layer, square(106.75, 10.80))
    make_feature(layer, square(106.76, 10.81))
    layer.refresh_from_db()
    assert layer.feature_count == 2
    xmin, ymin, xmax, ymax = layer.extent.extent
    assert (xmin, ymin) == pytest.approx((106.75, 10.80)) and (xmax, ymax) == pytest.approx((106.7605, 10.8105))
    first_change = layer.last_changed
    Feature.objects.filter(layer=layer).delete()
    layer_refresh_stats(layer=layer)
    assert layer.feature_count == 0 and layer.extent is None and layer.last_changed > first_change


def test_restricted_layers_are_invisible_to_anonymous_users():
    public = make_layer(slug="open-one")
    secret = make_layer(slug="closed-one", is_public=False)
    visible = set(layers_visible_to(AnonymousUser()).values_list("slug", flat=True))
    assert public.slug in visible and secret.slug not in visible
    with pytest.raises(UnknownLayer) as caught:
        layer_for(AnonymousUser(), "closed-one")
    with pytest.raises(UnknownLayer) as unknown:
        layer_for(AnonymousUser(), "no-such-layer")
    assert caught.value.message_en == unknown.value.message_en  # nothing tells the two apart
    granted = User.objects.create_user("planner")
    LayerGrant.objects.create(layer=secret, user=granted)
    assert layer_for(granted, "closed-one") == secret


def test_parcel_key_is_unique_within_a_layer():
    layer = make_parcel_layer()
    key = {"ward_code": "27088", "map_sheet": 12, "parcel_no": 345}
    make_feature(layer, square(106.73, 10.80), key)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_feature(layer, square(106.74, 10.80), key, refresh=False)
    other = make_parcel_layer()
    make_feature(other, square(106.74, 10.80), key)  # another layer may reuse the key


def test_properties_are_checked_against_the_schema():
    clean, errors = validate_properties(PARCELS_SCHEMA, {
        "ward_code": "27088", "map_sheet": "12", "parcel_no": 7.0, "land_use": "ODT", "legal_area": "85.5",
    })
    assert errors == [] and clean["map_sheet"] == 12 and clean["parcel_no"] == 7 and clean["legal_area"] == 85.5
    _, errors = validate_properties(PARCELS_SCHEMA, {"ward_code": "27088", "map_sheet": "mười", "parcel_no": 7,
                                                     "land_use": "XYZ", "legal_area": float("nan")})
    assert {e.field for e in errors} == {"map_sheet", "land_use", "legal_area"}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", sorted(RESERVED_SLUGS))
def test_a_layer_cannot_take_a_name_a_route_uses(slug):
    """/tiles/style.json, /tiles/preview, /tiles/raster/…: a layer so named would lose a door to the route."""
    with pytest.raises(InvalidParameter) as refused:
        layer_create(slug=slug, title_vi="x", title_en="x")
    assert "dành riêng" in refused.value.message_vi and "reserves" in refused.value.message_en
    assert not Layer.objects.filter(slug=slug).exists()


@pytest.mark.django_db
def test_the_feature_table_refuses_a_curved_geometry():
    """No door writes curves; raw SQL cannot either, so no layer's downloads break on one."""
    from django.db import connection

    layer = make_layer(slug="curvy", geometry_type="")
    with pytest.raises(IntegrityError, match="geom_not_curved"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at) VALUES "
                       "(%s, ST_GeomFromText('CURVEPOLYGON(CIRCULARSTRING(106.7 10.7, 106.71 10.71, 106.7 10.7))', "
                       "4326), '{}', 1, now())", [layer.pk])
