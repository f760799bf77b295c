"""Parsing geometry input from the editor: GeoJSON through shapely (never handed to GDAL as text)."""
import json

import shapely
from django.contrib.gis.geos import GEOSGeometry

from layers.errors import InvalidParameter
from layers.validation import MAX_VERTICES
from layers.params import MAX_JSON_DEPTH, check_lonlat_array, json_depth, parse_crs

ALLOWED_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _bad(message_vi: str, message_en: str) -> InvalidParameter:
    return InvalidParameter(message_vi, message_en, parameter="geometry")


def _crs_name(crs) -> str | None:
    """The CRS a GeoJSON 2008 `crs` member names ({"type": "name", "properties": {"name": …}} or
    {"type": "EPSG", "properties": {"code": …}}), or None when it names none that can be read."""
    if not isinstance(crs, dict) or not isinstance(crs.get("properties"), dict):
        return None
    kind, properties = crs.get("type"), crs["properties"]
    if kind == "name" and isinstance(properties.get("name"), str):
        return properties["name"]
    if kind == "EPSG" and type(properties.get("code")) in (int, str):
        return f"EPSG:{properties['code']}"
    return None


def check_crs_member(crs, *, parameter: str = "crs") -> None:
    """A `crs` member may only name WGS 84 lon/lat (CRS84 or EPSG:4326): the editor reads no other
    coordinates, and reading EPSG:3857 metres as degrees would store the wrong place without a word."""
    if crs is None:
        return
    name = _crs_name(crs)
    try:
        srid = parse_crs(name, parameter=parameter).srid if name and name.strip() else None
    except InvalidParameter:
        srid = None
    if srid != 4326:
        shown = (name or "?")[:60]
        raise InvalidParameter(
            f"Thành viên crs ({shown}) không được hỗ trợ: chỉ nhận tọa độ WGS 84 kinh độ/vĩ độ (CRS84, EPSG:4326); "
            "hãy chuyển tọa độ sang WGS 84 hoặc bỏ crs.",
            f"The crs member ({shown}) is not supported: only WGS 84 longitude/latitude (CRS84, EPSG:4326) is read; "
            "transform the coordinates to WGS 84 or leave crs out.", parameter=parameter)


def parse_geometry(value) -> GEOSGeometry:
    """A GeoJSON geometry object (WGS 84 lon/lat) as a GEOS geometry; InvalidParameter when it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str) or value["type"] not in ALLOWED_TYPES:
        raise _bad("Hình học phải là một đối tượng GeoJSON (Point, LineString, Polygon hoặc Multi…).",
                   "The geometry must be a GeoJSON Point, LineString, Polygon or Multi… object.")
    check_crs_member(value.get("crs"), parameter="geometry")
    try:
        text = json.dumps(value, allow_nan=False)
        if json_depth(text.encode()) > MAX_JSON_DEPTH:  # GEOS's reader recurses per level as well
            raise ValueError("nested too deeply")
        geom = shapely.from_geojson(text)
    except (shapely.errors.GEOSException, ValueError, TypeError, RecursionError):
        raise _bad("Không đọc được hình học GeoJSON.", "Could not read the GeoJSON geometry.") from None
    coords = shapely.get_coordinates(geom)
    if len(coords) > MAX_VERTICES:
        raise _bad("Hình học có quá nhiều đỉnh.", f"The geometry has more than {MAX_VERTICES} vertices.")
    check_lonlat_array(coords, parameter="geometry")
    return GEOSGeometry(memoryview(shapely.to_wkb(geom, include_srid=False)), srid=4326)
