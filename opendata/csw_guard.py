"""What /csw refuses before pycsw sees it, and the one renderer of CSW exception reports (vi and en, 4xx).

Bodies: at most MAX_BODY bytes, parsed by lxml without entities, DTDs or network (a DOCTYPE is refused
outright: XXE and entity expansion need one). Parameters, as key-value pairs or as the request element's
attributes: bounded text, maxRecords 0..MAX_RECORDS, startPosition 1.., known outputSchema, outputFormat,
elementSetName and resultType; ResponseHandler (pycsw would send the answer elsewhere) and the SRU/OAI-PMH
modes are refused. pycsw's own reports are re-rendered with a Vietnamese text first and status 400.
"""
import json
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from layers.errors import DomainError
from layers.params import check_text, parse_bbox, parse_int, parse_number
from opendata import safe_xml

MAX_BODY = 256 * 1024
MAX_RECORDS = 500
CSW2 = "http://www.opengis.net/cat/csw/2.0.2"
CSW3 = "http://www.opengis.net/cat/csw/3.0"
GMD = "http://www.isotc211.org/2005/gmd"
GML_NAMESPACES = frozenset({"http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2"})
MAX_COORDINATES = 2000
OUTPUT_SCHEMAS = frozenset({CSW2, CSW3, GMD})
OUTPUT_FORMATS = frozenset({"application/xml", "text/xml", "application/json"})
ELEMENT_SETS = frozenset({"brief", "summary", "full"})
RESULT_TYPES = frozenset({"hits", "results", "validate"})
OWS = {"2.0.2": ("http://www.opengis.net/ows", "1.2.0", "ows/1.0.0/owsExceptionReport.xsd"),
       "3.0.0": ("http://www.opengis.net/ows/2.0", "2.0.0", "ows/2.0/owsExceptionReport.xsd")}


# What pycsw's English says, in Vietnamese, by OGC exception code.
_VI = {
    "MissingParameterValue": "Thiếu tham số bắt buộc",
    "InvalidParameterValue": "Giá trị tham số không hợp lệ",
    "OperationNotSupported": "Thao tác không được hỗ trợ (danh mục chỉ cho đọc)",
    "VersionNegotiationFailed": "Phiên bản không được hỗ trợ; dùng 2.0.2 hoặc 3.0.0",
    "OperationParsingFailed": "Không đọc được yêu cầu",
    "NotFound": "Không tìm thấy bản ghi",
    "NoApplicableCode": "Không xử lý được yêu cầu",
}


class CswError(DomainError):
    """A refused CSW request: an OGC exception code, the parameter (locator), vi/en text."""

    code = "csw-exception"

    def __init__(self, ogc_code: str, message_vi: str, message_en: str, *, locator: str = "", status: int = 400,
                 retry_after: int | None = None):
        super().__init__(message_vi, message_en, parameter=locator or None, retry_after=retry_after)
        self.ogc_code = ogc_code
        self.status = status


def _invalid(locator: str, vi: str, en: str) -> CswError:
    return CswError("InvalidParameterValue", vi, en, locator=locator)


def version_of(kvp: dict[str, str], body: bytes | None) -> str:
    """2.0.2 or 3.0.0, as pycsw decides it (for the exception report's namespace)."""
    if body is not None:
        return "2.0.2" if b"cat/csw/2.0.2" in body else "3.0.0"
    return "2.0.2" if kvp.get("version") == "2.0.2" or "2.0.2" in kvp.get("acceptversions", "") else "3.0.0"


def parse_xml(body: bytes) -> etree._Element:
    """A request body as an element: size-capped, no DTD, no entities, no network."""
    if len(body) > MAX_BODY:
        raise CswError("NoApplicableCode", f"Yêu cầu quá lớn (tối đa {MAX_BODY // 1024} KB).",
                       f"The request is too large (at most {MAX_BODY // 1024} KB).", status=413)
    try:
        return safe_xml.parse(body)
    except safe_xml.UnsafeXml as error:
        raise CswError("NoApplicableCode", error.message_vi, error.message_en) from None


def _int(value: str, locator: str, low: int, high: int) -> None:
    """The shared whole-number parser (layers.params), its refusal as a CSW exception."""
    try:
        parse_int(value.strip(), parameter=locator, default=low, minimum=low, maximum=high)
    except DomainError as error:
        raise _invalid(locator, error.message_vi, error.message_en) from None


