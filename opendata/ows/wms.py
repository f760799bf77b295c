"""WMS 1.3.0 requests checked into MapServer's query: GetCapabilities, GetMap, GetFeatureInfo, GetLegendGraphic."""
from django.conf import settings

from opendata.ows.catalog import OwsLayer
from opendata.ows.errors import OwsError, invalid, missing
from opendata.ows.params import (INFO_FORMATS, MAP_FORMATS, bbox, bbox_text, bgcolor, boolean, choice, crs, geojson_crs,
                                 integer, layer_name, names)

VERSION = "1.3.0"
LANGUAGES = {"vie": "vie", "vi": "vie", "eng": "eng", "en": "eng"}
MAX_LEGEND_SIZE = 512
MAX_FEATURE_COUNT = 50


def language(kvp: dict[str, str]) -> dict[str, str]:
    """LANGUAGE (vie or eng; Vietnamese when absent) as MapServer's multilingual metadata reads it."""
    return {"LANGUAGE": choice(kvp.get("LANGUAGE"), "LANGUAGE", LANGUAGES, default="vie")}


def _version(kvp: dict[str, str]) -> None:
    version = kvp.get("VERSION", VERSION).strip()
    if version not in ("1.3.0", "1.3"):
        raise OwsError("InvalidParameterValue", "Chỉ hỗ trợ WMS phiên bản 1.3.0.", "Only WMS version 1.3.0 is supported.",
                       locator="VERSION")


def _map_view(kvp: dict[str, str], layers: dict[str, OwsLayer], *, image_format: str | None = None) -> dict[str, str]:
    """LAYERS, STYLES, CRS, BBOX, WIDTH, HEIGHT, FORMAT, TRANSPARENT, BGCOLOR: shared by GetMap and GetFeatureInfo."""
    wanted = [layer_name(n, layers, parameter="LAYERS", code="LayerNotDefined", root=True)
              for n in names(kvp.get("LAYERS"), "LAYERS")]
    styles = kvp.get("STYLES", "")
    style_list = [s.strip() for s in styles.split(",")] if styles.strip(", ") else []
    if style_list and (len(style_list) != len(wanted) or any(s.lower() not in ("", "default") for s in style_list)):
        raise OwsError("StyleNotDefined", "STYLES phải để trống hoặc là 'default' cho mỗi lớp.",
                       "STYLES must be empty or 'default' for each layer.", locator="STYLES")
    reference, crs_name = crs(kvp.get("CRS"), "CRS", wms=True)
    box = bbox(kvp.get("BBOX"), reference)
    width = integer(kvp.get("WIDTH"), "WIDTH", default=-1, minimum=1, maximum=settings.OWS_MAX_SIZE)
    height = integer(kvp.get("HEIGHT"), "HEIGHT", default=-1, minimum=1, maximum=settings.OWS_MAX_SIZE)
    if width < 1 or height < 1:
        raise OwsError("MissingParameterValue", "Thiếu WIDTH hoặc HEIGHT.", "WIDTH or HEIGHT is missing.",
                       locator="WIDTH" if width < 1 else "HEIGHT")
    if width * height > settings.OWS_MAX_PIXELS:
        raise invalid("WIDTH", f"Ảnh quá lớn: WIDTH × HEIGHT tối đa {settings.OWS_MAX_PIXELS} điểm ảnh.",
                      f"Image too large: WIDTH × HEIGHT is at most {settings.OWS_MAX_PIXELS} pixels.")
    query = {"LAYERS": ",".join(wanted), "STYLES": ",".join("" for _ in wanted), "CRS": crs_name,
             "BBOX": bbox_text(box), "WIDTH": str(width), "HEIGHT": str(height),
             "FORMAT": choice(kvp.get("FORMAT"), "FORMAT", MAP_FORMATS, code="InvalidFormat", default=image_format),
             "TRANSPARENT": boolean(kvp.get("TRANSPARENT"), "TRANSPARENT")}
    colour = bgcolor(kvp.get("BGCOLOR"))
    if colour:
        query["BGCOLOR"] = colour
    return query


