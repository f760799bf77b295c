"""Readable extents: a place and a size instead of a 16-digit box; the exact box kept for developers."""
import re

import pytest

from opendata.extents import ascii_name, box_size_m, format_size, sentence, short_name

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("width, height, vi, en", [
    (12_345, 15_210, "12 × 15 km", "12 × 15 km"),
    (2_450, 3_120, "2,5 × 3,1 km", "2.5 × 3.1 km"),
    (9_960, 9_940, "10 × 9,9 km", "10 × 9.9 km"),
    (1_500, 400, "1,5 × 0,4 km", "1.5 × 0.4 km"),
    (987, 1_020, "1 × 1 km", "1 × 1 km"),
    (1_500, 20, "1,5 km × 20 m", "1.5 km × 20 m"),
    (350, 423, "350 × 420 m", "350 × 420 m"),
    (987, 12, "990 × 12 m", "990 × 12 m"),
    (45.4, 12.6, "45 × 13 m", "45 × 13 m"),
    (0.3, 4.4, "< 1 × 4 m", "< 1 × 4 m"),
    (123_456, 9_999, "123 × 10 km", "123 × 10 km"),
    (1_234_567, 5, "1.235 km × 5 m", "1,235 km × 5 m"),
    (0, 0, "một điểm", "a single point"),
])
def test_sizes_are_rounded_as_people_say_them(width, height, vi, en):
    assert format_size(width, height, "vi") == vi
    assert format_size(width, height, "en") == en


def test_a_sentence_with_and_without_a_place():
    assert sentence(("Thủ Đức", "Thu Duc"), 12_345, 15_210) == ("Thủ Đức, khoảng 12 × 15 km", "Thu Duc, about 12 × 15 km")
    assert sentence(None, 350, 420) == ("Khoảng 350 × 420 m", "About 350 × 420 m")
    assert sentence(("Thảo Điền", "Thao Dien"), 0, 0) == ("Thảo Điền, một điểm", "Thao Dien, a single point")


def test_names_as_people_write_them():
    assert short_name("Thành phố Thủ Đức") == "Thủ Đức"
    assert short_name("Phường Thảo Điền") == "Thảo Điền"
    assert short_name("An Phú") == "An Phú"
    assert ascii_name("Thủ Đức") == "Thu Duc" and ascii_name("Đông Hòa") == "Dong Hoa"


def test_box_size_in_metres_at_the_middle_latitude():
    width, height = box_size_m(106.70, 10.75, 106.82, 10.88)
    assert 13_000 < width < 13_200 and 14_400 < height < 14_500  # 0.12° of longitude at 10.8° N, 0.13° of latitude


def test_catalog_pages_read_place_and_size_and_keep_the_box(client, demo_city):
    page = client.get("/data/parcels/").content.decode()
    match = re.search(r'<dd class="od-extent">([^<]+)<', page)
    assert match, "the layer page states its extent"
    text = match.group(1).strip()
    assert re.fullmatch(r"[^,\d]+, khoảng [\d,]+ × [\d,]+ (km|m)", text), text
    box = re.search(r'data-testid="bbox">([^<]+)<', page).group(1)
    numbers = [float(n) for n in box.split(",")]
    expected = demo_city["parcels"].extent.extent
    assert numbers == pytest.approx(expected, abs=1e-6)
    assert all(len(n.strip().split(".")[1]) <= 6 for n in box.split(","))
    raw = ", ".join(str(v) for v in expected)
    assert raw not in page.replace(box, "")  # the 16-digit box is gone from the text


def test_the_city_wide_layer_is_named_after_the_city_in_english(client, demo_city):
    client.post("/i18n/setlang/", {"language": "en", "next": "/data/"})
    page = client.get("/data/planning-zones/").content.decode()
    text = re.search(r'<dd class="od-extent">([^<]+)<', page).group(1).strip()
    assert text.startswith("Thu Duc, about ") and text.endswith(" km"), text
    collection = client.get("/ogc/collections/planning-zones?f=html").content.decode()
    assert "Thu Duc, about " in collection and 'data-testid="bbox"' in collection


def test_a_small_layer_is_named_after_its_ward(client, demo_city):
    from layers.models import Feature
    from tests.factories import make_feature, make_layer

    ward = Feature.objects.filter(layer=demo_city["admin-units"], properties__level="ward",
                                  properties__valid_to__isnull=True).order_by("id").first()
    inside = ward.geom.point_on_surface
    layer = make_layer(slug="a-small-thing", geometry_type="Point")
    make_feature(layer, f"POINT({inside.x} {inside.y})")
    page = client.get("/data/a-small-thing/").content.decode()
    text = re.search(r'<dd class="od-extent">([^<]+)<', page).group(1).strip()
    assert text == f"{short_name(ward.properties['name'])}, một điểm"
