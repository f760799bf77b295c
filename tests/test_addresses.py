"""Addresses as residents write them: the parser (a table of real-shaped addresses), the search box's ranking
and the lookup's address path, on the demo city."""
import pytest
from django.conf import settings
from django.urls import reverse

from layers.addresses import FORMER_DISTRICTS, MAX_ADDRESS, parse_address
from layers.models import Feature
from layers.search import address_matches, search
from layers.wards import all_wards, fold

pytestmark = pytest.mark.django_db
ANON = None
HTML = {"HTTP_ACCEPT": "text/html"}
FIELDS = ("house", "alley_kind", "alley", "street_key", "ward", "district", "city")

# input → the parts expected (a part not named is expected empty); with and without accents, abbreviated,
# with and without commas, old (pre-2025) and new unit names, old numbered wards of other districts.
TABLE = [
    ("1806/127/2/6 Đường số 14, P. Thảo Điền, TP. Thủ Đức",
     dict(house="1806/127/2/6", street_key="so 14", ward="thao dien", city="thu duc")),
    ("1806/127/2/6 duong so 14, p thao dien, tp thu duc",
     dict(house="1806/127/2/6", street_key="so 14", ward="thao dien", city="thu duc")),
    ("1806/127/2/6 Đường số 14 P. Thảo Điền TP. Thủ Đức",
     dict(house="1806/127/2/6", street_key="so 14", ward="thao dien", city="thu duc")),
    ("hẻm 12 Lê Văn Việt, Q.9", dict(alley_kind="hẻm", alley="12", street_key="le van viet", district="9")),
    ("hem 12 le van viet, q9", dict(alley_kind="hẻm", alley="12", street_key="le van viet", district="9")),
    ("Hẻm 12 Lê Văn Việt Quận 9", dict(alley_kind="hẻm", alley="12", street_key="le van viet", district="9")),
    ("h.12 Lê Văn Việt", dict(alley_kind="hẻm", alley="12", street_key="le van viet")),
    ("H. 12/3 Lê Văn Việt, P. Tăng Nhơn Phú A, Q. 9",
     dict(alley_kind="hẻm", alley="12/3", street_key="le van viet", ward="tang nhon phu a", district="9")),
    ("hem 12/3 le van viet phuong tang nhon phu a quan 9",
     dict(alley_kind="hẻm", alley="12/3", street_key="le van viet", ward="tang nhon phu a", district="9")),
    ("12/3A đg Võ Văn Ngân, phuong Linh Chieu, Thu Duc",
     dict(house="12/3A", street_key="vo van ngan", ward="linh chieu", city="thu duc")),
    ("12/3a Đường Võ Văn Ngân, Phường Linh Chiểu, TP. Thủ Đức",
     dict(house="12/3A", street_key="vo van ngan", ward="linh chieu", city="thu duc")),
    ("12/3A Đ. Võ Văn Ngân, P.Linh Chiểu", dict(house="12/3A", street_key="vo van ngan", ward="linh chieu")),
    ("12/3 vo van ngan p linh chieu", dict(house="12/3", street_key="vo van ngan", ward="linh chieu")),
    ("12/3B Võ Văn Ngân", dict(house="12/3B", street_key="vo van ngan")),
    ("số 5 kiệt 7 Nguyễn Duy Trinh", dict(house="5", alley_kind="kiệt", alley="7", street_key="nguyen duy trinh")),
    ("so 5 kiet 7 nguyen duy trinh", dict(house="5", alley_kind="kiệt", alley="7", street_key="nguyen duy trinh")),
    ("Kiệt 7 Nguyễn Duy Trinh, Q9", dict(alley_kind="kiệt", alley="7", street_key="nguyen duy trinh", district="9")),
    ("K.7 Nguyễn Duy Trinh", dict(alley_kind="kiệt", alley="7", street_key="nguyen duy trinh")),
    ("số 10 ngõ 3 ngách 5 Song Hành", dict(house="10", alley_kind="ngách", alley="3/5", street_key="song hanh")),
    ("ngo 3 ngach 5 so 10 song hanh", dict(house="10", alley_kind="ngách", alley="3/5", street_key="song hanh")),
    ("ngõ 15 Phạm Văn Đồng", dict(alley_kind="ngõ", alley="15", street_key="pham van dong")),
    ("Ngách 3/5 Phạm Văn Đồng", dict(alley_kind="ngách", alley="3/5", street_key="pham van dong")),
    ("số 2 hẻm 12/1 Đường số 3, phường Bình Thọ",
     dict(house="2", alley_kind="hẻm", alley="12/1", street_key="so 3", ward="binh tho")),
    ("so 2 hem 12/1 duong so 3 phuong binh tho",
     dict(house="2", alley_kind="hẻm", alley="12/1", street_key="so 3", ward="binh tho")),
    ("Hẻm 1806 Đường số 14", dict(alley_kind="hẻm", alley="1806", street_key="so 14")),
    ("5B Thảo Điền", dict(house="5B", street_key="thao dien")),  # a house number: Thảo Điền is the street here
    ("số 5 Quốc Hương, P. Thảo Điền, Q.2", dict(house="5", street_key="quoc huong", ward="thao dien", district="2")),
    ("So 5 Quoc Huong P. Thao Dien Q. 2", dict(house="5", street_key="quoc huong", ward="thao dien", district="2")),
    ("S. 5 Quốc Hương", dict(house="5", street_key="quoc huong")),
    ("12 Đ. Số 14, P. An Khánh, TP.HCM", dict(house="12", street_key="so 14", ward="an khanh", city="hcm")),
    ("12 D14, phường An Khánh, TPHCM", dict(house="12", street_key="so 14", ward="an khanh", city="hcm")),
    ("12 đường 14, An Khánh, Thành phố Hồ Chí Minh", dict(house="12", street_key="so 14", ward="an khanh", city="hcm")),
    ("12 Đường Số 14 Phường An Khánh Thành Phố Hồ Chí Minh",
     dict(house="12", street_key="so 14", ward="an khanh", city="hcm")),
    ("12 duong so 14, an khanh, tp ho chi minh", dict(house="12", street_key="so 14", ward="an khanh", city="hcm")),
    ("45/2 Kha Vạn Cân, P. Linh Đông, Quận Thủ Đức",
     dict(house="45/2", street_key="kha van can", ward="linh dong", district="thu duc")),
    ("45/2 kha van can p linh dong quan thu duc",
     dict(house="45/2", street_key="kha van can", ward="linh dong", district="thu duc")),
    ("45/2 Kha Vạn Cân, Linh Đông, Thủ Đức", dict(house="45/2", street_key="kha van can", ward="linh dong", city="thu duc")),
    ("Số 7 Mai Chí Thọ, phường An Lợi Đông, TP Thủ Đức, TP.HCM",
     dict(house="7", street_key="mai chi tho", ward="an loi dong", city="thu duc")),
    ("7 mai chi tho, an loi dong, thu duc, tp hcm",
     dict(house="7", street_key="mai chi tho", ward="an loi dong", city="thu duc")),
    ("123 Xa lộ Hà Nội, P. Phước Long A, Q. 9",
     dict(house="123", street_key="xa lo ha noi", ward="phuoc long a", district="9")),
    ("123 xa lo ha noi phuong phuoc long a quan 9",
     dict(house="123", street_key="xa lo ha noi", ward="phuoc long a", district="9")),
    ("1/2/3 Đỗ Xuân Hợp, P. Phước Long B", dict(house="1/2/3", street_key="do xuan hop", ward="phuoc long b")),
    ("1 / 2 / 3 do xuan hop", dict(house="1/2/3", street_key="do xuan hop")),
    ("99 Nguyễn Thị Định, P. Thạnh Mỹ Lợi, Q2",
     dict(house="99", street_key="nguyen thi dinh", ward="thanh my loi", district="2")),
    ("99 nguyen thi dinh, p.thanh my loi, q.2",
     dict(house="99", street_key="nguyen thi dinh", ward="thanh my loi", district="2")),
    ("12/3 Dương Đình Hội, P. Phước Long B", dict(house="12/3", street_key="duong dinh hoi", ward="phuoc long b")),
    ("12/3 Đường Dương Đình Hội", dict(house="12/3", street_key="duong dinh hoi")),
    ("25 Điện Biên Phủ, P.15, Q. Bình Thạnh, TP.HCM",
     dict(house="25", street_key="dien bien phu", ward="15", district="binh thanh", city="hcm")),
    ("25 dien bien phu phuong 15 quan binh thanh",
     dict(house="25", street_key="dien bien phu", ward="15", district="binh thanh")),
    ("12 Nguyễn Văn Bá, P12, Q. 5", dict(house="12", street_key="nguyen van ba", ward="12", district="5")),
    ("8 Trần Hưng Đạo, phường 05, quận 1", dict(house="8", street_key="tran hung dao", ward="5", district="1")),
    ("30 Đường Tô Ngọc Vân, Phường Tam Phú, Quận Thủ Đức, Thành phố Hồ Chí Minh, Việt Nam",
     dict(house="30", street_key="to ngoc van", ward="tam phu", district="thu duc", city="hcm")),
    ("30 to ngoc van, tam phu, thu duc, viet nam", dict(house="30", street_key="to ngoc van", ward="tam phu", city="thu duc")),
    ("5 Lê Văn Thịnh, phường Bình Trưng, TP.HCM", dict(house="5", street_key="le van thinh", ward="binh trung", city="hcm")),
    ("5 le van thinh p binh trung tp hcm", dict(house="5", street_key="le van thinh", ward="binh trung", city="hcm")),
    ("10 Lương Định Của, P. An Khánh, TP. Thủ Đức",
     dict(house="10", street_key="luong dinh cua", ward="an khanh", city="thu duc")),
    ("100 Lã Xuân Oai, P. Long Trường, Q. 9, TPHCM",
     dict(house="100", street_key="la xuan oai", ward="long truong", district="9", city="hcm")),
    ("Số 12 Võ Văn Ngân", dict(house="12", street_key="vo van ngan")),
    ("12A Võ Văn Ngân", dict(house="12A", street_key="vo van ngan")),
    ("12a vo van ngan", dict(house="12A", street_key="vo van ngan")),
    ("12 Võ Văn Ngân\x00, P. Linh Chiểu", dict(house="12", street_key="vo van ngan", ward="linh chieu")),
    ("12 Quang Trung, Phường 10, Quận Gò Vấp", dict(house="12", street_key="quang trung", ward="10", district="go vap")),
    ("12/3A vo van ngan linh chieu", dict(house="12/3A", street_key="vo van ngan", ward="linh chieu")),
    ("12/3A Võ Văn Ngân Linh Chiểu Thủ Đức", dict(house="12/3A", street_key="vo van ngan", ward="linh chieu", city="thu duc")),
    ("số 9 Thảo Điền Thảo Điền", dict(house="9", street_key="thao dien", ward="thao dien")),
    ("12/3A, Võ Văn Ngân, Linh Chiểu", dict(house="12/3A", street_key="vo van ngan", ward="linh chieu")),
    ("Số nhà 12, đường Võ Văn Ngân, F. Linh Chiểu", dict(house="12", street_key="vo van ngan", ward="linh chieu")),
    ("Địa chỉ: SN 12 Võ Văn Ngân, P. Linh Chiểu (cũ)", dict(house="12", street_key="vo van ngan", ward="linh chieu")),
    ("Đ/c: 8 Trần Hưng Đạo F12 Q5", dict(house="8", street_key="tran hung dao", ward="12", district="5")),
    ("12 Võ Văn Ngân, phường Linh Chiểu cũ, Quận Thủ Đức (cũ)",
     dict(house="12", street_key="vo van ngan", ward="linh chieu", district="thu duc")),
    ("123456 Võ Văn Ngân", dict(street_key="123456 vo van ngan")),  # six digits: no house number
    ("Phường Thảo Điền, Quận 2", dict(ward="thao dien", district="2")),
    ("thao dien", dict(ward="thao dien")),
    ("TP. Thủ Đức", dict(city="thu duc")),
    ("TP.HCM", dict(city="hcm")),
    ("Quận 9", dict(district="9")),
    ("12/3", dict(house="12/3")),
]


