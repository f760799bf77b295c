"""The search box: suggestions as you type, and the same results as a page."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from layers.search import clean_query, search
from portal.lookup_views import parcel_url


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
