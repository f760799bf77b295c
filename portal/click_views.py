"""Click-to-see: every visible layer's features at a point of the map."""
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from layers import core
from layers.errors import InvalidParameter
from layers.lookup import features_at
from layers.params import check_text, parse_datetime_param, parse_int, parse_lonlat
from portal.language import label as _label
from portal.lookup_views import parcel_url

MAX_LAYERS = 20
MAX_ZOOM = 24


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
