"""Planners' pages: the editor, a feature's history, the difference between two times, and the audit."""
import csv
import datetime as dt
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ingest.models import IngestRun
from layers import editing
from layers.errors import DomainError, InvalidParameter, NotFound
from layers.history import clean_comment, feature_versions, layer_diff, parse_moment
from layers.params import check_text, parse_int
from layers.querystring import check_known_params, parse_choice
from layers.models import FeatureVersion, Layer, PermissionChange
from layers.permissions import can_edit, edit_area, is_data_admin
from layers.personal import redact_diff, redact_versions, visible_schema
from layers.selectors import layer_for, layers_visible_to
from layers.spreadsheet import safe_row
from layers.tileurls import tile_url_template

AUDIT_ROWS = 500


@login_required
@require_GET
def editor_index(request: HttpRequest) -> HttpResponse:
    """The layers this user may edit."""
    layers = [layer for layer in layers_visible_to(request.user).filter(kind="vector") if can_edit(request.user, layer)]
    return render(request, "editor/index.html", {"layers": layers})


@login_required
@require_GET
def editor_page(request: HttpRequest, layer: str) -> HttpResponse:
    """The map editor of one layer: draw, reshape, move, split, delete; attributes from the layer's schema."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    if not can_edit(request.user, catalog_layer):
        raise PermissionDenied
    area = edit_area(request.user, catalog_layer)
    config = {
        "slug": catalog_layer.slug, "geometryType": catalog_layer.geometry_type,
        "schema": visible_schema(request.user, catalog_layer),
        "extent": catalog_layer.extent.extent if catalog_layer.extent else None,
        "area": json.loads(area.geojson) if area is not None else None,
        "language": request.LANGUAGE_CODE, "strings": _editor_strings(),
        "context": [{"slug": ctx.slug, "url": tile_url_template("vector-tile", ctx.slug), "color": color}
                    for ctx, color in _context_layers(request.user, catalog_layer)],
    }
    return render(request, "editor/editor.html", {"layer": catalog_layer, "config": config})


def _context_layers(user, edited: Layer) -> list[tuple[Layer, str]]:
    """Boundaries and roads drawn under the edited layer, when the user may see them."""
    colours = {"admin-units": "#6a3d9a", "road-reserves": "#969696"}
    layers = layers_visible_to(user).filter(slug__in=colours).exclude(pk=edited.pk)
    return [(layer, colours[layer.slug]) for layer in layers]


def _editor_strings() -> dict[str, str]:
    return {
        "zoomIn": _("Zoom in (level 15 or closer) to load features for editing."),
        "loaded": _("%(count)s features loaded. Click one to edit it, or draw a new one."),
        "truncated": _("Too many features here: zoom in further to see them all."),
        "featureLabel": _("Feature %(id)s, version %(version)s"),
        "newFeature": _("New feature: fill in its attributes and save."),
        "saved": _("Saved as version %(version)s."),
        "deleted": _("Deleted. The history keeps it; a revert brings it back."),
        "confirmDelete": _("Delete this feature?"),
        "failed": _("The save failed. Check your connection and try again."),
        "splitHint": _("Draw a line across the feature; click its last point again (or press Enter) to finish, Esc to cancel."),
        "splitDone": _("Split into %(count)s parts: %(parts)s."),
        "splitPart": _("no. %(id)s"),
        "splitParcel": _("no. %(id)s (parcel %(number)s)"),
        "splitCancelled": _("Split cancelled."),
    }


@require_GET
def history_page(request: HttpRequest, layer: str, feature_id: int) -> HttpResponse:
    """A feature's timeline: who changed what and when, with its shapes over time on a map."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    stored = [v for v in feature_versions(feature_id) if v["layer_id"] == catalog_layer.pk]
    versions = redact_versions(request.user, catalog_layer, stored)  # may leave out changes of hidden fields only
    if not versions:
        raise NotFound("Không có lịch sử cho đối tượng này.", "No history for this feature.")
    shapes = [{"version": v["version"], "op": v["op"], "geometry": json.loads(v["geojson"])} for v in versions]
    may_edit = can_edit(request.user, catalog_layer)
    for v in versions:
        v["can_revert"] = may_edit and _revertable(v, versions)
        v["expected_version"] = stored[-1]["version"]  # a revert applies only to the state this page shows
    return render(request, "editor/history.html", {
        "layer": catalog_layer, "feature_id": feature_id, "versions": versions, "shapes": shapes, "can_edit": may_edit,
    })


