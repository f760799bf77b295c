"""ArcGIS REST FeatureServer layer reader: ?f=json metadata (objectIdField, maxRecordCount, spatial reference,
pagination), then /query pages in the layer's native spatial reference (f=json, Esri geometry converted here),
by resultOffset/resultRecordCount when the server pages, else by object id ranges."""
from __future__ import annotations

import shapely

from opendata.harvest_read import (Harvested, crs_from_epsg, fetch_json, garbage, keyed, max_features, page_size,
                                   too_many, unknown_crs, with_query)

# Esri's own codes for common EPSG CRSs (Web Mercator's 102100 and its kin).
ESRI_WKIDS = {102100: 3857, 102113: 3857, 104199: 4326}


def layer_url(url: str, remote_layer: str) -> str:
    base = url.split("?", 1)[0].rstrip("/")
    if remote_layer:
        if not remote_layer.isdigit():
            raise garbage(url, "mã lớp ArcGIS phải là số", "an ArcGIS layer id must be a number")
        base = f"{base}/{remote_layer}"
    if not base.rsplit("/", 1)[-1].isdigit():
        raise garbage(url, "thiếu mã lớp FeatureServer (--remote-layer)", "no FeatureServer layer id (--remote-layer)")
    return base


def _error(url: str, data: dict) -> None:
    """ArcGIS answers its errors with HTTP 200 and an "error" object."""
    if isinstance(data.get("error"), dict):
        message = str(data["error"].get("message") or data["error"].get("code"))[:200]
        raise garbage(url, f"lỗi ArcGIS: {message}", f"ArcGIS error: {message}")


def spatial_reference(url: str, meta: dict):
    """The layer's native CRS from its spatialReference (latestWkid first)."""
    reference = meta.get("sourceSpatialReference") or (meta.get("extent") or {}).get("spatialReference") or {}
    return _reference_crs(reference)


def _reference_crs(reference):
    if not isinstance(reference, dict):
        raise unknown_crs(str(reference))
    for name in ("latestWkid", "wkid"):
        wkid = reference.get(name)
        if isinstance(wkid, int):
            return crs_from_epsg(ESRI_WKIDS.get(wkid, wkid), f"wkid {wkid}")
    raise unknown_crs(str(reference)[:200])


def _rings_to_polygons(rings: list) -> shapely.Geometry:
    """Esri rings (outer clockwise, holes counter-clockwise) into a (Multi)Polygon, each hole in its outer ring."""
    shells, holes = [], []
    for ring in rings:
        linear = shapely.LinearRing([tuple(p[:2]) for p in ring])
        (holes if linear.is_ccw else shells).append(linear)
    polygons = [[shell, []] for shell in shells]
    for hole in holes:
        owner = next((p for p in polygons if shapely.Polygon(p[0]).contains(shapely.Point(hole.coords[0]))), None)
        if owner is None:
            polygons.append([shapely.LinearRing(list(hole.coords)[::-1]), []])  # a lone ccw ring: an outer one
        else:
            owner[1].append(hole)
    parts = [shapely.Polygon(shell, hs) for shell, hs in polygons]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def esri_geometry(url: str, value) -> shapely.Geometry | None:
    """An Esri JSON geometry (point, multipoint, polyline, polygon) as shapely."""
    if value is None:
        return None
    try:
        if "x" in value:
            return shapely.Point(float(value["x"]), float(value["y"]))
        if "points" in value:
            return shapely.MultiPoint([tuple(p[:2]) for p in value["points"]])
        if "paths" in value:
            paths = [shapely.LineString([tuple(p[:2]) for p in path]) for path in value["paths"]]
            return paths[0] if len(paths) == 1 else shapely.MultiLineString(paths)
        if "rings" in value:
            return _rings_to_polygons(value["rings"])
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException):
        pass
    raise garbage(url, "hình học Esri hỏng", "a broken Esri geometry")


def _page(url: str, key: str, rows: list, crs) -> bool:
    """One /query answer's features appended; whether the server says more remain."""
    data = fetch_json(url)
    _error(url, data)
    if data.get("spatialReference") and _reference_crs(data["spatialReference"]) != crs:
        raise garbage(url, "hệ tọa độ của trang khác của lớp", "a page in another spatial reference than the layer's")
    features = data.get("features")
    if not isinstance(features, list):
        raise garbage(url, "không có danh sách features", "no features list")
    for feature in features:
        if not isinstance(feature, dict):
            raise garbage(url, "đối tượng không hợp lệ", "a feature that is not an object")
        attributes = feature.get("attributes") or {}
        rows.append((keyed(url, attributes, key, attributes.get(key)), esri_geometry(url, feature.get("geometry"))))
    return bool(data.get("exceededTransferLimit"))


def _object_ids(base: str) -> list[int]:
    url = with_query(f"{base}/query", where="1=1", returnIdsOnly="true", f="json")
    data = fetch_json(url)
    _error(url, data)
    ids = data.get("objectIds") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise garbage(url, "objectIds không hợp lệ", "objectIds that are not integers")
    if len(ids) > max_features():
        raise too_many(len(ids))
    return sorted(ids)


def read(*, url: str, remote_layer: str, key: str) -> Harvested:
    """Every feature of the layer, paged, within the feature cap; `key` blank means the layer's objectIdField."""
    base = layer_url(url, remote_layer)
    meta = fetch_json(with_query(base, f="json"))
    _error(base, meta)
    object_id = meta.get("objectIdField") or next(
        (f.get("name") for f in meta.get("fields") or [] if isinstance(f, dict) and f.get("type") == "esriFieldTypeOID"), None)
    key = key or str(object_id or "")
    if not key:
        raise garbage(base, "lớp không có objectIdField", "the layer has no objectIdField")
    crs = spatial_reference(base, meta)
    out = Harvested(crs=crs, crs_name=f"EPSG:{crs.to_epsg()}", key=key)
    size = max(1, min(page_size(), int(meta.get("maxRecordCount") or page_size())))
    common = dict(where="1=1", outFields="*", returnGeometry="true", f="json")
    pages = (meta.get("advancedQueryCapabilities") or {}).get("supportsPagination")
    if pages:
        offset = 0
        while True:
            before = len(out.rows)
            more = _page(with_query(f"{base}/query", **common, orderByFields=f"{object_id or key} ASC",
                                    resultOffset=offset, resultRecordCount=size), key, out.rows, crs)
            if len(out.rows) > max_features():
                raise too_many(f"> {max_features()}")
            got = len(out.rows) - before
            if got == 0 or not (more or got >= size):
                return out
            offset += got
    ids = _object_ids(base)
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        _page(with_query(f"{base}/query", **common, objectIds=",".join(map(str, chunk))), key, out.rows, crs)
    return out
