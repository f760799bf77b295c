"""Residents' pages and APIs: planning lookup, the parcel page, click-to-see and search suggestions.

Views parse and check input, call one selector in layers/, and render. Bad input answers 4xx with a
message in the page's language (DomainError for the APIs, the form itself for pages).
"""
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from layers import core
from layers.errors import InvalidParameter, NotFound
from layers.lookup import features_at, parcel_by_key, parcel_report
from layers.personal import visible_properties, visible_schema
from layers.params import check_text, parse_datetime_param, parse_int, parse_lonlat
from layers.search import clean_query, search
from layers.wards import Ward, all_wards, former_wards_of, resolve_ward

MAX_SHEET = 9999
MAX_PARCEL = 999999
MAX_LAYERS = 20
MAX_ZOOM = 24


def _english() -> bool:
    return (get_language() or "vi").startswith("en")


def _label(spec: dict) -> str:
    return spec["label_en"] if _english() else spec["label_vi"]


def _whole_number(text: str, limit: int) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) and 0 < int(text) <= limit else None


def parcel_url(ward_code: str, sheet: int, number: int) -> str:
    return reverse("parcel", kwargs={"ward": ward_code, "sheet": sheet, "number": number})


def _find_in_wards(user, wards: list[Ward], sheet: int, number: int) -> list[tuple[Ward, object]]:
    """Parcels with this sheet and number in each candidate ward (a current ward searches its former ones)."""
    found, tried = [], set()
    for ward in wards:
        for candidate in ([ward] if ward.former else former_wards_of(user, ward.code) + [ward]):
            if candidate.code in tried:
                continue
            tried.add(candidate.code)
            try:
                found.append((candidate, parcel_by_key(user, candidate.code, sheet, number)))
            except NotFound:
                continue
    return found


@require_GET
def lookup_page(request: HttpRequest) -> HttpResponse:
    """'Tra cứu thông tin quy hoạch': ward + map sheet + parcel number → the parcel's page."""
    ward_text = clean_query(request.GET.get("ward", ""))
    sheet_text, number_text = request.GET.get("sheet", "")[:20], request.GET.get("parcel", "")[:20]
    context = {"ward_text": ward_text, "sheet_text": sheet_text, "number_text": number_text,
               "wards": all_wards(request.user), "errors": {}, "choices": []}
    if not (ward_text or sheet_text or number_text):
        return render(request, "portal/lookup.html", context)
    errors = context["errors"]
    sheet, number = _whole_number(sheet_text, MAX_SHEET), _whole_number(number_text, MAX_PARCEL)
    if sheet is None:
        errors["sheet"] = _("Enter the map sheet number as a whole number from 1 to %(max)s.") % {"max": MAX_SHEET}
    if number is None:
        errors["parcel"] = _("Enter the parcel number as a whole number from 1 to %(max)s.") % {"max": MAX_PARCEL}
    wards = resolve_ward(request.user, ward_text) if ward_text else []
    if not wards:
        errors["ward"] = _("No ward is called “%(name)s”. Choose one from the list.") % {"name": ward_text} if ward_text \
            else _("Enter the ward (phường).")
    if errors:
        return render(request, "portal/lookup.html", context, status=400)
    exact = [w for w in wards if w.code == ward_text or w.name.lower() == ward_text.lower()] or wards[:1]
    found = _find_in_wards(request.user, exact, sheet, number)
    if len(found) == 1:
        ward, _parcel = found[0]
        return redirect(parcel_url(ward.code, sheet, number))
    if found:
        context["choices"] = [{"ward": w, "url": parcel_url(w.code, sheet, number)} for w, _p in found]
        return render(request, "portal/lookup.html", context)
    errors["not_found"] = _("No parcel number %(number)s on map sheet %(sheet)s in %(ward)s.") % {
        "number": number, "sheet": sheet, "ward": exact[0].name}
    context["suggestions"] = [w for w in wards if w not in exact]
    return render(request, "portal/lookup.html", context, status=404)


