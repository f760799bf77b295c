"""How each download format declares a VN-2000 CRS so that the user's own GDAL and QGIS land on the official shift.

Found by experiment with the clients users have (GDAL 3.6.2 ogr2ogr, QGIS 3.22, PROJ 9.1), each file
reprojected to EPSG:4326 with their defaults and compared with PostGIS (tests/opendata/test_vn2000_clients.py):

- Whenever GDAL 3.6 sees an EPSG code for a VN-2000 CRS (an AUTHORITY in WKT1, an ID in WKT2, or a
  GeoPackage row with organization EPSG, whatever its srs_id), it rebuilds the CRS from the EPSG database
  and ogr2ogr picks EPSG:5194 ("VN-2000 to WGS 84 (1)"), 0.8 m from the official EPSG:6960. So no file
  may carry the code: the CRS travels as WKT1 with TOWGS84 and no authority.
- Shapefile: GDAL reads an OGC WKT1 .prj (it need not be ESRI WKT) and keeps TOWGS84 when the top level
  has no AUTHORITY; QGIS likewise. The standard datum name (Vietnam_2000) is kept for ArcGIS.
- GeoPackage: GDAL 3.6's reader drops TOWGS84 when the datum is one it knows (Vietnam_2000), so the
  datum gets a distinct name; the row's organization is NONE. QGIS then shows a custom CRS named
  "VN-2000 / TM-3 105-45" (no EPSG authid) and transforms with the official shift.
- CSV is one text file with a WKT column: it cannot carry a CRS (GDAL reads a .prj beside it only).
- GeoJSON is WGS 84 by RFC 7946; with ?crs= it carries the EPSG code, so readers pick their default shift.
"""
from layers.vn2000 import VN2000_CRS, crs_for

# Formats whose VN-2000 files carry the official shift, for the notes below.
EXACT_FORMATS = ("gpkg", "shp.zip")


def named_wkt(srid: int, *, datum: str = "VN-2000 (official towgs84, QD 05/2007/QD-BTNMT)") -> str:
    """WKT1 of the output CRS; VN-2000 codes carry their names and the official TOWGS84, never an EPSG code."""
    wkt = crs_for(srid).to_wkt("WKT1_GDAL")
    if srid not in VN2000_CRS:
        return wkt
    name = VN2000_CRS[srid][0]
    wkt = wkt.replace('PROJCS["unknown"', f'PROJCS["{name}"', 1).replace('GEOGCS["unknown"', 'GEOGCS["VN-2000"', 1)
    start = wkt.index('DATUM["') + 7
    return wkt[:start] + datum + wkt[wkt.index('"', start):]


def shapefile_prj(srid: int) -> str | None:
    """The .prj text for a VN-2000 code (OGC WKT1 with TOWGS84, datum Vietnam_2000), or None to keep GDAL's."""
    return named_wkt(srid, datum="Vietnam_2000") if srid in VN2000_CRS else None


def vn2000_note(srid: int, fmt: str) -> dict | None:
    """A vi/en note for a download or API response in VN-2000 whose format cannot carry the official shift."""
    if srid not in VN2000_CRS or fmt in EXACT_FORMATS:
        return None
    what = {"csv": ("CSV chỉ chứa tọa độ (cột WKT), không mang hệ tọa độ",
                    "CSV holds coordinates only (a WKT column), not the coordinate system")}.get(
        fmt, ("Định dạng này chỉ ghi mã EPSG, không mang tham số chuyển đổi",
              "This format carries only the EPSG code, not the transformation parameters"))
    return {
        "vi": f"{what[0]}: phần mềm có thể dùng phép chuyển VN-2000 → WGS 84 mặc định (EPSG:5194), lệch khoảng 0,8 m "
              "so với tham số chính thức (QĐ 05/2007/QĐ-BTNMT, EPSG:6960). Để giữ đúng phép chuyển chính thức, "
              "hãy tải GeoPackage (.gpkg) hoặc Shapefile (.shp.zip).",
        "en": f"{what[1]}: software may use its default VN-2000 → WGS 84 transformation (EPSG:5194), about 0.8 m "
              "from the official parameters (Decision 05/2007/QĐ-BTNMT, EPSG:6960). To keep the official "
              "transformation, download GeoPackage (.gpkg) or Shapefile (.shp.zip).",
    }


def api_crs_note(srid: int) -> dict | None:
    """The note for OGC API items/GeoJSON in a VN-2000 CRS (coordinates only, no shift), for the collection document."""
    return vn2000_note(srid, "geojson")


def warning_header(srid: int, fmt: str) -> str | None:
    """An HTTP Warning-style header value (English, ASCII) for a VN-2000 response that carries no shift."""
    note = vn2000_note(srid, fmt)
    if note is None:
        return None
    return ("VN-2000 coordinates without the official datum shift (EPSG:6960); GeoPackage and Shapefile "
            "downloads carry it")