@pytest.fixture
def wards(demo_city):
    return all_wards(ANON)


def test_the_table_is_big_enough():
    assert len(TABLE) >= 60 and len({text for text, _ in TABLE}) == len(TABLE)


def _mismatch(address, expected: dict) -> dict:
    """The parts that differ from the expected ones ({} when all agree)."""
    if address is None:
        return {"address": None}
    got = {f: getattr(address, f) for f in FIELDS}
    diff = {f: got[f] for f in FIELDS if got[f] != expected.get(f, "")}
    named = expected.get("ward", "") and not expected["ward"].isdigit()  # a name: recognised in the wards list
    if {fold(w.name) for w in address.wards} != ({expected["ward"]} if named else set()):
        diff["wards"] = [w.name for w in address.wards]
    return diff


def test_addresses_parse_into_their_parts(wards):
    """Every row of the table at once (each test's set-up costs seconds here): all mismatches are listed."""
    wrong = {text: diff for text, expected in TABLE if (diff := _mismatch(parse_address(text, wards), expected))}
    assert wrong == {}


def test_numbered_wards_named_with_their_prefix_are_recognised(wards):
    from dataclasses import replace

    numbered = [replace(wards[0], code="26734", name="Phường 12"), replace(wards[0], code="26737", name="Phường 05")]
    assert [w.code for w in parse_address("8 Trần Hưng Đạo, F12", numbered).wards] == ["26734"]
    assert [w.code for w in parse_address("8 Trần Hưng Đạo, phuong 5", numbered).wards] == ["26737"]


