"""The parts of a shapely result that the demo city wants, whatever type the operation returned.

A clip, intersection, difference, union or make_valid of polygons may return a Polygon, a MultiPolygon, a
GeometryCollection (a road strip touching the city's edge at a point gives polygon + point), an empty
geometry, or only lower-dimension pieces (a line grazing the edge). Every place in demo/ that uses such a
result goes through these helpers instead of assuming its type.
"""
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

_POLYGONAL = ("Polygon", "MultiPolygon")
_LINEAL = ("LineString", "MultiLineString", "LinearRing")


def flat_parts(geom: BaseGeometry | None) -> list[BaseGeometry]:
    """The simple (single) non-empty parts of any geometry, collections nested at any depth included."""
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type in ("Point", "LineString", "LinearRing", "Polygon"):
        return [geom]
    return [leaf for part in shapely.get_parts(geom) for leaf in flat_parts(part)]


def polygon_parts(geom: BaseGeometry | None) -> list[Polygon]:
    """Only the polygons of a result (points and lines from a clip have no area and are dropped)."""
    return [p for p in flat_parts(geom) if p.geom_type == "Polygon"]


def line_parts(geom: BaseGeometry | None) -> list[LineString]:
    """Only the lines of a result (points where a line grazes a polygon are dropped)."""
    return [LineString(p.coords) for p in flat_parts(geom) if p.geom_type in _LINEAL]


def polygonal(geom: BaseGeometry | None) -> Polygon | MultiPolygon:
    """The polygonal part of a result: a Polygon or MultiPolygon as given, else a MultiPolygon (maybe empty)."""
    if geom is not None and geom.geom_type in _POLYGONAL:
        return geom
    return MultiPolygon(polygon_parts(geom))


def main_polygon(geom: BaseGeometry | None) -> Polygon:
    """The largest polygon of a result, or an empty Polygon when it has none."""
    parts = polygon_parts(geom)
    return max(parts, key=lambda p: p.area) if parts else Polygon()


def lineal(geom: BaseGeometry | None) -> MultiLineString:
    """The lines of a result, merged where they join, always as one MultiLineString (maybe empty)."""
    parts = line_parts(geom)
    if not parts:
        return MultiLineString()
    return MultiLineString(line_parts(shapely.line_merge(MultiLineString(parts))))
