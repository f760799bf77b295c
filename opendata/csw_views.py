"""The /csw door: CSW 2.0.2 and 3.0 (GET key-value pairs or POST XML), answered by embedded pycsw.

Public records only, for every caller (harvested records end up in other catalogues). Fair use and CORS as
the other open data doors; every refusal is an OWS ExceptionReport with vi/en text and a 4xx.
"""
import logging

from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.views.decorators.csrf import csrf_exempt

from gisportal import cors
from layers.errors import DomainError
from opendata import csw
from opendata.csw_guard import (CswError, check_kvp, check_post, exception_report, page_cost, parse_xml,
                                 version_of)
from opendata.fairuse import admit

log = logging.getLogger(__name__)
METHODS = ("GET", "HEAD", "POST", "OPTIONS")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _respond(status: int, body: bytes, content_type: str, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=content_type)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "public, max-age=60" if status == 200 else "no-store"
    return response


def _refused(error: DomainError, version: str) -> HttpResponse:
    return _respond(*exception_report(error, version=version), headers=error.headers())


def _xml_body(request: HttpRequest) -> bytes | None:
    """The POSTed XML (None for GET); a form's fields are refused (pycsw reads XML bodies only)."""
    if request.method != "POST":
        return None
    try:
        if request.content_type not in FORM_TYPES:
            return request.body
    except RawPostDataException:  # a middleware read it as form fields already
        pass
    raise CswError("NoApplicableCode", "Gửi yêu cầu CSW bằng POST dưới dạng XML; cặp khóa-giá trị thì dùng GET.",
                   "POST a CSW request as XML; key-value pairs go by GET.")


def _answer(request: HttpRequest) -> HttpResponse:
    """Fair use, the guard's checks, then pycsw."""
    admit(request)
    values = check_kvp(dict(request.GET.lists()))
    body = _xml_body(request)
    if body is not None:
        values = check_post(parse_xml(body))
    if page_cost(values):  # a large page costs as much as the pages of 100 it holds (RateLimited: 429)
        admit(request, cost=page_cost(values))
    status, content, content_type = csw.answer(url=request.build_absolute_uri("/csw"), meta=request.META,
                                               query_string=request.META.get("QUERY_STRING", ""), body=body,
                                               version=_version(request))
    return _respond(status, content, content_type)


def _version(request: HttpRequest) -> str:
    body = None
    if request.method == "POST" and request.content_type not in FORM_TYPES:
        try:
            body = request.body
        except RawPostDataException:
            pass
    return version_of({k.lower(): v for k, v in request.GET.items()}, body)


@csrf_exempt
def csw_endpoint(request: HttpRequest) -> HttpResponse:
    """GetCapabilities, DescribeRecord, GetRecords, GetRecordById, GetDomain (no Transaction, no Harvest)."""
    if request.method == "OPTIONS":
        return cors.add_headers(cors.preflight())
    if request.method not in METHODS:
        error = CswError("OperationNotSupported", f"Phương thức {request.method[:10]} không được phép; dùng GET hoặc POST.",
                         f"Method {request.method[:10]} is not allowed; use GET or POST.", status=405)
        response = _refused(error, _version(request))
        response["Allow"] = ", ".join(METHODS)
        return cors.add_headers(response)
    try:
        response = _answer(request)
    except DomainError as error:  # a refusal of the guard, fair use (429) or a bad token (401)
        response = _refused(error, _version(request))
    return cors.add_headers(response)
