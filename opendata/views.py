"""Catalog pages at /data/: the list with filters and search, and one page per layer."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_GET, require_http_methods

from layers.models import Category
from layers.selectors import layer_for
from layers.styling import drawing_stamp
from opendata import catalog, dcat, fairuse, services, tokenuse
from opendata.extents import readable_extent
from opendata.filecrs import FORMAT_NOTES
from opendata.models import ApiToken
from opendata.fairuse import public_api
from opendata.params import check_text, parse_int


def _thumbnail_url(layer) -> str | None:
    """The layer's preview drawn on the server (tiles/thumbnails.py), keyed so that a change gives a new URL."""
    if layer.extent is None:
        return None
    return f"{reverse('layer-thumbnail', kwargs={'layer': layer.slug})}?v={drawing_stamp(layer)}"


def _entry(user, layer) -> dict:
    return {"layer": layer, "downloads": catalog.downloads(layer), "thumbnail": _thumbnail_url(layer),
            "extent": readable_extent(user, layer)}


@require_GET
def catalog_page(request: HttpRequest) -> HttpResponse:
    """Every visible layer with its metadata, preview, readable extent and downloads; ?q= ?category= ?keyword=."""
    text = check_text(request.GET.get("q", ""), "q")[:200]
    category = request.GET.get("category", "")
    category = category if category in Category.values else ""
    keyword = check_text(request.GET.get("keyword", ""), "keyword")[:64]
    layers = list(catalog.catalog_layers(request.user, text=text, category=category, keyword=keyword))
    entries = [_entry(request.user, layer) for layer in layers]
    return render(request, "opendata/catalog.html", {
        "entries": entries, "q": text, "category": category, "keyword": keyword,
        "categories": Category.choices, "keywords": catalog.all_keywords(request.user),
        "format_notes": FORMAT_NOTES,
    })


@require_GET
def layer_page(request: HttpRequest, layer: str) -> HttpResponse:
    """One layer: metadata, preview, readable extent, downloads with sizes, the first 50 rows, API links."""
    catalog_layer = layer_for(request.user, layer)
    fields, rows = catalog.preview(catalog_layer) if catalog_layer.kind == "vector" else ([], [])
    response = render(request, "opendata/layer.html", {
        **_entry(request.user, catalog_layer), "fields": fields, "rows": rows,
        "preview_rows": catalog.PREVIEW_ROWS, "format_notes": FORMAT_NOTES,
    })
    if not catalog_layer.is_public:
        response["Cache-Control"] = "private, no-store"
    return response


@public_api
def catalog_jsonld(request: HttpRequest) -> JsonResponse:
    """DCAT-AP catalog as JSON-LD."""
    response = JsonResponse(dcat.dcat_ap(request.build_absolute_uri("/")), content_type="application/ld+json",
                            json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    return response


@public_api
def data_json(request: HttpRequest) -> JsonResponse:
    """DCAT-US (Project Open Data) catalog."""
    response = JsonResponse(dcat.dcat_us(request.build_absolute_uri("/")), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "public, max-age=300"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    """The user's API tokens: create one (its key is shown once), revoke one."""
    new_key = None
    if request.method == "POST":
        if request.POST.get("revoke"):
            token_id = parse_int(request.POST["revoke"], parameter="revoke", default=0, minimum=1, maximum=2**63 - 1)
            services.api_token_revoke(user=request.user, token_id=token_id)
        else:
            _, new_key = services.api_token_create(user=request.user, name=request.POST.get("name", ""))
    anon, token_limit, window = fairuse.limits()
    response = render(request, "opendata/tokens.html", {
        "tokens": tokenuse.with_last_use(list(ApiToken.objects.filter(user=request.user, revoked=False))),
        "new_key": new_key,
        "anon_limit": anon, "token_limit": token_limit, "window": window,
    })
    response["Cache-Control"] = "private, no-store"
    return response
