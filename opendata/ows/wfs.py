"""WFS 2.0 requests checked into MapServer's query: GetCapabilities, DescribeFeatureType, GetFeature, stored queries."""
from opendata.ows.catalog import OwsLayer
from opendata.ows.errors import OwsError, invalid, missing
from opendata.ows.filters import filter_bbox
from opendata.ows.wms import language
from opendata.ows.params import (FEATURE_FORMATS, GET_BY_ID, GML32, bbox, bbox_text, choice, crs, geojson_crs, integer,
                                 layer_name, max_features, names, resource_ids)

VERSION = "2.0.0"
MAX_START = 1_000_000_000
DESCRIBE_FORMATS = {"application/gml+xml; version=3.2": GML32, "text/xml; subtype=gml/3.2.1": GML32,
                    "text/xml; subtype=gml/3.2": GML32, "application/gml+xml": GML32}


def _version(kvp: dict[str, str]) -> None:
    version = kvp.get("VERSION", VERSION).strip()
    if version not in ("2.0.0", "2.0"):
        raise OwsError("InvalidParameterValue", "Chỉ hỗ trợ WFS phiên bản 2.0.0.", "Only WFS version 2.0.0 is supported.",
                       locator="VERSION")


def _accept_versions(kvp: dict[str, str]) -> None:
    """ACCEPTVERSIONS (OWS Common §7.3.2): a list that must hold a version this server speaks."""
    raw = kvp.get("ACCEPTVERSIONS")
    if raw is not None and not {v.strip() for v in raw.split(",")} & {"2.0.0", "2.0"}:
        raise OwsError("VersionNegotiationFailed", "Không có phiên bản nào trong ACCEPTVERSIONS được hỗ trợ; "
                       "máy chủ dùng WFS 2.0.0.", "None of the ACCEPTVERSIONS is supported; this server speaks "
                       "WFS 2.0.0.", locator="ACCEPTVERSIONS")


def _type_names(kvp: dict[str, str], layers: dict[str, OwsLayer], *, required: bool) -> list[str]:
    raw = kvp.get("TYPENAMES", kvp.get("TYPENAME"))
    if raw is None or not raw.strip():
        if required:
            raise missing("TYPENAMES")
        return []
    return [layer_name(n, layers, parameter="TYPENAMES", code="InvalidParameterValue") for n in names(raw, "TYPENAMES")]


def _fields(raw: str, layer: OwsLayer, parameter: str) -> list[str]:
    allowed = {"feature_id", *(f.name for f in layer.fields)}
    out = []
    for item in names(raw.strip("()"), parameter, limit=200):
        name = item.split(":", 1)[1] if item.lower().startswith("ms:") else item
        if name not in allowed:
            raise invalid(parameter, f"Lớp {layer.name} không có trường '{name[:64]}'.",
                          f"Layer {layer.name} has no field '{name[:64]}'.")
        out.append(name)
    return out


def _sort(raw: str, layer: OwsLayer) -> str:
    out = []
    for item in names(raw, "SORTBY", limit=10):
        parts = item.split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC", "A", "D")):
            raise invalid("SORTBY", "SORTBY có dạng 'trường ASC|DESC'.", "SORTBY looks like 'field ASC|DESC'.")
        field = _fields(parts[0], layer, "SORTBY")[0]
        order = "DESC" if len(parts) == 2 and parts[1].upper() in ("DESC", "D") else "ASC"
        out.append(f"{field} {order}")
    return ",".join(out)


def _bbox(raw: str, parameter: str = "BBOX") -> str:
    """'minx,miny,maxx,maxy[,crs]': exactly 4 numbers and at most one CRS, no empty part."""
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) not in (4, 5) or not all(parts):
        raise invalid(parameter, "BBOX có dạng minx,miny,maxx,maxy[,hệ tọa độ]: 4 số, có thể thêm một hệ tọa độ.",
                      "BBOX looks like minx,miny,maxx,maxy[,crs]: 4 numbers, optionally one CRS.")
    reference_name = parts[4] if len(parts) == 5 else "urn:ogc:def:crs:EPSG::4326"  # the DefaultCRS: lat/lon
    reference, crs_name = crs(reference_name, parameter, wms=False)
    return f"{bbox_text(bbox(','.join(parts[:4]), reference, parameter))},{crs_name}"


def _geojson_crs(query: dict[str, str]) -> None:
    if query["OUTPUTFORMAT"] == "geojson" and query.get("SRSNAME"):
        geojson_crs(crs(query["SRSNAME"], "SRSNAME", wms=False)[0], "SRSNAME")


