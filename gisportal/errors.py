"""Rendering the one table of errors (layers.errors): a styled page for people, JSON for machines.

Django's own refusals are mapped onto the same table here: handler400/403/404/500 (urls.py), the CSRF
failure view (settings.CSRF_FAILURE_VIEW), and 405s from require_http_methods or View.http_method_not_allowed,
which MethodMiddleware answers before the CSRF check (a write to a read-only API is a 405, not a CSRF page).
"""
from collections.abc import Callable
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import get_language

from gisportal.vary import accept_header
from layers.errors import BadRequest, CsrfFailed, DomainError, Forbidden, MethodNotAllowed, NotFound

# Paths whose callers are programs: they get JSON whatever their Accept header says.
MACHINE_PATHS = ("/tiles/", "/ogc/", "/api/")
OWS_PATH = "/ows"  # errors there are OGC exception reports (opendata.ows.errors)
MACHINE_SUFFIXES = (".json", ".jsonld", ".geojson", ".gpkg", ".csv", ".kml", ".zip", ".pbf", ".png", ".webp", ".fgb",
                    ".parquet", ".pmtiles", "/changes", ".atom")  # "/changes", ".atom": the change feed (opendata/changefeed.py, atom.py)
_HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


def wants_html(request: HttpRequest) -> bool:
    """A person's browser on a page (APIs, tiles, downloads and OGC answer JSON)."""
    path = request.path
    machine = path.startswith(MACHINE_PATHS) or path.endswith(MACHINE_SUFFIXES)
    return not machine and "text/html" in accept_header(request)


def is_ows(request: HttpRequest) -> bool:
    """A request to the WMS/WFS door (/ows, /ows/ and anything under it)."""
    return request.path == OWS_PATH or request.path.startswith(OWS_PATH + "/")


CSW_PATHS = ("/csw", "/csw/")  # errors there are CSW's OWS exception reports (opendata.csw_guard)


def domain_error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    """A DomainError as a page in the visitor's language, or as JSON {code, description, description_vi, parameter}.
    A form's view sets `error.back_url`: the refusal is then a page (whatever the Accept header) leading back."""
    back_url = getattr(error, "back_url", None)
    if is_ows(request):  # WMS/WFS clients read OGC exception reports: the same error, rendered their way
        from opendata.ows.errors import report_for

        return report_for(request, error)
    if request.path in CSW_PATHS:  # catalogue clients read OWS exception reports, whatever refused the request
        from django.http import HttpResponse

        from opendata.csw_guard import exception_report, version_of

        status, body, content_type = exception_report(error, version=version_of(
            {k.lower(): v for k, v in request.GET.items()}, None))
        response = HttpResponse(body, status=status, content_type=content_type)
        for name, value in error.headers().items():
            response[name] = value
        return response
    if wants_html(request) or back_url:
        language = get_language() or "vi"
        response = render(request, "error.html", {"message": error.message(language), "status": error.status,
                                                  "code": error.code, "back_url": back_url}, status=error.status)
    else:
        body = {"code": error.code, "description": error.message_en, "description_vi": error.message_vi}
        if error.parameter:
            body["parameter"] = error.parameter
        response = JsonResponse(body, status=error.status, json_dumps_params={"ensure_ascii": False})
    for name, value in error.headers().items():
        response[name] = value
    return response


class DomainErrorMiddleware:
    """Turns any DomainError a view raises into its response (views stay free of status codes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return domain_error_response(request, exception)
        return None


def allowed_methods(view: Callable) -> list[str] | None:
    """The HTTP methods a view answers, when it says so: an `allowed_methods` attribute, a class-based
    view's handlers, or the list captured by Django's require_http_methods family (require_GET,
    require_POST, require_safe) anywhere in its chain of decorators. None when unknown."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return [m.upper() for m in view_class.http_method_names if hasattr(view_class, m)]
    seen = 0
    while view is not None and seen < 20:
        seen += 1
        declared = getattr(view, "allowed_methods", None)
        if declared:
            return list(declared)
        for cell in getattr(view, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if isinstance(value, (list, tuple)) and value and all(
                    isinstance(m, str) and m.upper() in _HTTP_METHODS for m in value):
                return [m.upper() for m in value]
        view = getattr(view, "__wrapped__", None)
    return None


class MethodMiddleware:
    """405 (from the table) for a method the view does not take, decided before the CSRF check; and
    Django's bare 403/405 responses replaced by the table's, so no answer is empty or English-only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and not getattr(response, "from_error_table", False):
            allowed = [m.strip() for m in response.get("Allow", "GET, HEAD").split(",") if m.strip()]
            response = _mark(domain_error_response(request, MethodNotAllowed(request.method or "", allowed)))
        elif response.status_code == 403 and not response.content and not response.streaming:
            response = _mark(domain_error_response(request, Forbidden()))
        return response

    def process_view(self, request: HttpRequest, view, args, kwargs):
        method = (request.method or "").upper()
        if method in ("GET", "HEAD", "OPTIONS"):
            return None  # let the view decide: OPTIONS is CORS's, and HEAD follows GET
        allowed = allowed_methods(view)
        if allowed is not None and method not in allowed:
            return _mark(domain_error_response(request, MethodNotAllowed(method, allowed)))
        return None


def _mark(response: HttpResponse) -> HttpResponse:
    response.from_error_table = True
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a write without its CSRF token. On a route that takes no writes at all,
    the answer is the 405 it would get without the check."""
    try:
        allowed = allowed_methods(resolve(request.path_info).func)
    except Resolver404:
        allowed = None
    if allowed is not None and (request.method or "").upper() not in allowed:
        return domain_error_response(request, MethodNotAllowed(request.method or "", allowed))
    return domain_error_response(request, CsrfFailed())


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """handler400: SuspiciousOperation, BadRequest, a malformed request."""
    return domain_error_response(request, BadRequest())


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    """handler403: PermissionDenied raised anywhere."""
    return domain_error_response(request, Forbidden())


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """handler404: Http404 and unknown URLs."""
    return domain_error_response(request, NotFound())


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database or disk fault outside any view (middleware, session save) is its 503/507;
    anything else plain text or JSON in both languages (nothing here may fail in turn)."""
    from gisportal.middleware import fault_response  # the middleware imports this module

    response = fault_response(request, sys.exc_info()[1])  # Django calls this inside its except block
    if response is not None:
        return response
    if not wants_html(request):
        return JsonResponse({"code": "server-error", "description": "Server error. Please try again later.",
                             "description_vi": "Lỗi máy chủ. Vui lòng thử lại sau."}, status=500,
                            json_dumps_params={"ensure_ascii": False})
    return HttpResponse(
        "Lỗi máy chủ. Vui lòng thử lại sau. / Server error. Please try again later.",
        status=500, content_type="text/plain; charset=utf-8",
    )
