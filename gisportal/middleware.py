"""Project middleware: a Content-Security-Policy on the portal's own host, Vietnamese first, 503 when the database is away, 507 when a disk is full."""
import logging
from collections.abc import Callable

import psycopg2
from django import db
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation

from ingest.storage import is_disk_full
from layers.errors import InsufficientStorage, ServiceUnavailable

log = logging.getLogger(__name__)


def _policy() -> str:
    img = "'self' data: blob:"
    if settings.GISPORTAL_BASEMAP_URL:  # an outside basemap only when configured
        img += " https:"
    return (
        "default-src 'self'; "
        f"img-src {img}; "
        "style-src 'self' 'unsafe-inline'; "  # Leaflet sets inline styles on map panes
        "script-src 'self'; "
        "connect-src 'self'; "
        "font-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
    )


class ContentSecurityPolicyMiddleware:
    """Adds the CSP header to HTML responses that do not set their own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = _policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class VietnameseFirstLocaleMiddleware:
    """Vietnamese unless the visitor chose English with the switch (cookie), whatever the browser says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or request.GET.get("lang")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Cookie")
        return response


# The database is away (restart, failover, network): a short 503 that says when to retry, never a 500.
DATABASE_RETRY_AFTER = 5


def is_database_outage(error: BaseException | None) -> bool:
    """Connection-level database errors (refused, dropped, closed) in Django's wrapping or psycopg2's own."""
    return isinstance(error, (db.OperationalError, db.InterfaceError, psycopg2.OperationalError,
                              psycopg2.InterfaceError))


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """503 + Retry-After, in vi/en: JSON for machines, a page that needs no database (no session, no user) for people."""
    from gisportal.errors import domain_error_response, wants_html

    error = ServiceUnavailable("Cơ sở dữ liệu tạm thời không truy cập được; vui lòng thử lại sau vài giây.",
                               "The database is briefly unavailable; please try again in a few seconds.",
                               retry_after=DATABASE_RETRY_AFTER)
    if wants_html(request):
        page = render_to_string("unavailable.html", {"message_vi": error.message_vi, "message_en": error.message_en})
        response = HttpResponse(page, status=error.status, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(error.retry_after)
    else:
        response = domain_error_response(request, error)
    response["Cache-Control"] = "no-store"  # a cache in front must not keep serving the outage
    return response


class ServiceFaultMiddleware:
    """A view's database connection error → 503 + Retry-After; a full disk → 507 (errors outside views: errors.server_error)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return fault_response(request, exception)


def fault_response(request: HttpRequest, error: BaseException | None) -> HttpResponse | None:
    """The answer to a fault of the platform (database away, disk full), or None for any other error."""
    from gisportal.errors import domain_error_response

    if is_database_outage(error):
        log.warning("database unavailable on %s: %s", request.path, str(error).strip()[:200])
        return database_unavailable_response(request)
    if is_disk_full(error):
        log.error("disk full on %s: %s", request.path, error)
        return domain_error_response(request, InsufficientStorage())
    return None