def page_cost(values: dict[str, str]) -> int:
    """Fair-use units a GetRecords costs beyond its first: one per further 100 records asked (as /ows and /ogc/)."""
    asked = (values.get("maxrecords") or "").strip()
    return max(0, (int(asked) - 1) // 100) if asked.isdigit() else 0


def _check_values(values: dict[str, str]) -> dict[str, str]:
    """The checks shared by key-value requests and POSTed request elements (keys in lower case)."""
    if "responsehandler" in values:
        raise CswError("OperationNotSupported", "Không hỗ trợ trả lời không đồng bộ (ResponseHandler).",
                       "Asynchronous answers (ResponseHandler) are not supported.", locator="responsehandler")
    if "maxrecords" in values and values["maxrecords"] != "":
        _int(values["maxrecords"], "maxRecords", 0, MAX_RECORDS)
    if "startposition" in values and values["startposition"] != "":
        _int(values["startposition"], "startPosition", 1, 10**9)
    choices = (("outputschema", "outputSchema", OUTPUT_SCHEMAS), ("outputformat", "outputFormat", OUTPUT_FORMATS),
               ("elementsetname", "ElementSetName", ELEMENT_SETS), ("resulttype", "resultType", RESULT_TYPES))
    for key, locator, allowed in choices:
        value = values.get(key)
        if value and value.strip() not in allowed:
            raise _invalid(locator, f"Giá trị {locator} không được hỗ trợ: dùng {', '.join(sorted(allowed))}.",
                           f"Unsupported {locator}: use one of {', '.join(sorted(allowed))}.")
    return values


def check_kvp(query: dict[str, list[str]]) -> dict[str, str]:
    """Key-value parameters (lower-cased keys), checked; CswError otherwise."""
    kvp: dict[str, str] = {}
    for key, values in query.items():
        lower = check_text(key, "parameter", max_length=64).lower()
        if len(values) > 1 or lower in kvp:
            raise _invalid(key[:64], f"Tham số {key[:64]} bị lặp lại.", f"Parameter {key[:64]} is repeated.")
        kvp[lower] = _text(values[0], key[:64])
    if kvp.get("mode"):
        raise _invalid("mode", "Chỉ hỗ trợ CSW (không SRU, OpenSearch hay OAI-PMH).",
                       "Only CSW is offered (no SRU, OpenSearch or OAI-PMH mode).")
    if kvp.get("bbox"):
        try:
            parse_bbox(kvp["bbox"], parameter="bbox", antimeridian=False)
        except DomainError as error:
            raise _invalid("bbox", error.message_vi, error.message_en) from None
    _check_values(kvp)
    check_constraint(kvp)
    return kvp


def _text(value: str, locator: str) -> str:
    try:
        return check_text(value, locator, max_length=8000)
    except DomainError as error:
        raise _invalid(locator, error.message_vi, error.message_en) from None


def check_geometries(root: etree._Element) -> None:
    """Coordinates and distances in a filter are numbers and nothing else: pycsw 2.6 writes a filter's gml:pos,
    posList and corners into its SQL text as they come (only its literals are bound). Its schema check
    (xs:double) stops text there today; this one does not depend on it, and refuses NaN and infinities too."""
    count = 0
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element)
        is_gml = name.namespace in GML_NAMESPACES
        if not (is_gml or name.localname == "Distance") or not (element.text or "").strip():
            continue
        tokens = element.text.replace(",", " ").split()
        count += len(tokens)
        if count > MAX_COORDINATES or not all(_is_number(t) for t in tokens):
            raise _invalid("constraint", "Tọa độ và khoảng cách trong bộ lọc phải là số hữu hạn "
                           f"(tối đa {MAX_COORDINATES} số).",
                           f"Coordinates and distances in a filter must be finite numbers (at most {MAX_COORDINATES}).")


def _is_number(token: str) -> bool:
    try:
        parse_number(token, parameter="constraint")  # the shared parser: ASCII digits, finite, bounded length
    except DomainError:
        return False
    return True


def check_constraint(kvp: dict[str, str]) -> None:
    """A FILTER constraint given as a parameter: parsed and checked as a POSTed one is."""
    if kvp.get("constraint") and kvp.get("constraintlanguage", "").upper() == "FILTER":
        check_geometries(parse_xml(kvp["constraint"].encode("utf-8")))


