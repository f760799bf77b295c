"""A guard every request passes before any view: no NUL character in its path, query or body.

PostgreSQL text cannot hold NUL (psycopg2 raises, jsonb refuses \\u0000), and no parameter of the
platform has a use for it, so a request carrying one is refused here, once, with a 400 from the error
table, instead of a 500 in whichever door first hands the value to the database.

The body is scanned whatever its Content-Type says: a JSON API reads its body as JSON even when the
client calls it text/plain, Application/JSON or nothing at all. Form posts are scanned as Django reads
them (a multipart text field may be base64 or quoted-printable on the wire); files are not scanned.
"""
import re
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from gisportal.errors import domain_error_response
from layers.errors import BadRequest, InvalidParameter

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
MAX_SCANNED_BODY = 10 * 1024 * 1024  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE refuses larger bodies anyway
# A JSON \u0000 escape: one preceded by an even run of backslashes ("\\u0000" is the text \u0000, no NUL).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _first_nul(pairs: Iterable[tuple[str, list]]) -> str | None:
    """The name of the first field whose name or text value carries a NUL, or None."""
    for key, values in pairs:
        if "\x00" in key or any(isinstance(value, str) and "\x00" in value for value in values):
            return key[:60].replace("\x00", "")
    return None


def _body_length(request: HttpRequest) -> int:
    length = request.META.get("CONTENT_LENGTH") or ""
    return int(length) if length.isascii() and length.isdigit() else 0


def _nul_in_body(request: HttpRequest) -> str | None:
    """Where the body carries a NUL: a form field's name, "body", or None."""
    parsed_form = request.method == "POST" and request.content_type in FORM_TYPES
    if parsed_form:
        where = _first_nul(request.POST.lists()) or _first_nul((key, []) for key in request.FILES)
        if where is not None or request.content_type == "multipart/form-data":
            return where  # a multipart body is files and fields: the fields are scanned, the files are data
    if 0 < _body_length(request) <= MAX_SCANNED_BODY:
        body = request.body
        if b"\x00" in body or _JSON_NUL.search(body):
            return "body"
    return None


def _nul_in(request: HttpRequest) -> str | None:
    """The name of the first part of the request that carries a NUL, or None."""
    if "\x00" in request.path:
        return "path"
    where = _first_nul(request.GET.lists())
    return where if where is not None else _nul_in_body(request)


class NulCharacterMiddleware:
    """400 for a request with a NUL character in its path, query, form fields or body (any Content-Type)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            where = _nul_in(request)
        except MultiPartParserError:  # a form Django cannot read (no boundary, broken parts) is the client's error
            return domain_error_response(request, BadRequest(
                "Không đọc được biểu mẫu gửi lên (multipart hỏng).", "The submitted form cannot be read (broken multipart).",
                parameter="body"))
        if where is not None:
            return domain_error_response(request, InvalidParameter(
                f"Yêu cầu chứa ký tự NUL (ở {where}), không được phép.",
                f"The request contains a NUL character (in {where}), which is not allowed.", parameter=where))
        return self.get_response(request)
