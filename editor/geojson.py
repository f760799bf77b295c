"""Parsing geometry input from the editor: GeoJSON through shapely (never handed to GDAL as text)."""
import json
import math

import shapely
from django.contrib.gis.geos import GEOSGeometry

from layers.errors import InvalidParameter
from layers.validation import MAX_VERTICES

ALLOWED_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _bad(message_vi: str, message_en: str) -> InvalidParameter:
    return InvalidParameter(message_vi, message_en, parameter="geometry")


def parse_geometry(value) -> GEOSGeometry:
    """A GeoJSON geometry object (WGS 84 lon/lat) as a GEOS geometry; InvalidParameter when it is not one."""
    if not isinstance(value, dict) or value.get("type") not in ALLOWED_TYPES:
        raise _bad("Hình học phải là một đối tượng GeoJSON (Point, LineString, Polygon hoặc Multi…).",
                   "The geometry must be a GeoJSON Point, LineString, Polygon or Multi… object.")
    try:
        geom = shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        raise _bad("Không đọc được hình học GeoJSON.", "Could not read the GeoJSON geometry.") from None
    coords = shapely.get_coordinates(geom)
    if len(coords) > MAX_VERTICES:
        raise _bad("Hình học có quá nhiều đỉnh.", f"The geometry has more than {MAX_VERTICES} vertices.")
    if not coords.size or not all(math.isfinite(v) for v in coords.ravel()):
        raise _bad("Tọa độ rỗng, NaN hoặc vô hạn.", "Empty, NaN or infinite coordinates.")
    if not ((-180 <= coords[:, 0]) & (coords[:, 0] <= 180) & (-90 <= coords[:, 1]) & (coords[:, 1] <= 90)).all():
        raise _bad("Tọa độ phải là kinh độ, vĩ độ (WGS 84).", "Coordinates must be longitude, latitude (WGS 84).")
    return GEOSGeometry(memoryview(shapely.to_wkb(geom, include_srid=False)), srid=4326)