def test_number_paths_and_display():
    assert parse_address("số 2 hẻm 12/1 Đường số 3").number == parse_address("12/1/2 duong so 3").number == "12/1/2"
    assert parse_address("số 5 kiệt 7 Nguyễn Duy Trinh").number == "7/5"
    assert parse_address("hẻm 12 Lê Văn Việt").number == "12" and not parse_address("hẻm 12 Lê Văn Việt").house
    assert parse_address("12 d14").street == "Đường số 14"
    assert parse_address("12/3A đg Võ Văn Ngân").street == "Võ Văn Ngân"
    assert parse_address("12/3A vo van ngan").structured and not parse_address("12/3").structured
    assert not parse_address("Võ Văn Ngân").structured


@pytest.mark.parametrize("text", ["", "   ", "!!!???", "\x00\x01", "a" * (MAX_ADDRESS + 1), "%_%", None, 12,
                                  "hem 1 " * 33, "1/" * 99 + "1", "p" * 150, "số", "/", "''; DROP TABLE x; --"])
def test_garbage_gives_nothing_or_no_place_never_an_exception(text):
    address = parse_address(text)
    assert address is None or not address.structured


# --- The search box and the lookup on the demo city ---------------------------------------------------------

def _parcel(demo_city, pattern: str) -> Feature:
    return Feature.objects.filter(layer=demo_city["parcels"], properties__address__regex=pattern).order_by("id").first()


