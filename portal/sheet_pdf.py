"""The sheet as a PDF: its content laid out in HTML (templates/portal/sheet.html) and printed by WeasyPrint, with
the vendored DejaVu fonts embedded, the server-drawn map and the verification QR code (a PNG, as a phone scans it).

WeasyPrint fetches nothing but the vendored fonts and data: URLs (no network, no other file): the sheet carries
data typed by others (addresses, zone codes), and its HTML is escaped by the template, but a fetcher that cannot
reach anything else is the second lock.
"""
import base64
import datetime as dt
import io
import logging
from functools import cache
from pathlib import Path

import segno
from django.conf import settings
from django.template.loader import render_to_string

from layers.schemas import LAND_USE_CODES, ZONE_FUNCTIONS
from layers.wards import ward_by_code
from portal.sheet_codes import display
from portal.sheet_map import sheet_svg
from portal.sheet_text import day, moment, number, words

FONTS = Path(settings.BASE_DIR) / "static" / "fonts"
# WeasyPrint logs each step of every document at INFO: a line per step per sheet in the server's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@cache
def _weasyprint():
    """WeasyPrint, imported on the first sheet (its import parses its stylesheets: no cost for other pages)."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    class SheetFetcher(URLFetcher):
        """Only data: URLs and the vendored fonts."""

        def fetch(self, url, headers=None):
            if url.startswith("file://"):
                path = Path(url[len("file://"):]).resolve()
                if path.parent != FONTS.resolve() or path.suffix != ".ttf":
                    raise ValueError(f"the sheet fetches nothing from {url[:80]}")
            elif not url.startswith("data:"):
                raise ValueError(f"the sheet fetches nothing from {url[:80]}")
            return super().fetch(url, headers)

    return weasyprint.HTML, FontConfiguration, SheetFetcher


def qr_png(url: str) -> bytes:
    """The verification URL as a QR code PNG (medium error correction, a quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def _data_url(kind: str, payload: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(payload).decode('ascii')}"


def _zone_rows(zones: list[dict], lang: str, w: dict) -> list[dict]:
    rows = []
    for zone in zones:
        bound, area = zone["max_floor_area"], zone["area_m2"]
        lines = []
        if zone.get("far") is not None:
            lines.append(f"{w['by_far']} = {number(area, lang)} × {number(zone['far'], lang, 2)} "
                         f"= {number(bound['by_far'], lang)} m²")
        if zone.get("max_density") is not None and zone.get("max_floors") is not None:
            lines.append(f"{w['by_density']} = {number(area, lang)} × {number(zone['max_density'], lang)}% × "
                         f"{zone['max_floors']} = {number(bound['by_density'], lang)} m²")
        function = ZONE_FUNCTIONS.get(zone.get("function"), (zone.get("function"),) * 2)
        rows.append({
            "code": zone.get("zone_code") or "—", "function": function[1 if lang == "en" else 0] or "—",
            "area": number(area, lang), "share": number(zone["share_pct"], lang) + "%",
            "density": "—" if zone.get("max_density") is None else number(zone["max_density"], lang) + "%",
            "floors": zone.get("max_floors") if zone.get("max_floors") is not None else "—",
            "far": number(zone.get("far"), lang, 2), "lines": lines,
            "allowed": number(bound["allowed"], lang) + " m²" if bound["allowed"] is not None else w["not_set"],
            "binds": w[f"binds_{bound['binding']}"] if bound["binding"] and len(lines) > 1 else "",
        })
    return rows


def _plans(zones: list[dict], lang: str) -> list[dict]:
    seen, plans = set(), []
    for zone in zones:
        key = (zone.get("plan_name"), zone.get("decision_no"), zone.get("decision_date"))
        if any(key) and key not in seen:
            seen.add(key)
            plans.append({"name": key[0] or "—", "decision": key[1] or "—", "date": day(key[2], lang)})
    return plans


def sheet_context(content: dict, *, language: str, as_of: dt.datetime, issued_at: dt.datetime) -> dict:
    """What the sheet's template shows, in one language, from the language-neutral content."""
    lang = "en" if language.startswith("en") else "vi"
    w, parcel = words(lang), content["parcel"]
    former = ward_by_code(None, parcel.get("ward_code") or "")
    land_use = LAND_USE_CODES.get(parcel.get("land_use"), (parcel.get("land_use"),) * 2)
    zones = content.get("zones")
    allowed = [z["max_floor_area"]["allowed"] for z in zones or [] if z["max_floor_area"]["allowed"] is not None]
    return {
        "w": w, "lang": lang, "parcel": parcel, "former_ward": former.name if former else parcel.get("ward_code"),
        "current_unit": content.get("current_unit") or {}, "area": number(content["area_m2"], lang),
        "land_use": f"{parcel.get('land_use') or '—'} — {land_use[1 if lang == 'en' else 0]}",
        "corners": [{"n": n, "x": number(x, lang, 3), "y": number(y, lang, 3), "edge": number(e, lang, 2)}
                    for n, x, y, e in content["corners"]],
        "zones_visible": zones is not None, "zones": _zone_rows(zones or [], lang, w), "plans": _plans(zones or [], lang),
        "total_floor_area": number(sum(allowed), lang) + " m²" if allowed else w["not_set"],
        "partial_total": bool(allowed) and len(allowed) < len(zones or []),
        "road_reserve": (number(content["road_reserve_m2"], lang) + " m²") if content.get("road_reserve_m2") is not None
        else w["not_available"],
        "versions": [{"title": w.get(f"layer_{v['slug']}", v["slug"]), "changed": moment(v["changed_at"], lang),
                      "features": v["features"]} for v in content.get("data_versions", [])],
        "as_of": moment(as_of, lang), "issued_at": moment(issued_at, lang),
    }


def sheet_pdf(content: dict, drawing: dict, *, language: str, as_of: dt.datetime, issued_at: dt.datetime,
              code: str, verify_url: str) -> bytes:
    """The sheet's PDF bytes."""
    context = sheet_context(content, language=language, as_of=as_of, issued_at=issued_at)
    drawing = {**drawing, "own": content["parcel"].get("parcel_no")}
    svg = sheet_svg(drawing, content["corners"], north_letter=context["w"]["north"])
    context.update({"map_url": _data_url("image/svg+xml", svg.encode("utf-8")),
                    "qr_url": _data_url("image/png", qr_png(verify_url)), "code": display(code),
                    "verify_url": verify_url, "fonts": FONTS.resolve().as_uri()})
    html = render_to_string("portal/sheet.html", context)
    html_class, font_configuration, fetcher_class = _weasyprint()
    fetcher = fetcher_class(allowed_protocols=("file", "data"), allow_redirects=False)
    return html_class(string=html, base_url=FONTS.resolve().as_uri() + "/", url_fetcher=fetcher).write_pdf(
        font_config=font_configuration())
