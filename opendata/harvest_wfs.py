"""WFS 2.0 reader: GetCapabilities (the feature type, its default CRS, the output formats), resultType=hits for
the total, GetFeature paged with COUNT/STARTINDEX in the native CRS (srsName), GeoJSON when offered else GML 3.2
read by GDAL's GML driver only. The remote never reprojects: VN-2000 is transformed here, officially."""
from __future__ import annotations

import json

import pyogrio
import shapely
from lxml import etree

from opendata.harvest_read import (Harvested, crs_from_name, east_first, fetch, garbage, geojson_geometry, keyed,
                                   max_features, page_size, parse_xml, plain, too_many, with_query)

WFS = "{http://www.opengis.net/wfs/2.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
GEOJSON_FORMATS = ("application/json", "application/geo+json", "geojson", "application/vnd.geo+json")
# GDAL's GML driver: never fetch the schema the document points at (no request leaves but ours), keep gml:id.
GML_CONFIG = {"GML_DOWNLOAD_SCHEMA": "NO", "GML_SKIP_RESOLVE_ELEMS": "ALL", "GDAL_HTTP_TIMEOUT": "1",
              "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none"}


def _name_matches(name: str, wanted: str) -> bool:
    return name == wanted or name.split(":")[-1] == wanted.split(":")[-1]


def capabilities(url: str, remote_layer: str) -> tuple[str, str, str | None, bool]:
    """(feature type name, default CRS, GeoJSON output format or None, hits offered) from GetCapabilities."""
    caps_url = with_query(url, SERVICE="WFS", REQUEST="GetCapabilities", ACCEPTVERSIONS="2.0.0")
    root = parse_xml(caps_url, fetch(caps_url, accept="application/xml, text/xml").content)
    if root.tag != f"{WFS}WFS_Capabilities":
        raise garbage(caps_url, "không phải WFS 2.0 GetCapabilities", "not WFS 2.0 capabilities")
    types = root.findall(f"{WFS}FeatureTypeList/{WFS}FeatureType")
    names = [(t.findtext(f"{WFS}Name") or "").strip() for t in types]
    if not remote_layer and len(names) == 1:
        remote_layer = names[0]
    found = [t for t, n in zip(types, names) if remote_layer and _name_matches(n, remote_layer)]
    if not found:
        raise garbage(caps_url, f"không có kiểu đối tượng «{remote_layer}»; có: {', '.join(names)[:200]}",
                      f"no feature type “{remote_layer}”; offered: {', '.join(names)[:200]}")
    chosen = found[0]
    default_crs = (chosen.findtext(f"{WFS}DefaultCRS") or chosen.findtext(f"{WFS}DefaultSRS") or "").strip()
    formats = [v.text.strip() for v in _operation_values(root, "GetFeature", "outputFormat") if v.text]
    formats += [(f.text or "").strip() for f in chosen.findall(f"{WFS}OutputFormats/{WFS}Format")]
    geojson = next((f for f in formats if f.lower().split(";")[0].strip() in GEOJSON_FORMATS), None)
    hits = any((v.text or "").strip() == "hits" for v in _operation_values(root, "GetFeature", "resultType"))
    return (chosen.findtext(f"{WFS}Name") or "").strip(), default_crs, geojson, hits


def _operation_values(root: etree._Element, operation: str, parameter: str) -> list[etree._Element]:
    for op in root.iter(f"{OWS}Operation"):
        if op.get("name") == operation:
            for param in op.findall(f"{OWS}Parameter"):
                if param.get("name", "").lower() == parameter.lower():
                    return list(param.iter(f"{OWS}Value"))
    return []


def _hits(url: str, type_name: str) -> int | None:
    hits_url = with_query(url, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES=type_name,
                          RESULTTYPE="hits")
    root = parse_xml(hits_url, fetch(hits_url).content)
    matched = root.get("numberMatched", "")
    return int(matched) if matched.isdigit() else None


def _gml_rows(url: str, content: bytes, key: str) -> list[tuple[dict, shapely.Geometry | None]]:
    """One GML 3.2 page through GDAL's GML driver only; x = east whatever the srsName's axis order."""
    root = parse_xml(url, content)  # proves it is a FeatureCollection before GDAL sees a byte of it
    if root.tag != f"{WFS}FeatureCollection":
        raise garbage(url, "không phải wfs:FeatureCollection", "not a wfs:FeatureCollection")
    if not any(child.tag == f"{WFS}member" for child in root):
        return []
    try:
        with _GdalConfig():
            info = pyogrio.read_info(content)
            if info.get("driver") != "GML":
                raise garbage(url, f"định dạng {info.get('driver')}", f"format {info.get('driver')}")
            frame = pyogrio.read_dataframe(content, EXPOSE_GML_ID="YES", SWAP_COORDINATES="AUTO")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError):
        raise garbage(url, "GML không đọc được", "unreadable GML") from None
    geometries = list(frame.geometry) if "geometry" in frame else [None] * len(frame)
    records = frame.drop(columns=["geometry"], errors="ignore").to_dict("records")
    rows = []
    for record, geometry in zip(records, geometries):
        props = {k: plain(None if _missing(v) else v) for k, v in record.items()}
        rows.append((keyed(url, props, key, props.get("gml_id")), geometry))
    return rows


class _GdalConfig:
    """GML_CONFIG for the duration of one read, the earlier values put back after."""

    def __enter__(self):
        self.before = {k: pyogrio.get_gdal_config_option(k) for k in GML_CONFIG}
        pyogrio.set_gdal_config_options(GML_CONFIG)

    def __exit__(self, *exc):
        pyogrio.set_gdal_config_options(self.before)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _geojson_rows(url: str, content: bytes, key: str, swap: bool) -> list[tuple[dict, shapely.Geometry | None]]:
    try:
        page = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        raise garbage(url, "không phải JSON", "not JSON") from None
    if not isinstance(page, dict) or not isinstance(page.get("features"), list):
        raise garbage(url, "không phải FeatureCollection", "not a GeoJSON FeatureCollection")
    return [(keyed(url, f.get("properties"), key, f.get("id")), east_first(geojson_geometry(url, f.get("geometry")), swap))
            for f in page["features"] if isinstance(f, dict)]


def read(*, url: str, remote_layer: str, key: str) -> Harvested:
    """Every feature of the feature type in its native CRS, paged, within the feature cap."""
    type_name, default_crs, geojson, hits = capabilities(url, remote_layer)
    crs = crs_from_name(default_crs)
    limit, size = max_features(), page_size()
    if hits:
        total = _hits(url, type_name)
        if total is not None and total > limit:
            raise too_many(total)
    out = Harvested(crs=crs, crs_name=default_crs, key=key)
    start = 0
    while True:
        page_url = with_query(url, SERVICE="WFS", VERSION="2.0.0", REQUEST="GetFeature", TYPENAMES=type_name,
                              SRSNAME=default_crs, COUNT=size, STARTINDEX=start, OUTPUTFORMAT=geojson)
        content = fetch(page_url).content
        # GeoJSON is written x = east by the servers we know (RFC 7946's order); GML is read by GDAL, which swaps a
        # north-first srsName's coordinates back to x = east. A wrong guess lands outside Vietnam and is refused.
        rows = (_geojson_rows(page_url, content, key, False) if geojson
                else _gml_rows(page_url, content, key))
        out.rows.extend(rows)
        if len(out.rows) > limit:
            raise too_many(f"> {limit}")
        if len(rows) < size:
            return out
        start += size
