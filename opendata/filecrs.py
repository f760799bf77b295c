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
- FlatGeobuf: the header's CRS is the same WKT1 with TOWGS84 and no code (org/code empty); GDAL 3.6 reads it so.
- GeoParquet (written by pyarrow, opendata/columnar.py): the `geo` metadata's PROJJSON is that .prj's CRS, a
  BoundCRS holding the official shift and no id; pyproj (geopandas) and GDAL's Parquet reader transform with it.
- CSV is one text file with a WKT column: it cannot carry a CRS (GDAL reads a .prj beside it only).
- GeoJSON is WGS 84 by RFC 7946; with ?crs= it carries the EPSG code, so readers pick their default shift.
"""
from collections.abc import Callable

from layers.vn2000 import LEGAL_AREA_SRID, VN2000_CRS, crs_for

# Formats whose VN-2000 files carry the official shift, for the notes below.
EXACT_FORMATS = ("gpkg", "shp.zip", "fgb", "parquet")
# Those a Link header points to (the two every GIS opens; FlatGeobuf and GeoParquet are listed on the page).
LINKED_FORMATS = {"gpkg": "application/geopackage+sqlite3", "shp.zip": "application/zip"}


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
              "hãy tải GeoPackage (.gpkg), Shapefile (.shp.zip), FlatGeobuf (.fgb) hoặc GeoParquet (.parquet).",
        "en": f"{what[1]}: software may use its default VN-2000 → WGS 84 transformation (EPSG:5194), about 0.8 m "
              "from the official parameters (Decision 05/2007/QĐ-BTNMT, EPSG:6960). To keep the official "
              "transformation, download GeoPackage (.gpkg), Shapefile (.shp.zip), FlatGeobuf (.fgb) or GeoParquet "
              "(.parquet).",
    }


def api_crs_note() -> dict:
    """For the OGC API collection document: items with crs=VN-2000 are coordinates only, without the shift."""
    note = vn2000_note(LEGAL_AREA_SRID, "geojson")
    return {"vi": "OGC API và GeoJSON theo hệ VN-2000 (tham số crs): " + note["vi"],
            "en": "OGC API and GeoJSON in VN-2000 (the crs parameter): " + note["en"]}


def exact_links(slug: str, srid: int, absolute: Callable[[str], str]) -> list[str]:
    """Link header values to the same layer in the formats that carry the official shift (VN-2000 only);
    absolute(path) makes the URL absolute (QGIS and GDAL do not resolve relative links)."""
    if srid not in VN2000_CRS:
        return []
    return [f'<{absolute(f"/data/{slug}.{fmt}?crs={srid}")}>; rel="alternate"; type="{media}"; '
            f'title="VN-2000 with the official datum shift (EPSG:6960)"' for fmt, media in LINKED_FORMATS.items()]


# The download page's notes on what each format carries (Vietnamese first).
FORMAT_NOTES = [
    {"vi": "GeoPackage và Shapefile theo VN-2000 (?crs=9210, 3405, 4756 …) mang tham số chuyển đổi chính thức "
           "(QĐ 05/2007/QĐ-BTNMT): GDAL/ogr2ogr và QGIS chuyển về WGS 84 đúng đến 1 cm. QGIS hiển thị hệ tọa độ "
           "tùy chỉnh mang tên VN-2000 (không kèm mã EPSG, vì mã EPSG làm GDAL dùng phép chuyển mặc định lệch 0,8 m).",
     "en": "GeoPackage and Shapefile in VN-2000 (?crs=9210, 3405, 4756 …) carry the official transformation "
           "(Decision 05/2007/QĐ-BTNMT): GDAL/ogr2ogr and QGIS reproject them to WGS 84 within 1 cm. QGIS shows a "
           "custom CRS named VN-2000 (no EPSG code: with the code GDAL uses its default transformation, 0.8 m off)."},
    {"vi": "GeoJSON luôn là WGS 84 (RFC 7946); với ?crs= theo VN-2000, GeoJSON và OGC API chỉ ghi mã EPSG, không mang "
           "tham số chuyển đổi. CSV chỉ có tọa độ (cột WKT), không mang hệ tọa độ. KML luôn là WGS 84.",
     "en": "GeoJSON is WGS 84 (RFC 7946); with a VN-2000 ?crs=, GeoJSON and the OGC API give the EPSG code only, "
           "not the transformation. CSV holds coordinates only (a WKT column), no CRS. KML is always WGS 84."},
    {"vi": "Mọi định dạng giữ mã đối tượng của nền tảng: cột feature_id (GeoPackage: fid; GeoJSON: id; KML: id của "
           "Placemark). Ngày là kiểu ngày (GeoPackage, Shapefile, FlatGeobuf, GeoParquet), dạng YYYY-MM-DD trong CSV.",
     "en": "Every format keeps the platform's feature id: a feature_id column (GeoPackage: the fid; GeoJSON: id; "
           "KML: the Placemark id). Dates are dates (GeoPackage, Shapefile, FlatGeobuf, GeoParquet), YYYY-MM-DD text "
           "in CSV."},
    {"vi": "FlatGeobuf (.fgb) có chỉ mục không gian: QGIS và GDAL đọc nhanh theo khung nhìn. GeoParquet 1.1 (.parquet) "
           "dành cho phân tích (DuckDB, geopandas, Spark), nén zstd, có cột bbox. Cả hai mang hệ VN-2000 với tham số "
           "chuyển đổi chính thức như GeoPackage.",
     "en": "FlatGeobuf (.fgb) carries a spatial index: QGIS and GDAL read a view's box quickly. GeoParquet 1.1 "
           "(.parquet) is for analysis (DuckDB, geopandas, Spark), zstd-compressed, with a bbox column. Both carry "
           "VN-2000 with the official transformation, as GeoPackage does."},
]
