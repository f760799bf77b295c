"""The editing API: GeoJSON in and out, versions for no lost updates, errors as JSON in vi and en.

Session authentication with CSRF on every write; reading follows the layer's visibility, writing the
user's grants (both checked in layers/).
"""
import json

from django.contrib.gis.geos import GEOSGeometry, Polygon
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from editor.geojson import check_crs_member, parse_geometry
from layers import editing
from layers.errors import InvalidParameter
from layers.history import clean_comment, layer_as_of
from layers.models import Feature
from layers.personal import hidden_fields, keep_hidden, without
from layers.params import parse_bbox, parse_json, parse_moment
from layers.selectors import layer_for
from layers.validation import ValidationFailed

MAX_FEATURES = 2000


def feature_json(feature: Feature, hidden: list[str] = ()) -> dict:
    """A feature as GeoJSON, its version beside the properties (the editor sends it back on save), without
    the fields hidden from the user."""
    return {"type": "Feature", "id": feature.pk, "version": feature.version,
            "geometry": json.loads(feature.geom.geojson), "properties": without(feature.properties, hidden)}


def _body(request: HttpRequest) -> dict:
    """The request's JSON object, whatever Content-Type the client named (a form post is no JSON: 400)."""
    if request.method == "POST" and request.content_type == "multipart/form-data":  # Django has read it as a form
        if request.POST or request.FILES:
            raise InvalidParameter("Nội dung phải là một đối tượng JSON, không phải biểu mẫu.",
                                   "The request body must be a JSON object, not a form.", parameter="body")
        return {}  # an empty form is an empty body (what a bare POST from many clients looks like)
    body = parse_json(request.body or b"{}")
    if not isinstance(body, dict):
        raise InvalidParameter("Nội dung phải là một đối tượng JSON.", "The request body must be a JSON object.", parameter="body")
    check_crs_member(body.get("crs"))  # a Feature-level crs names the CRS of its geometry just the same
    return body


def _comment(body: dict) -> str:
    """The edit comment of every write: text, checked by the one comment check (layers.history.clean_comment)."""
    return clean_comment(body.get("comment"))


def _flag(body: dict, name: str) -> bool:
    """A yes/no member: a JSON true or false (absent: false), nothing else."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidParameter(f"{name} phải là true hoặc false.", f"{name} must be true or false.", parameter=name)
    return value


def _int(value, name: str) -> int:
    """A version number: a JSON integer (not 1.5, true or "1"), or digits in a query string; 400 otherwise."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31 - 1:
        raise InvalidParameter(f"{name} phải là số nguyên dương, ví dụ 3.", f"{name} must be a whole number, e.g. 3.",
                               parameter=name)
    return value


def _body_int(body: dict, name: str) -> int:
    """An integer member of a JSON body: a JSON number without a fraction, nothing else."""
    value = body.get(name)
    if isinstance(value, str):  # "1" is text, not a version
        value = None
    return _int(value, name)


def _bbox(text: str) -> Polygon:
    """The editor's view box: WGS 84 west,south,east,north (required; no antimeridian crossing here)."""
    bounds = parse_bbox(text, antimeridian=False)
    if bounds is None:
        raise InvalidParameter("bbox cần 4 số: tây,nam,đông,bắc.", "bbox needs 4 numbers: west,south,east,north.", parameter="bbox")
    box = Polygon.from_bbox(bounds)
    box.srid = 4326
    return box


def _problems(error: ValidationFailed) -> JsonResponse:
    return JsonResponse({"code": error.code, "description": error.message_en, "description_vi": error.message_vi,
                         "problems": [p.__dict__ for p in error.problems]}, status=400, json_dumps_params={"ensure_ascii": False})


def _stale(stale: editing.StaleFeature, hidden: list[str]) -> JsonResponse:
    return JsonResponse({"code": stale.code, "description": stale.message_en, "description_vi": stale.message_vi,
                         "current": feature_json(stale.current, hidden)}, status=409, json_dumps_params={"ensure_ascii": False})


def _line(body: dict) -> GEOSGeometry:
    """The cutting line of a split: a GeoJSON LineString."""
    value = body.get("line")
    if not isinstance(value, dict) or value.get("type") != "LineString":
        raise InvalidParameter("line phải là một LineString GeoJSON.", "line must be a GeoJSON LineString.", parameter="line")
    return parse_geometry(value)


def _properties(body: dict) -> dict | None:
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        raise InvalidParameter("properties phải là một đối tượng.", "properties must be an object.", parameter="properties")
    return props


