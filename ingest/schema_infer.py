"""A new layer's catalog entry from its file: title from the file name, schema from columns, geometry type from data."""
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import shapely

from ingest.validate import FAMILY
from layers.personal import name_looks_personal
from layers.values import FEATURE_ID

_TYPES = {"int": "integer", "float": "number", "datetime64": "date", "bool": "text"}


def title_from_file(file_name: str) -> str:
    """'ranh_gioi-phuong.shp' -> 'Ranh gioi phuong'."""
    stem = Path(file_name).stem
    words = re.sub(r"[_\-.]+", " ", stem).strip()
    return (words[:1].upper() + words[1:])[:200] or "Layer"


def infer_geometry_type(declared: str | None) -> str:
    """The layer geometry type from GDAL's declared type ('Polygon', 'MultiPolygon Z', 'Unknown' …)."""
    name = (declared or "").replace(" Z", "").replace(" M", "").replace("25D", "").strip()
    return name if name in FAMILY else "Geometry"


_FAMILY_NAMES = {0: "Point", 1: "LineString", 2: "Polygon"}
_FAMILY_OF_TYPE_ID = {0: 0, 4: 0, 1: 1, 2: 1, 5: 1, 3: 2, 6: 2}  # shapely type id -> family
_MULTI_TYPE_IDS = (4, 5, 6)


def geometry_type_from_data(declared: str, chunks: Iterable[np.ndarray]) -> str:
    """A new layer's geometry type checked against its rows (WKB chunks): a file that mixes Polygon and
    MultiPolygon is catalogued MultiPolygon, so every row is stored and served as one type.

    A Shapefile says "Polygon" for multi-part polygons too, and a GeoJSON "Unknown" for one that mixes
    Polygon and MultiPolygon: GDAL's declared type alone would catalogue both wrong.
    """
    if declared.startswith("Multi"):
        return declared
    families: set[int] = set()
    multi_part = any_multi = False
    for wkb in chunks:
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        type_ids = shapely.get_type_id(geoms)
        families.update(_FAMILY_OF_TYPE_ID[t] for t in np.unique(type_ids).tolist() if t in _FAMILY_OF_TYPE_ID)
        multi = np.isin(type_ids, _MULTI_TYPE_IDS)
        any_multi = any_multi or bool(multi.any())
        multi_part = multi_part or bool((shapely.get_num_geometries(geoms[multi]) > 1).any())
    if declared in FAMILY:  # a single type: promoted when some row has several parts
        return "Multi" + declared if multi_part and FAMILY[declared] in families else declared
    if len(families) != 1:
        return declared
    family = _FAMILY_NAMES[families.pop()]
    return "Multi" + family if any_multi else family


def infer_schema(info: dict, column_map: dict[str, str]) -> list[dict]:
    """Schema fields (text, integer, number, date) from the file's column types; nothing required; fields
    whose names denote personal data marked personal."""
    fields = []
    for i, (name, dtype, ogr_type) in enumerate(zip(info.get("fields", []), info.get("dtypes", []), info.get("ogr_types", []))):
        target = column_map.get(str(name), str(name).lower())
        if target == FEATURE_ID:  # the platform's id in a download coming back: not a field (see ingest.services)
            continue
        kind = next((v for k, v in _TYPES.items() if str(dtype).startswith(k)), "text")
        if ogr_type == "OFTDate":
            kind = "date"
        elif ogr_type in ("OFTDateTime", "OFTTime"):
            kind = "text"
        spec = {"name": target, "type": kind, "label_vi": str(name), "label_en": str(name),
                "required": False, "display": i < 8}
        if name_looks_personal(str(name), target):  # owners' names, ID and phone numbers: hidden by default
            spec.update(personal=True, display=False)
        fields.append(spec)
    return fields