def check_post(root: etree._Element) -> dict[str, str]:
    """The request element's attributes and parts, checked like key-value parameters."""
    if not isinstance(root.tag, str):
        raise _invalid("request", "Yêu cầu không hợp lệ.", "Invalid request.")
    values = {etree.QName(key).localname.lower(): _text(value, etree.QName(key).localname)
              for key, value in root.attrib.items()}
    for element in root.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname in ("ResponseHandler", "ElementSetName"):
            values[etree.QName(element).localname.lower()] = (element.text or "").strip()
    check_geometries(root)
    return _check_values(values)


def exception_report(error: DomainError, *, version: str) -> tuple[int, bytes, str]:
    """(status, body, content type): an OWS ExceptionReport of the version's namespace, vi text then en."""
    namespace, report_version, xsd = OWS.get(version, OWS["3.0.0"])
    code = getattr(error, "ogc_code", None) or ("InvalidParameterValue" if error.parameter else "NoApplicableCode")
    locator = f" locator={quoteattr(error.parameter)}" if error.parameter else ""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<ows:ExceptionReport xmlns:ows="{namespace}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'version="{report_version}" xml:lang="vi" '
            f'xsi:schemaLocation="{namespace} http://schemas.opengis.net/{xsd}">\n'
            f'  <ows:Exception exceptionCode={quoteattr(code)}{locator}>\n'
            f'    <ows:ExceptionText xml:lang="vi">{escape(error.message_vi)}</ows:ExceptionText>\n'
            f'    <ows:ExceptionText xml:lang="en">{escape(error.message_en)}</ows:ExceptionText>\n'
            '  </ows:Exception>\n</ows:ExceptionReport>\n')
    return error.status, body.encode("utf-8"), "application/xml; charset=UTF-8"


@dataclass
class _Parsed:
    code: str
    locator: str
    text: str


def _read_pycsw_json(content: bytes) -> _Parsed:
    """pycsw's report asked with outputFormat=application/json: its XML turned into a dict by xmltodict."""
    try:
        found = [json.loads(content)]
    except ValueError:
        return _Parsed("NoApplicableCode", "", "")
    while found:  # breadth first: the first "…Exception" object, wherever the namespace prefix put it
        node = found.pop(0)
        for key, value in (node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()):
            if isinstance(key, str) and key.rsplit(":", 1)[-1] == "Exception" and isinstance(value, dict):
                texts = [v for k, v in value.items() if k.rsplit(":", 1)[-1] == "ExceptionText"]
                return _Parsed(str(value.get("@exceptionCode", "NoApplicableCode")), str(value.get("@locator", "")),
                               " ".join(str(t.get("#text", "")) if isinstance(t, dict) else str(t) for t in texts))
            found.append(value)
    return _Parsed("NoApplicableCode", "", "")


def _read_pycsw(content: bytes) -> _Parsed:
    # outputFormat=application/json makes pycsw write its reports as JSON too (they were read as XML: a 500)
    if not content.lstrip()[:1] == b"<":
        return _read_pycsw_json(content)
    try:
        root = safe_xml.parse(content)
    except safe_xml.UnsafeXml:
        return _Parsed("NoApplicableCode", "", "")
    exception = next((e for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "Exception"),
                     None)
    if exception is None:
        return _Parsed("NoApplicableCode", "", "")
    text = " ".join(" ".join(t.itertext()).strip() for t in exception
                    if isinstance(t.tag, str) and etree.QName(t).localname == "ExceptionText")
    return _Parsed(exception.get("exceptionCode", "NoApplicableCode"), exception.get("locator", ""), text)


def report_from_pycsw(content: bytes, *, version: str, status: int) -> tuple[int, bytes, str]:
    """pycsw's report with a Vietnamese text first; 404 stays, anything else is the caller's 400."""
    parsed = _read_pycsw(content)
    vi = _VI.get(parsed.code, _VI["NoApplicableCode"])
    where = f" ({parsed.locator})" if parsed.locator else ""
    english = " ".join(parsed.text.split())[:400] or "The request could not be processed."
    error = CswError(parsed.code, f"{vi}{where}.", english, locator=parsed.locator,
                     status=404 if status == 404 else 400)
    return exception_report(error, version=version)