@require_http_methods(["GET", "POST"])
def features(request: HttpRequest, layer: str) -> JsonResponse:
    """GET ?bbox= lists features to edit; POST creates one."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    hidden = hidden_fields(request.user, catalog_layer)
    if request.method == "GET":
        box = _bbox(request.GET.get("bbox", ""))
        if request.GET.get("as_of"):  # the layer as it was then, from its history
            at = parse_moment(request.GET["as_of"], "as_of")
            items = [{"type": "Feature", "id": row["id"], "version": row["version"], "geometry": json.loads(row["geojson"]),
                      "properties": without(row["properties"], hidden)}
                     for row in layer_as_of(catalog_layer, at, box.extent)[: MAX_FEATURES + 1]]
        else:
            rows = Feature.objects.filter(layer=catalog_layer, geom__bboverlaps=box).order_by("id")[: MAX_FEATURES + 1]
            items = [feature_json(f, hidden) for f in rows]
        return JsonResponse({"type": "FeatureCollection", "features": items[:MAX_FEATURES],
                             "truncated": len(items) > MAX_FEATURES}, json_dumps_params={"ensure_ascii": False})
    body = _body(request)
    try:
        # A user who may not see the personal fields does not write them either.
        feature = editing.feature_create(layer=catalog_layer, geom=parse_geometry(body.get("geometry")),
                                         properties=without(_properties(body) or {}, hidden), user=request.user,
                                         comment=_comment(body))
    except ValidationFailed as error:
        return _problems(error)
    return JsonResponse(feature_json(feature, hidden), status=201, json_dumps_params={"ensure_ascii": False})


@require_http_methods(["GET", "PUT", "DELETE"])
def feature(request: HttpRequest, layer: str, feature_id: int) -> JsonResponse:
    """GET one; PUT {geometry?, properties?, version, comment?}; DELETE ?version=."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    hidden = hidden_fields(request.user, catalog_layer)
    if request.method == "GET":
        found = Feature.objects.filter(pk=feature_id, layer=catalog_layer).first()
        if found is None:
            raise editing.FeatureNotFound()
        return JsonResponse(feature_json(found, hidden), json_dumps_params={"ensure_ascii": False})
    try:
        if request.method == "DELETE":
            editing.feature_delete(layer=catalog_layer, feature_id=feature_id, user=request.user,
                                   expected_version=_int(request.GET.get("version"), "version"))
            return JsonResponse({"deleted": feature_id})
        body = _body(request)
        geometry = body.get("geometry")
        updated = editing.feature_update(
            layer=catalog_layer, feature_id=feature_id, user=request.user,
            expected_version=_body_int(body, "version"),
            geom=parse_geometry(geometry) if geometry is not None else None,
            properties=_kept_personal(catalog_layer, feature_id, _properties(body), hidden),
            comment=_comment(body),
        )
    except ValidationFailed as error:
        return _problems(error)
    except editing.StaleFeature as stale:
        return _stale(stale, hidden)
    return JsonResponse(feature_json(updated, hidden), json_dumps_params={"ensure_ascii": False})


def _kept_personal(layer, feature_id: int, properties: dict | None, hidden: list[str]) -> dict | None:
    """Properties sent by an editor who cannot see the hidden fields: the stored values kept for those
    (they were never shown, so leaving them out of a save must not wipe them)."""
    if properties is None or not hidden:
        return properties
    stored = Feature.objects.filter(pk=feature_id, layer=layer).values_list("properties", flat=True).first()
    return keep_hidden(properties, stored, hidden)


@require_http_methods(["POST"])
def split(request: HttpRequest, layer: str, feature_id: int) -> JsonResponse:
    """POST {line, version, comment?}: the feature cut by the line; the parts, the original first."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    body = _body(request)
    try:
        parts = editing.feature_split(layer=catalog_layer, feature_id=feature_id, user=request.user,
                                      expected_version=_body_int(body, "version"), line=_line(body),
                                      comment=_comment(body))
    except ValidationFailed as error:
        return _problems(error)
    except editing.StaleFeature as stale:
        return _stale(stale, hidden_fields(request.user, catalog_layer))
    hidden = hidden_fields(request.user, catalog_layer)
    return JsonResponse({"features": [feature_json(f, hidden) for f in parts]}, json_dumps_params={"ensure_ascii": False})


@require_http_methods(["POST"])
def revert(request: HttpRequest, layer: str, feature_id: int) -> JsonResponse:
    """POST {version, expected_version, comment?}: the feature as it was at `version`, if it is still at
    `expected_version` (409 with the current feature if not)."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    body = _body(request)
    try:
        restored = editing.feature_revert(layer=catalog_layer, feature_id=feature_id, user=request.user,
                                          to_version=_body_int(body, "version"),
                                          expected_version=_body_int(body, "expected_version"),
                                          comment=_comment(body))
    except ValidationFailed as error:
        return _problems(error)
    except editing.StaleFeature as stale:
        return _stale(stale, hidden_fields(request.user, catalog_layer))
    return JsonResponse(feature_json(restored, hidden_fields(request.user, catalog_layer)),
                        json_dumps_params={"ensure_ascii": False})


@require_http_methods(["POST"])
def revert_run(request: HttpRequest, layer: str, run_id: int) -> JsonResponse:
    """POST {comment?, force?}: undo a whole ingest run in this layer (409 when a feature it touched changed
    since; force, for data administrators, undoes those changes too)."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    body = _body(request)
    count = editing.run_revert(layer=catalog_layer, run_id=run_id, user=request.user, comment=_comment(body),
                               force=_flag(body, "force"))
    return JsonResponse({"reverted_features": count})