def _street_and_ward(parcel) -> tuple[str, str]:
    street, ward = parcel.properties["address"].split(", phường ")
    return street, ward


def _new_ward_of(parcel) -> str:
    """The 2025 ward the parcel lies in (some former wards were split between two)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT w.properties->>'name' FROM layers_feature w JOIN layers_layer l ON l.id = w.layer_id "
                       "WHERE l.slug = 'admin-units' AND w.properties->>'level' = 'ward' AND w.properties->>'valid_to' IS NULL "
                       "AND ST_Intersects(w.geom, ST_PointOnSurface(%s::geometry))", [parcel.geom.ewkt])
        return cursor.fetchone()[0]


@pytest.fixture
def alley(demo_city):
    """The parcels X/1, X/1A and X/1B of one alley, and its head X on the street."""
    first = _parcel(demo_city, r"^[0-9]+/1A ")
    head, road = first.properties["address"].split("/", 1)[0], first.properties["address"].split(" ", 1)[1].split(",")[0]
    same = Feature.objects.filter(layer=demo_city["parcels"])
    return {suffix: same.get(properties__address__startswith=f"{head}/1{suffix} {road},") for suffix in ("", "A", "B")} | {
        "head": same.get(properties__address__startswith=f"{head} {road},"), "number": head, "road": road,
        "deep": same.get(properties__address__startswith=f"số 2 hẻm {head}/1 {road},")}


def test_one_place_written_two_ways_is_one_place(alley):
    """'số 2 hẻm 12/1' on the parcel and '12/1/2' typed (and the other way round) are the same house."""
    number, road = alley["number"], alley["road"]
    for query in [f"{number}/1/2 {road}", f"số 2, hẻm {number}/1, {road}", f"so nha 2 hem {number}/1 {fold(road)}",
                  f"{number}/1/2, {road}"]:
        hits = search(ANON, query)
        assert hits[0].feature_id == alley["deep"].pk, query
    assert search(ANON, f"{number}/1A, {road}")[0].feature_id == alley["A"].pk


def test_an_address_ranks_its_parcel_first_with_and_without_accents(alley):
    parcel = alley["A"]
    street, ward = _street_and_ward(parcel)
    for query in [f"{street}, P. {ward}", fold(f"{street} phuong {ward}"), f"{street}, phường {ward}, TP. Thủ Đức",
                  street.replace("Đường số ", "D") if "Đường số" in street else street.replace(" ", " đường ", 1),
                  f"{street}, phường {_new_ward_of(parcel)}, TP.HCM", fold(f"{street} p {_new_ward_of(parcel)}"),
                  f"{street}, P. {ward}, Q. {next((d for d, names in FORMER_DISTRICTS.items() if fold(ward) in names), 'Thủ Đức')}",
                  f"{street}, {fold(ward)}, quan thu duc, tphcm"]:
        hits = search(ANON, query)
        assert hits and hits[0].feature_id == parcel.pk, query
        assert hits[0].kind == "parcel" and hits[0].ward_code == parcel.properties["ward_code"]


def test_12_3a_is_not_12_3_nor_12_3b(alley):
    road = alley["road"]
    for suffix in ("", "A", "B"):
        hits = search(ANON, f"{alley['number']}/1{suffix} {road}")
        assert hits[0].feature_id == alley[suffix].pk
        others = {alley[s].pk for s in ("", "A", "B") if s != suffix}
        assert not [h for h in hits if h.kind == "parcel" and h.feature_id in others]
    assert address_matches(ANON, f"{alley['number']}/1C {road}") == []
    assert address_matches(ANON, f"{alley['number']}/1 {road}") == [search(ANON, f"{alley['number']}/1 {road}")[0]]


def test_an_alley_is_not_the_house_on_the_street(alley):
    road, number = alley["road"], alley["number"]
    on_street = search(ANON, f"{number} {road}")
    assert on_street[0].feature_id == alley["head"].pk
    in_alley = [h for h in search(ANON, f"hẻm {number} {road}", limit=20) if h.kind == "parcel"]
    assert {alley[s].pk for s in ("", "A", "B")} <= {h.feature_id for h in in_alley}
    assert alley["head"].pk not in {h.feature_id for h in in_alley}
    assert all(h.label.startswith(f"{number}/") or h.label.startswith("số ") for h in in_alley)


def test_a_wrong_ward_gives_no_false_first_hit(alley):
    parcel = alley["A"]
    street, ward = _street_and_ward(parcel)
    new = _new_ward_of(parcel)
    elsewhere = next(w.name for w in all_wards(ANON) if fold(w.name) not in (fold(ward), fold(new)))
    other_new = next(w.name for w in all_wards(ANON) if not w.former and fold(w.name) not in (fold(ward), fold(new)))
    district = "2" if fold(ward) in FORMER_DISTRICTS["9"] or fold(ward) not in FORMER_DISTRICTS["2"] else "9"
    for query in [f"{street}, P. {elsewhere}", f"{street}, phường {other_new}", f"{street}, phường 12, quận 3", f"{street}, phường Không Có",
                  f"{street}, P. {ward}, Q. {district}", f"{street}, Quận 1", f"{street}, TP. Đà Nẵng"]:
        hits = search(ANON, query)
        assert not hits or hits[0].feature_id != parcel.pk, query


def test_the_search_api_and_page_answer_addresses_and_garbage(client, alley):
    parcel = alley["B"]
    street, ward = _street_and_ward(parcel)
    api = client.get(reverse("search-api"), {"q": fold(f"{street} p {ward}")})
    assert api.status_code == 200 and api.json()["results"][0]["id"] == parcel.pk
    assert api.json()["results"][0]["url"].endswith(
        f"/{parcel.properties['ward_code']}/{parcel.properties['map_sheet']}/{parcel.properties['parcel_no']}/")
    page = client.get(reverse("search"), {"q": street}, **HTML)
    assert page.status_code == 200 and street in page.content.decode()
    for garbage in ["!!!???", "/////", "%%__%%", "\u200b\u200b", "P.", "?/?", "// //"]:
        response = client.get(reverse("search-api"), {"q": garbage})
        assert response.status_code == 200 and response.json()["results"] == [], garbage
        assert client.get(reverse("search"), {"q": garbage}, **HTML).status_code == 200
    for odd in ["1/" * 300, "hẻm " * 40, "số 1/1/1/1/1/1/1/1/1 hẻm 1/1/1/1 " * 5, "12/3A" + "\u0301" * 200]:  # never a 500
        assert client.get(reverse("search-api"), {"q": odd}).status_code == 200


def test_the_lookup_goes_to_the_parcel_at_an_address(client, alley):
    parcel = alley["A"]
    street, ward = _street_and_ward(parcel)
    p = parcel.properties
    url = reverse("parcel", kwargs={"ward": p["ward_code"], "sheet": p["map_sheet"], "number": p["parcel_no"]})
    for params in [{"address": fold(f"{street}, p. {ward}")}, {"address": f"{street}, phường {ward}", "ward": ""},
                   {"ward": f"{street}, P. {ward}"}]:  # typed in the ward box, the address is understood too
        response = client.get(reverse("lookup"), params)
        assert response.status_code == 302 and response["Location"].endswith(url), params
    ward_form = client.get(reverse("lookup"), {"ward": ward, "sheet": p["map_sheet"], "parcel": p["parcel_no"]})
    assert ward_form.status_code in (200, 302) and url in (ward_form.get("Location") or ward_form.content.decode())


def test_the_lookup_offers_the_choices_of_an_alley_and_never_guesses(client, alley):
    several = client.get(reverse("lookup"), {"address": f"hẻm {alley['number']} {alley['road']}"}, **HTML)
    html = several.content.decode()
    assert several.status_code == 200 and "Nhiều thửa đất khớp" in html
    for suffix in ("", "A", "B"):
        p = alley[suffix].properties
        assert reverse("parcel", kwargs={"ward": p["ward_code"], "sheet": p["map_sheet"], "number": p["parcel_no"]}) in html
    none = client.get(reverse("lookup"), {"address": f"{alley['number']}/1C {alley['road']}"}, **HTML)
    assert none.status_code == 404 and "Không có thửa đất nào" in none.content.decode()
    vietnamese = client.get(reverse("lookup"), {"address": "!!!"}, **HTML)
    assert vietnamese.status_code == 400 and "Hãy nhập số nhà và tên đường" in vietnamese.content.decode()
    assert 'name="address"' in vietnamese.content.decode() and "Hoặc theo địa chỉ" in vietnamese.content.decode()
    assert client.get(reverse("lookup"), {"address": "x" * 5000}, **HTML).status_code == 400
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("lookup"), {"address": "!!!"}, **HTML)
    assert english.status_code == 400 and "Enter a house number and a street" in english.content.decode()
    assert "Or by address" in english.content.decode() and "Hoặc theo địa chỉ" not in english.content.decode()


def test_a_personal_address_is_never_matched(alley, django_user_model):
    """The address matching obeys the layer's personal fields like every other door."""
    from layers.models import Layer

    layer = Layer.objects.get(slug="parcels")
    saved = layer.schema
    layer.schema = [{**spec, "personal": True} if spec["name"] == "address" else spec for spec in saved]
    layer.save(update_fields=["schema"])
    try:
        street, ward = _street_and_ward(alley["A"])
        assert all(h.feature_id != alley["A"].pk for h in search(ANON, f"{street}, P. {ward}"))
    finally:
        layer.schema = saved
        layer.save(update_fields=["schema"])


def test_address_candidates_come_through_the_trigram_index(demo_city):
    from django.db import connection, transaction

    from layers.search import _word, address_candidates_sql

    params = {"w0": _word("vo van ngan"), "w1": _word("12"), "w2": _word("3a"), "layer": demo_city["parcels"].pk,
              "cap": 500}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ANALYZE layers_feature")  # fresh statistics, as autovacuum keeps them after a load
        cursor.execute("EXPLAIN " + address_candidates_sql(3), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = 'feature_label_trgm'::regclass")
        copies = [row[0] for row in cursor.fetchall()]
    assert copies and any(name in plan for name in copies), plan
