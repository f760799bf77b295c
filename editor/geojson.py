"""Parsing geometry input from the editor: GeoJSON through shapely (never handed to GDAL as text)."""
import json

import shapely
from django.contrib.gis.geos import GEOSGeometry

from layers.errors import InvalidParameter
from layers.validation import MAX_VERTICES
from layers.params import MAX_JSON_DEPTH, check_lonlat_array, json_depth

ALLOWED_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _bad(message_vi: str, message_en: str) -> InvalidParameter:
    return InvalidParameter(message_vi, message_en, parameter="geometry")


def parse_geometry(value) -> GEOSGeometry:
    """A GeoJSON geometry object (WGS 84 lon/lat) as a GEOS geometry; InvalidParameter when it is not one."""
    if not isinstance(value, dict) or not isinstance(value.get("type"), str) or value["type"] not in ALLOWED_TYPES:
        raise _bad("Hình học phải là một đối tượng GeoJSON (Point, LineString, Polygon hoặc Multi…).",
                   "The geometry must be a GeoJSON Point, LineString, Polygon or Multi… object.")
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