def _get_feature(kvp: dict[str, str], layers: dict[str, OwsLayer]) -> dict[str, str]:
    query: dict[str, str] = {}
    stored = kvp.get("STOREDQUERY_ID")
    if stored is not None:
        if stored.strip() != GET_BY_ID:
            raise invalid("STOREDQUERY_ID", f"Chỉ hỗ trợ truy vấn lưu sẵn {GET_BY_ID}.",
                          f"Only the stored query {GET_BY_ID} is supported.")
        ids = resource_ids(kvp.get("ID", ""), layers, "ID")
        if "," in ids:
            raise invalid("ID", "GetFeatureById nhận đúng một mã.", "GetFeatureById takes exactly one id.")
        query.update(STOREDQUERY_ID=GET_BY_ID, ID=ids)
    elif kvp.get("RESOURCEID"):
        query["RESOURCEID"] = resource_ids(kvp["RESOURCEID"], layers, "RESOURCEID")
    typenames = _type_names(kvp, layers, required=not query)
    if typenames:
        query["TYPENAMES"] = ",".join(typenames)
    box_parameter = "BBOX"
    if kvp.get("FILTER"):
        if kvp.get("BBOX"):
            raise invalid("FILTER", "Không dùng FILTER cùng BBOX.", "FILTER and BBOX are mutually exclusive.")
        kvp, box_parameter = {**kvp, "BBOX": filter_bbox(kvp["FILTER"])}, "FILTER"
    if kvp.get("BBOX"):
        if "RESOURCEID" in query:
            raise invalid(box_parameter, "Không dùng BBOX cùng RESOURCEID.", "BBOX and RESOURCEID are mutually exclusive.")
        query["BBOX"] = _bbox(kvp["BBOX"], box_parameter)
    if kvp.get("SRSNAME"):
        name = crs(kvp["SRSNAME"], "SRSNAME", wms=False)[1]
        if name.endswith("CRS84"):  # MapServer's WFS writes no CRS84; EPSG:4326 is the same datum, latitude first
            raise invalid("SRSNAME", "SRSNAME CRS84 không được hỗ trợ; dùng EPSG:4326 (vĩ độ trước) hoặc EPSG:3857.",
                          "SRSNAME CRS84 is not supported; use EPSG:4326 (latitude first) or EPSG:3857.")
        query["SRSNAME"] = name
    count_raw = kvp.get("COUNT", kvp.get("MAXFEATURES"))
    count = integer(count_raw, "COUNT", default=max_features(), minimum=1, maximum=MAX_START)
    query["COUNT"] = str(min(count, max_features()))  # the server's own page limit (announced in capabilities)
    start = integer(kvp.get("STARTINDEX"), "STARTINDEX", default=0, minimum=0, maximum=MAX_START)
    if start:
        query["STARTINDEX"] = str(start)
    for key, reader in (("PROPERTYNAME", _fields), ("SORTBY", None)):
        if kvp.get(key):
            if len(typenames) != 1:
                raise invalid(key, f"{key} chỉ dùng với đúng một lớp (TYPENAMES).",
                              f"{key} needs exactly one layer in TYPENAMES.")
            layer = layers[typenames[0]]
            query[key] = ",".join(_fields(kvp[key], layer, key)) if reader else _sort(kvp[key], layer)
    query["OUTPUTFORMAT"] = choice(kvp.get("OUTPUTFORMAT"), "OUTPUTFORMAT", FEATURE_FORMATS, default=GML32)
    if query["OUTPUTFORMAT"] != GML32 and len(typenames) > 1:  # a GeoJSON document holds one collection
        raise invalid("TYPENAMES", "GeoJSON chỉ chứa một lớp: hãy hỏi từng lớp, hoặc dùng GML 3.2.",
                      "GeoJSON holds one layer: ask for one layer at a time, or use GML 3.2.")
    _geojson_crs(query)
    query["RESULTTYPE"] = choice(kvp.get("RESULTTYPE"), "RESULTTYPE", {"results": "results", "hits": "hits"},
                                 default="results")
    return query


def parse_wfs(operation: str, kvp: dict[str, str], layers: dict[str, OwsLayer]) -> dict[str, str]:
    """MapServer's query for a WFS request (SERVICE, VERSION, REQUEST and the operation's own parameters)."""
    base = {"SERVICE": "WFS", "VERSION": VERSION}
    if operation == "GETCAPABILITIES":
        _accept_versions(kvp)
        return {**base, "REQUEST": "GetCapabilities", **language(kvp)}
    _version(kvp)
    if operation == "DESCRIBEFEATURETYPE":
        query = {**base, "REQUEST": "DescribeFeatureType"}
        typenames = _type_names(kvp, layers, required=False)
        if typenames:
            query["TYPENAMES"] = ",".join(typenames)
        query["OUTPUTFORMAT"] = choice(kvp.get("OUTPUTFORMAT"), "OUTPUTFORMAT", DESCRIBE_FORMATS, default=GML32)
        return query
    if operation == "GETFEATURE":
        return {**base, "REQUEST": "GetFeature", **_get_feature(kvp, layers)}
    if operation == "LISTSTOREDQUERIES":
        return {**base, "REQUEST": "ListStoredQueries"}
    return {**base, "REQUEST": "DescribeStoredQueries"}