def _feature_info(kvp: dict[str, str], layers: dict[str, OwsLayer]) -> dict[str, str]:
    query = _map_view(kvp, layers, image_format="image/png")  # GetFeatureInfo needs no FORMAT (WMS 1.3.0 §7.4.3)
    drawn = set(query["LAYERS"].split(","))
    asked = [layer_name(n, layers, parameter="QUERY_LAYERS", code="LayerNotDefined", root=True)
             for n in names(kvp.get("QUERY_LAYERS"), "QUERY_LAYERS")]
    if not set(asked) <= drawn:
        raise OwsError("LayerNotQueryable", "QUERY_LAYERS phải nằm trong LAYERS.", "QUERY_LAYERS must be among LAYERS.",
                       locator="QUERY_LAYERS")
    i = integer(kvp.get("I"), "I", default=-1, minimum=0, maximum=int(query["WIDTH"]) - 1)
    j = integer(kvp.get("J"), "J", default=-1, minimum=0, maximum=int(query["HEIGHT"]) - 1)
    if i < 0 or j < 0:
        raise OwsError("InvalidPoint", "Thiếu I hoặc J (điểm ảnh được hỏi).", "I or J (the pixel asked about) is missing.",
                       locator="I" if i < 0 else "J")
    query.update(QUERY_LAYERS=",".join(asked), I=str(i), J=str(j),
                 INFO_FORMAT=choice(kvp.get("INFO_FORMAT"), "INFO_FORMAT", INFO_FORMATS, code="InvalidFormat",
                                    default="application/vnd.ogc.gml"),
                 FEATURE_COUNT=str(integer(kvp.get("FEATURE_COUNT"), "FEATURE_COUNT", default=1, minimum=1,
                                           maximum=MAX_FEATURE_COUNT)))
    if query["INFO_FORMAT"] == "geojson":
        geojson_crs(crs(query["CRS"], "CRS", wms=True)[0], "CRS")
    return query


def _legend(kvp: dict[str, str], layers: dict[str, OwsLayer]) -> dict[str, str]:
    if not kvp.get("LAYER", "").strip():
        raise missing("LAYER")
    name = layer_name(kvp["LAYER"], layers, parameter="LAYER", code="LayerNotDefined")
    style = kvp.get("STYLE", "").strip()
    if style.lower() not in ("", "default"):
        raise OwsError("StyleNotDefined", "STYLE phải để trống hoặc là 'default'.", "STYLE must be empty or 'default'.",
                       locator="STYLE")
    query = {"LAYER": name, "SLD_VERSION": "1.1.0", "FORMAT": choice(kvp.get("FORMAT"), "FORMAT",
                                                                      {"image/png": "image/png", "png": "image/png"},
                                                                      code="InvalidFormat", default="image/png")}
    for side in ("WIDTH", "HEIGHT"):
        if kvp.get(side):
            query[side] = str(integer(kvp[side], side, default=20, minimum=1, maximum=MAX_LEGEND_SIZE))
    return query


def parse_wms(operation: str, kvp: dict[str, str], layers: dict[str, OwsLayer]) -> dict[str, str]:
    """MapServer's query for a WMS request (SERVICE, VERSION, REQUEST and the operation's own parameters)."""
    base = {"SERVICE": "WMS", "VERSION": VERSION, **language(kvp)}
    if operation == "GETCAPABILITIES":
        return {**base, "REQUEST": "GetCapabilities"}
    _version(kvp)
    if operation == "GETMAP":
        return {**base, "REQUEST": "GetMap", **_map_view(kvp, layers), "EXCEPTIONS": "XML"}
    if operation == "GETFEATUREINFO":
        return {**base, "REQUEST": "GetFeatureInfo", **_feature_info(kvp, layers), "EXCEPTIONS": "XML"}
    return {**base, "REQUEST": "GetLegendGraphic", **_legend(kvp, layers)}
