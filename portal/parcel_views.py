"""A parcel's planning page (stable URL per parcel key, printable)."""
import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from layers.errors import NotFound
from layers.lookup import ParcelReport, parcel_by_key, parcel_report
from layers.personal import visible_properties, visible_schema
from portal.language import english as _english, label as _label
from portal.lookup_views import MAX_PARCEL, MAX_SHEET, whole_number


@require_GET
def parcel_page(request: HttpRequest, ward: str, sheet: int, number: int) -> HttpResponse:
    """A parcel's planning information: stable URL per parcel key, printable."""
    if len(ward) > 10 or whole_number(str(sheet), MAX_SHEET) is None or whole_number(str(number), MAX_PARCEL) is None:
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
        "zones": [{"share": z, "function": z.function_label[1] if _english() else z.function_label[0],
                   "decision_date": _date(z.properties.get("decision_date"))} for z in report.zones],
        "zones_total_m2": sum(z.area_m2 for z in report.zones),
        "raster_values": _raster_rows(report),
        "map_data": {"parcel": report.parcel_geojson, "neighbours": report.neighbours_geojson},
        "printed_at": timezone.localtime(),
    })


def _date(value) -> dt.date | str | None:
    """A date attribute as a date (printed in the page's one date format); text that is no ISO date as it is."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


def _raster_rows(report: ParcelReport) -> list[dict]:
    """Each raster value with its unit and vertical datum, when the catalog gives them (an elevation in m)."""
    rows = []
    for item in report.raster_values:
        info = item["layer"].raster_info or {}
        unit, datum = str(info.get("unit") or ""), str(info.get("vertical_datum") or "")
        if unit and datum:
            unit += f" ({datum} height datum)" if _english() else f" (hệ cao độ {datum})"
        rows.append({"title": item["layer"].title, "value": item["value"], "unit": unit})
    return rows
