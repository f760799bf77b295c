"""OGC exception reports: WMS 1.3.0 ServiceExceptionReport and OWS 1.1 ExceptionReport (WFS 2.0), vi and en.

Status: WFS 2.0 (OGC 09-025r2 §7.5, OWS Common table of codes) answers client errors with 400; WMS 1.3.0 does
not name a status and MapServer answers 200, but the platform answers every bad input with a 4xx, so /ows
gives 400 for both services (OGC clients read the XML either way). OperationNotSupported is 400 too, not
OWS Common's 501: it is the caller's request, not the server, that is wrong. A busy or failing MapServer is
503 with Retry-After (NoApplicableCode), and never shows MapServer's own text (it can name paths).
"""
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse

from layers.errors import DomainError

WMS_XML = "text/xml; charset=UTF-8"
OWS_XML = "application/xml; charset=UTF-8"


class OwsError(DomainError):
    """An OGC exception: `ogc_code` (InvalidParameterValue, LayerNotDefined…) and the parameter it is about."""

    status = 400
    code = "ows-exception"

    def __init__(self, ogc_code: str, message_vi: str, message_en: str, *, locator: str | None = None,
                 status: int = 400, retry_after: int | None = None):
        super().__init__(message_vi, message_en, parameter=locator, retry_after=retry_after)
        self.ogc_code = ogc_code
        self.status = status


def invalid(locator: str, vi: str, en: str) -> OwsError:
    return OwsError("InvalidParameterValue", vi, en, locator=locator)


def missing(locator: str) -> OwsError:
    return OwsError("MissingParameterValue", f"Thiếu tham số {locator}.", f"Parameter {locator} is missing.",
                    locator=locator)


def not_supported(locator: str, name: str) -> OwsError:
    name = name[:60]
    return OwsError("OperationNotSupported", f"Thao tác {name} không được hỗ trợ.",
                    f"Operation {name} is not supported.", locator=locator)


def busy(retry_after: int) -> OwsError:
    return OwsError("NoApplicableCode", "Máy chủ bản đồ đang bận. Vui lòng thử lại sau ít giây.",
                    "The map server is busy. Please try again in a few seconds.", status=503, retry_after=retry_after)


def failed() -> OwsError:
    return OwsError("NoApplicableCode", "Máy chủ bản đồ không trả lời được yêu cầu này. Vui lòng thử lại sau.",
                    "The map server could not answer this request. Please try again later.", status=503,
                    retry_after=30)


def ascii_upper(text: str) -> str:
    """Upper case of ASCII letters only: OGC keys are ASCII ('ſERVICE' is not SERVICE, as str.upper() says)."""
    return text.translate(_ASCII_UPPER)


_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
WMS_ONLY = ("GETMAP", "GETFEATUREINFO", "GETLEGENDGRAPHIC")


def service_of(params) -> str:
    """Which service a request is for, as far as it says: WMS for SERVICE=WMS, or without SERVICE for a WMS-only
    operation (WMS 1.3.0 §7.3.3 implies it for GetMap) or LAYERS; else WFS (whose report is OWS Common's)."""
    values = {ascii_upper(key): value for key, value in params.items()}
    service = ascii_upper(values.get("SERVICE", "").strip())
    if service:
        return "WMS" if service == "WMS" else "WFS"
    return "WMS" if ascii_upper(values.get("REQUEST", "").strip()) in WMS_ONLY or "LAYERS" in values else "WFS"


def ogc_code(error: DomainError) -> str:
    """The OGC exception code of any error of the table (an OwsError names its own)."""
    if isinstance(error, OwsError):
        return error.ogc_code
    if error.status == 405:
        return "OperationNotSupported"
    return "InvalidParameterValue" if error.status == 400 and error.parameter else "NoApplicableCode"


def report_for(request, error: DomainError) -> HttpResponse:
    """Any error of the table answered at /ows (a repeated parameter, a NUL, 404, 405, 429…) as OGC clients read it:
    the status and vi/en text from the error, the report of the request's service."""
    return report(error, service_of(request.GET))


def report(error: DomainError, service: str) -> HttpResponse:
    """The exception report of a service ('WMS': WMS 1.3.0; anything else: OWS 1.1 as WFS 2.0 uses)."""
    locator = f" locator={quoteattr(error.parameter)}" if error.parameter else ""
    if service == "WMS":
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<ServiceExceptionReport version="1.3.0" xmlns="http://www.opengis.net/ogc" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/ogc '
                'http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd">\n'
                f'<ServiceException code={quoteattr(ogc_code(error))}{locator}>{escape(error.message_vi)}\n'
                f'{escape(error.message_en)}</ServiceException>\n</ServiceExceptionReport>\n')
        content_type = WMS_XML
    else:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="2.0.0" xml:lang="vi" '
                'xsi:schemaLocation="http://www.opengis.net/ows/1.1 '
                'http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd">\n'
                f'  <ows:Exception exceptionCode={quoteattr(ogc_code(error))}{locator}>\n'
                f'    <ows:ExceptionText xml:lang="vi">{escape(error.message_vi)}</ows:ExceptionText>\n'
                f'    <ows:ExceptionText xml:lang="en">{escape(error.message_en)}</ows:ExceptionText>\n'
                '  </ows:Exception>\n</ows:ExceptionReport>\n')
        content_type = OWS_XML
    response = HttpResponse(body.encode("utf-8"), status=error.status, content_type=content_type)
    for name, value in error.headers().items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response