@require_GET
def parcel_page(request: HttpRequest, ward: str, sheet: int, number: int) -> HttpResponse:
    """A parcel's planning information: stable URL per parcel key, printable."""
    if len(ward) > 10 or _whole_number(str(sheet), MAX_SHEET) is None or _whole_number(str(number), MAX_PARCEL) is None:
        raise NotFound("Không tìm thấy thửa đất.", "Parcel not found.")
    parcel = parcel_by_key(request.user, ward, sheet, number)
    report = parcel_report(request.user, parcel)
    fields = {spec["name"]: _label(spec) for spec in visible_schema(request.user, parcel.layer)}
    zone_fields = {}
    for zone_layer in report.data_versions:
        if zone_layer.slug == "planning-zones":
            zone_fields = {spec["name"]: _label(spec) for spec in visible_schema(request.user, zone_layer)}
    return render(request, "portal/parcel.html", {
        "parcel": parcel, "props": visible_properties(request.user, parcel.layer, parcel.properties), "report": report,
        "fields": fields, "zone_fields": zone_fields,
        "land_use_name": report.land_use[1] if _english() else report.land_use[0],
        "zones": [{"share": z, "function": z.function_label[1] if _english() else z.function_label[0]} for z in report.zones],
        "zones_total_m2": sum(z.area_m2 for z in report.zones),
        "map_data": {"parcel": report.parcel_geojson, "neighbours": report.neighbours_geojson},
        "printed_at": timezone.localtime(),
    })


@require_GET
def features_at_api(request: HttpRequest) -> JsonResponse:
    """Click-to-see: GET /api/at?lon=&lat=&z=&layers=a,b[&as_of=] → every visible layer's features at the point
    (as they were at as_of, when given)."""
    lon, lat = parse_lonlat(request.GET.get("lon"), request.GET.get("lat"))
    zoom = parse_int(request.GET.get("z"), parameter="z", default=16, minimum=0, maximum=MAX_ZOOM)
    slugs = [s for s in check_text(request.GET.get("layers", ""), "layers").split(",") if s][:MAX_LAYERS + 1]
    if not slugs or len(slugs) > MAX_LAYERS:
        raise InvalidParameter(f"Cần từ 1 đến {MAX_LAYERS} lớp.", f"Give between 1 and {MAX_LAYERS} layers.", parameter="layers")
    at = parse_datetime_param(request.GET.get("as_of"), parameter="as_of")
    results = features_at(request.user, lon=lon, lat=lat, zoom=zoom, slugs=slugs, at=at)
    return JsonResponse({"results": [{
        "layer": r["layer"].slug, "title": r["layer"].title,
        "features": [{"id": f["id"], "fields": [{"label": _label(spec), "value": value} for spec, value in f["values"]],
                      "url": _parcel_link(r["layer"], f)}
                     for f in r["features"]],
    } for r in results]}, json_dumps_params={"ensure_ascii": False})


def _parcel_link(layer, feature: dict) -> str | None:
    """The planning page of a clicked parcel (the core parcels layer only)."""
    if layer.slug != core.PARCELS:
        return None
    values = {spec["name"]: value for spec, value in feature["values"]}
    try:
        return parcel_url(str(values["ward_code"]), int(values["map_sheet"]), int(values["parcel_no"]))
    except (KeyError, TypeError, ValueError):
        return None


def _hit_url(hit) -> str:
    if hit.kind == "parcel":
        return parcel_url(hit.ward_code, hit.sheet, hit.number)
    if hit.kind == "ward":
        return f"{reverse('lookup')}?ward={hit.ward_code}"
    return ""


@require_GET
def search_api(request: HttpRequest) -> JsonResponse:
    """Suggestions as you type: GET /api/search?q=…"""
    hits = search(request.user, request.GET.get("q", ""))
    return JsonResponse({"results": [
        {"kind": h.kind, "label": h.label, "detail": h.detail, "layer": h.layer_slug, "id": h.feature_id,
         "url": _hit_url(h), "bbox": h.bbox} for h in hits
    ]}, json_dumps_params={"ensure_ascii": False})


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """The search box's results as a page (works without JavaScript)."""
    query = clean_query(request.GET.get("q", ""))
    hits = search(request.user, query, limit=20) if query else []
    return render(request, "portal/search.html", {"query": query, "hits": [
        {"hit": h, "url": _hit_url(h)} for h in hits]})