def _revertable(version: dict, versions: list[dict]) -> bool:
    """Every kept state but the current one (a delete row is no state; after a delete, the last state is revertable)."""
    return version["op"] != "delete" and not (version is versions[-1])


@require_POST
def revert_page(request: HttpRequest, layer: str, feature_id: int) -> HttpResponse:
    """The history page's revert button: the feature back at a version, then the history again with a message."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    if not can_edit(request.user, catalog_layer):
        raise editing.EditForbidden()
    version = _posted_int(request, "version")
    expected = _posted_int(request, "expected_version")
    try:
        restored = editing.feature_revert(layer=catalog_layer, feature_id=feature_id, to_version=version,
                                          expected_version=expected, user=request.user,
                                          comment=clean_comment(request.POST.get("comment")))
    except DomainError as error:  # its own status (403, 409, 400) on an error page that leads back to the history
        error.back_url = reverse("feature-history", args=[catalog_layer.slug, feature_id])  # rendered by gisportal.errors
        raise
    messages.success(request, _("Reverted to version %(version)s: the feature is now at version %(current)s.")
                     % {"version": version, "current": restored.version})
    return redirect("feature-history", layer=catalog_layer.slug, feature_id=feature_id)


def _posted_int(request: HttpRequest, name: str) -> int:
    value = request.POST.get(name, "")
    if not value.strip():
        raise InvalidParameter(f"{name} phải là số nguyên.", f"{name} must be a whole number.", parameter=name)
    return parse_int(value, parameter=name, default=0, minimum=0, maximum=2**31 - 1)


def _moment(text: str | None, name: str, default: dt.datetime) -> dt.datetime:
    return parse_moment(text, name) if text else default


DIFF_PAGE = 1000  # features per diff page (GeoJSON or HTML) unless ?limit= says fewer
DIFF_MAX_PAGE = 10000


def _query_int(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    return parse_int(request.GET.get(name), parameter=name, default=default, minimum=low, maximum=high)


DIFF_PARAMS = ("from", "to", "limit", "after", "f")
AUDIT_PARAMS = ("kind", "layer", "user", "format")
AUDIT_KINDS = ("ingest", "edit", "permission")


def _diff_page(catalog_layer: Layer, since: dt.datetime, until: dt.datetime, *, after: int, limit: int):
    """One page of the diff and the id to read on from (None on the last page)."""
    diff = layer_diff(catalog_layer, since, until, after=after, limit=limit + 1)
    ids = sorted(row["id"] for rows in diff.values() for row in rows)
    if len(ids) <= limit:
        return diff, None
    last = ids[limit - 1]
    return {change: [row for row in rows if row["id"] <= last] for change, rows in diff.items()}, last


@require_GET
def diff_page(request: HttpRequest, layer: str) -> HttpResponse:
    """Added, removed and changed features between two times (?from=&to=), as a page or as GeoJSON (?f=geojson),
    DIFF_PAGE features at a time (?limit=, up to DIFF_MAX_PAGE) with a link to the next page (?after=)."""
    check_known_params(request.GET, DIFF_PARAMS)
    as_geojson = parse_choice(request.GET.get("f"), parameter="f", choices=("html", "geojson"), default="html") == "geojson"
    catalog_layer = layer_for(request.user, layer, kind="vector")
    now = timezone.now()
    since = _moment(request.GET.get("from"), "from", now - dt.timedelta(days=1))
    until = _moment(request.GET.get("to"), "to", now)
    if since > until:
        raise InvalidParameter("'from' phải trước 'to'.", "'from' must come before 'to'.", parameter="from")
    limit = _query_int(request, "limit", DIFF_PAGE, 1, DIFF_MAX_PAGE)
    after = _query_int(request, "after", 0, 0, 10 ** 12)
    diff, next_after = _diff_page(catalog_layer, since, until, after=after, limit=limit)
    diff = redact_diff(request.user, catalog_layer, diff)
    # The next page keeps the resolved times: a default 'to' of now must not move between pages.
    next_url = None if next_after is None else "?" + urlencode({
        "from": since.isoformat(), "to": until.isoformat(), "limit": limit, "after": next_after,
        **({"f": "geojson"} if as_geojson else {})})
    if as_geojson:
        features = [{"type": "Feature", "id": row["id"], "geometry": json.loads(row["geojson"]),
                     "properties": {"change": change, "area_before_m2": row["area_before"], "area_after_m2": row["area_after"],
                                    "version_before": row["version_before"], "version_after": row["version_after"],
                                    **(row["properties"] or row["properties_before"] or {})}}
                    for change, rows in diff.items() for row in rows]
        links = [{"rel": "next", "type": "application/geo+json", "href": request.build_absolute_uri(next_url)}] \
            if next_url else []
        response = JsonResponse({"type": "FeatureCollection", "features": features, "from": since.isoformat(),
                                 "to": until.isoformat(), "numberReturned": len(features), "links": links},
                                json_dumps_params={"ensure_ascii": False})
        if next_url:
            response["Link"] = f'<{request.build_absolute_uri(next_url)}>; rel="next"'
        return response
    return render(request, "editor/diff.html", {"layer": catalog_layer, "diff": diff, "since": since, "until": until,
                                                "next_url": next_url})


def _audit_rows(request: HttpRequest):
    check_known_params(request.GET, AUDIT_PARAMS)
    kind = parse_choice(request.GET.get("kind"), parameter="kind", choices=AUDIT_KINDS)
    slug, who = check_text(request.GET.get("layer", ""), "layer"), check_text(request.GET.get("user", ""), "user")
    rows = []
    if kind in ("", "ingest"):
        runs = IngestRun.objects.select_related("user")
        runs = runs.filter(layer_slug=slug) if slug else runs
        runs = runs.filter(user__username=who) if who else runs
        rows += [{"at": r.started_at, "kind": "ingest", "layer": r.layer_slug, "user": r.user.username if r.user else "",
                  "what": f"{r.mode} {r.file_name}: {r.status}, {r.loaded_count} loaded, {r.rejected_count} rejected",
                  "ref": r.pk} for r in runs[:AUDIT_ROWS]]
    if kind in ("", "edit"):
        edits = FeatureVersion.objects.filter(run_id__isnull=True, changed_by__isnull=False).select_related("layer", "changed_by")
        edits = edits.filter(layer__slug=slug) if slug else edits
        edits = edits.filter(changed_by__username=who) if who else edits
        rows += [{"at": v.changed_at, "kind": "edit", "layer": v.layer.slug, "user": v.changed_by.username,
                  "what": f"{v.op} #{v.feature_id} v{v.version} {v.comment}".strip(), "ref": v.feature_id}
                 for v in edits.order_by("-changed_at")[:AUDIT_ROWS]]
    if kind in ("", "permission"):
        changes = PermissionChange.objects.select_related("by")
        changes = changes.filter(layer_slug=slug) if slug else changes
        changes = changes.filter(by__username=who) if who else changes
        rows += [{"at": c.at, "kind": "permission", "layer": c.layer_slug, "user": c.by.username if c.by else "",
                  "what": f"{c.action} {c.subject} {'edit' if c.can_edit else 'view'}"
                          f"{' +personal' if c.can_see_personal else ''} {c.area_label}".strip(), "ref": c.pk}
                 for c in changes[:AUDIT_ROWS]]
    return sorted(rows, key=lambda r: r["at"], reverse=True)[:AUDIT_ROWS]


@login_required
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    """Ingest runs, edits and permission changes for data administrators; ?format=csv exports."""
    if not is_data_admin(request.user):
        raise PermissionDenied
    rows = _audit_rows(request)
    if parse_choice(request.GET.get("format"), parameter="format", choices=("csv",)) == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        response.write("\ufeff")  # Excel opens UTF-8 Vietnamese correctly with a BOM
        writer = csv.writer(response)
        writer.writerow(["at", "kind", "layer", "user", "what"])
        for row in rows:  # comments, file names and usernames are free text: formula-like cells are quoted
            writer.writerow(safe_row([row["at"].isoformat()] + [row[k] for k in ("kind", "layer", "user", "what")]))
        return response
    kinds = [("ingest", _("Ingest runs")), ("edit", _("Edits")), ("permission", _("Permission changes"))]
    return render(request, "editor/audit.html", {"rows": rows, "layers": Layer.objects.values_list("slug", flat=True),
                                                 "query": request.GET, "kinds": kinds})

