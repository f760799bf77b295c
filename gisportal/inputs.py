"""A guard every request passes before any view: no NUL character in its path, query or JSON body.

PostgreSQL text cannot hold NUL (psycopg2 raises, jsonb refuses \\u0000), and no parameter of the
platform has a use for it, so a request carrying one is refused here, once, with a 400 from the error
table, instead of a 500 in whichever door first hands the value to the database.
"""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gisportal.errors import domain_error_response
from layers.errors import InvalidParameter

_JSON_TYPES = ("application/json", "application/geo+json")
MAX_SCANNED_BODY = 10 * 1024 * 1024  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE refuses larger bodies anyway


def _nul_in(request: HttpRequest) -> str | None:
    """The name of the first part of the request that carries a NUL, or None."""
    if "\x00" in request.path:
        return "path"
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key[:60].replace("\x00", "")
    content_type = request.META.get("CONTENT_TYPE", "")
    length = int(request.META.get("CONTENT_LENGTH") or 0) if request.META.get("CONTENT_LENGTH", "").isdigit() else 0
    if content_type.startswith(_JSON_TYPES) and 0 < length <= MAX_SCANNED_BODY:
        if b"\\u0000" in request.body or b"\x00" in request.body:
            return "body"
    if content_type.startswith("application/x-www-form-urlencoded"):
        for key, values in request.POST.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return key[:60].replace("\x00", "")
    return None


class NulCharacterMiddleware:
    """400 for a request with a NUL character in its path, query, form or JSON body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where is not None:
            return domain_error_response(request, InvalidParameter(
                f"Yêu cầu chứa ký tự NUL (ở {where}), không được phép.",
                f"The request contains a NUL character (in {where}), which is not allowed.", parameter=where))
        return self.get_response(request)
