"""A new layer's catalog entry from its file: title from the file name, schema from columns, geometry type from data."""
import re
from pathlib import Path

from ingest.validate import FAMILY
from layers.personal import name_looks_personal

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


def infer_schema(info: dict, column_map: dict[str, str]) -> list[dict]:
    """Schema fields (text, integer, number, date) from the file's column types; nothing required; fields
    whose names denote personal data marked personal."""
    fields = []
    for i, (name, dtype, ogr_type) in enumerate(zip(info.get("fields", []), info.get("dtypes", []), info.get("ogr_types", []))):
        target = column_map.get(str(name), str(name).lower())
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
