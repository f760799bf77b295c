"""The address parser (layers/addresses.py) under hostile input, and the doors that use it (the search API, the
lookup's address and ward fields): it never raises, its output is bounded by its input, and adversarial repetitions
that would make a careless regex backtrack for ever finish (inputs are bounded: the parser refuses more than
MAX_ADDRESS characters before any regex runs, so the worst case is the worst string of that length)."""
import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from layers.addresses import MAX_ADDRESS, Address, parse_address
from layers.wards import Ward

VI = "0123456789/ ,.-;:aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
ADDRESSISH = st.lists(st.sampled_from(list(VI) + ["hẻm ", "kiệt ", "ngõ ", "ngách ", "số ", "phường ", "P.", "Q.", "F",
                                                 "quận ", "TP ", "HCM", "đường ", "Đ.", "đg ", "Địa chỉ: ", "Thủ Đức",
                                                 "Việt Nam", "\u0301", "\u200b", "\x00", "ß", "İ", "ﬁ"]), max_size=60).map("".join)
GROWTH = len("Đường số ")  # a numbered street is named in full ("Đ.14" -> "Đường số 14")
WARDS = [Ward(code="26794", name="Phường Thảo Điền", former=True), Ward(code="26767", name="Phường 12", former=True),
         Ward(code="27000", name="Phường Thủ Đức", former=False), Ward(code="1", name="P", former=False)]

ADVERSARIAL = [
    "1/" * 5000, "1/" * (MAX_ADDRESS // 2), "hẻm " * 2000, "hẻm " * (MAX_ADDRESS // 4), "12/" * 66 + "a",
    "1 / " * 50, "số " * 66, "p " * 100, "phường," * 28, "p.p.p." * 33, "q1" * 100, "9" * MAX_ADDRESS,
    "1a" * 100, "1" + " /1" * 66, "hem 1/" * 33, "Đ." * 100, "tp " * 66, "," * MAX_ADDRESS, " - " * 66,
    "12/3A Võ Văn Ngân" + " phường" * 25, "đường số " * 22, "ngõ 3 ngách " * 16, "s. " * 66, "d1" * 100,
]


def _bounded(address: Address | None, text: str) -> None:
    if address is None:
        return
    for name in ("house", "alley_kind", "alley", "street", "street_key", "ward", "district", "city"):
        value = getattr(address, name)
        assert isinstance(value, str) and len(value) <= min(len(text), MAX_ADDRESS) + GROWTH, (name, value)
    assert len(address.number) <= len(text) + GROWTH


@given(st.text(max_size=2 * MAX_ADDRESS))
def test_any_text_never_raises_and_stays_bounded(text):
    _bounded(parse_address(text), text)


@given(ADDRESSISH)
def test_address_like_text_never_raises_and_stays_bounded(text):
    _bounded(parse_address(text), text)
    _bounded(parse_address(text, WARDS), text)


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_repetitions_finish(text):
    _bounded(parse_address(text), text)
    _bounded(parse_address(text, WARDS), text)


@pytest.mark.parametrize("value", [None, 12, b"12 Nguyen Trai", ["12"], ""])
def test_not_text_is_no_address(value):
    assert parse_address(value) is None


@pytest.mark.django_db
@pytest.mark.parametrize("text", ADVERSARIAL[:8] + ["<script>alert(1)</script> 12 Võ Văn Ngân", "%(address)s %s %%",
                                                    "12 \u202eNgân", "\x00 12 Võ Văn Ngân"])
def test_search_and_lookup_answer_adversarial_addresses(demo_city, settings, text):
    settings.OPENDATA_RATE_ANON = settings.OPENDATA_RATE_SEARCH_ANON = 10**7
    client = Client()
    for path, params in (("/api/search", {"q": text}), ("/tra-cuu/", {"address": text}), ("/tra-cuu/", {"ward": text}),
                         ("/tim-kiem/", {"q": text})):
        response = client.get(path, params, HTTP_ACCEPT="text/html")
        assert response.status_code in (200, 302, 400, 404), (path, response.status_code)
        body = response.content.decode("utf-8", "replace")
        assert "<script>alert(1)" not in body, path
        if response.status_code >= 400:
            assert any(c in body.lower() for c in "ạảấầẩẫậắằẳẵặẹẻẽếềểễệđ"), f"{path}: no Vietnamese reason"
    assert client.get("/api/search", {"q": "Thảo Điền"}).status_code == 200, "the door keeps serving"
