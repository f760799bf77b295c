"""The one CORS policy of the public doors (tiles, TileJSON, styles, glyphs, sprite, OGC API, downloads, DCAT,
/ows): any origin may read them, as MapLibre, OpenLayers, QGIS Web clients and other agencies' portals do.

Never Access-Control-Allow-Credentials: a cross-origin read is always anonymous, so a restricted layer a
signed-in user could see here is not readable by another site in their name (it answers 404 there).
"""
import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gisportal.errors import domain_error_response
from layers.errors import DomainError

METHODS = ("GET", "HEAD", "OPTIONS")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    # ETag and Content-Encoding let a client revalidate and size what it cached; Content-Range and Accept-Ranges
    # are read by range readers (pmtiles.js, flatgeobuf's client: gisportal/ranges.py); the rest are the API's.
    "Access-Control-Expose-Headers": "ETag, Content-Encoding, Content-Length, Content-Range, Accept-Ranges, "
                                     "Last-Modified, Content-Crs, Content-Disposition, Link, "
                                     "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, "
                                     "OGC-NumberMatched-Estimated, X-Changes-Cursor",
}


def add_headers(response: HttpResponse) -> HttpResponse:
    """The policy's headers on an answer (a view's own values kept)."""
    for name, value in CORS_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def preflight() -> HttpResponse:
    """204 for an OPTIONS preflight: the methods and request headers a client may send."""
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Methods"] = ", ".join(METHODS)
    response["Access-Control-Allow-Headers"] = ("Accept, Accept-Encoding, Authorization, If-None-Match, If-Range, Range, "
                                                "X-API-Key")
    response["Access-Control-Max-Age"] = "86400"
    return response


def open_cors(view):
    """Answers preflights and adds the CORS headers to every answer of the view, errors included."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = preflight()
        else:
            try:
                response = view(request, *args, **kwargs)
            except DomainError as error:  # rendered here so that the error carries the headers too
                response = domain_error_response(request, error)
        return add_headers(response)

    wrapper.allowed_methods = METHODS  # read by gisportal.errors.MethodMiddleware
    return wrapper


# Paths whose every answer is open to other origins, errors from middleware and the router included.
PUBLIC_PREFIXES = ("/tiles/", "/ogc", "/ows", "/data/", "/data.json")


class PublicCorsMiddleware:
    """The policy's headers on every answer under a public prefix (a 400 for a NUL, a router 404 …), so a
    MapLibre or OpenLayers page on another site can read why it was refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PUBLIC_PREFIXES) and not request.path.startswith("/data/tokens/"):
            add_headers(response)
        return response
