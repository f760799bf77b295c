"""WFS 2.0 FILTER: the one shape desktop clients send for a map window (GDAL's WFS driver turns -spat into it):
a FES 2.0 Filter holding one BBOX with a gml:Envelope. It is read here and handed on as the BBOX parameter,
so MapServer never parses request XML. Any other filter is refused (OperationNotSupported): the OGC API –
Features door (/ogc) takes CQL2 for attribute filters.
"""
import xml.etree.ElementTree as ET

from opendata.ows.errors import OwsError, invalid

FES = "{http://www.opengis.net/fes/2.0}"
OGC = "{http://www.opengis.net/ogc}"
GML_NAMESPACES = ("{http://www.opengis.net/gml/3.2}", "{http://www.opengis.net/gml}")
MAX_FILTER_LENGTH = 2000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _refused() -> OwsError:
    return OwsError("OperationNotSupported", "Chỉ hỗ trợ FILTER gồm một BBOX (gml:Envelope); hãy dùng tham số BBOX, "
                    "hoặc CQL2 qua OGC API – Features tại /ogc/.",
                    "Only a FILTER holding one BBOX (gml:Envelope) is supported; use the BBOX parameter, or CQL2 "
                    "through OGC API – Features at /ogc/.", locator="FILTER")


def filter_bbox(raw: str) -> str:
    """'minx,miny,maxx,maxy[,crs]' (as written in the envelope's axis order) from a BBOX-only FES filter."""
    if len(raw) > MAX_FILTER_LENGTH:
        raise invalid("FILTER", f"FILTER quá dài (tối đa {MAX_FILTER_LENGTH} ký tự).",
                      f"FILTER is too long (at most {MAX_FILTER_LENGTH} characters).")
    if "<!" in raw or "<?" in raw.lstrip()[2:]:  # no DTD, entity or processing instruction (XXE, entity bombs)
        raise invalid("FILTER", "FILTER không được chứa DTD hay thực thể XML.", "FILTER may not carry a DTD or XML entities.")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise invalid("FILTER", "FILTER không phải XML hợp lệ.", "FILTER is not well-formed XML.") from None
    if _local(root.tag) != "Filter" or len(root) != 1 or _local(root[0].tag) != "BBOX":
        raise _refused()
    envelopes = [node for node in root[0] if _local(node.tag) == "Envelope"]
    others = [node for node in root[0] if _local(node.tag) not in ("Envelope", "ValueReference", "PropertyName")]
    if len(envelopes) != 1 or others:
        raise _refused()
    envelope = envelopes[0]
    corners = {_local(node.tag): (node.text or "").split() for node in envelope}
    lower, upper = corners.get("lowerCorner"), corners.get("upperCorner")
    if not lower or not upper or len(lower) != 2 or len(upper) != 2 or len(corners) != 2:
        raise invalid("FILTER", "gml:Envelope cần lowerCorner và upperCorner, mỗi góc 2 số.",
                      "gml:Envelope needs lowerCorner and upperCorner of 2 numbers each.")
    crs = envelope.get("srsName")
    if crs is not None and ("," in crs or not crs.strip()):
        raise invalid("FILTER", "srsName của gml:Envelope không hợp lệ.", "The gml:Envelope's srsName is not valid.")
    return ",".join([*lower, *upper] + ([crs] if crs else []))
