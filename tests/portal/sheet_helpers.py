"""Helpers for the planning information sheet's tests: issue through the real URL, read the PDF back."""
import io

import pypdf
from django.db import connection
from django.urls import reverse

from layers.models import Feature


def key(parcel: Feature) -> dict:
    p = parcel.properties
    return {"ward": p["ward_code"], "sheet": p["map_sheet"], "number": p["parcel_no"]}


def sheet_url(parcel: Feature) -> str:
    return reverse("parcel-sheet", kwargs=key(parcel))


def issue(client, parcel: Feature, **params):
    """GET the sheet of a parcel: (response, code)."""
    response = client.get(sheet_url(parcel), params)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    return response, response["X-Sheet-Code"]


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, pages joined, whitespace squeezed."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def pdf_fonts(data: bytes) -> list[dict]:
    """Every font of every page: its name and whether its program is embedded (FontFile/2/3)."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = []
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = (target.get("/FontDescriptor") or {})
            descriptor = descriptor.get_object() if descriptor else {}
            fonts.append({"name": str(font.get("/BaseFont")),
                          "embedded": any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))})
    return fonts


def pdf_images(data: bytes) -> list:
    """Every image of the PDF as a PIL image."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    return [image.image for page in reader.pages for image in page.images]


def parcels_in_zones(layer_parcels, layer_zones, *, at_least: int, limit: int = 5) -> list[Feature]:
    """Parcels meeting at least `at_least` planning zones (by a real overlap)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM layers_feature p JOIN layers_feature z ON z.layer_id = %s AND z.geom && p.geom "
            "AND ST_Area(ST_Intersection(z.geom, p.geom)) > 1e-9 WHERE p.layer_id = %s "
            "GROUP BY p.id HAVING count(*) >= %s ORDER BY p.id LIMIT %s",
            [layer_zones.pk, layer_parcels.pk, at_least, limit])
        ids = [row[0] for row in cursor.fetchall()]
    return list(Feature.objects.filter(pk__in=ids).order_by("id"))


def history_mark() -> int:
    """The last history row's id (what later() moves is after it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM layers_featureversion")
        return cursor.fetchone()[0]


def later(mark: int) -> None:
    """Moves the versions written since `mark` to the present clock: a test runs in one transaction, whose now()
    (the versions' time) is before the sheet it issued in it; a real edit after a sheet comes after it."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE layers_featureversion SET changed_at = clock_timestamp() WHERE id > %s", [mark])
