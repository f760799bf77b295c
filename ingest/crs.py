"""Which CRS a file is in: declared, overridden, or refused with the likely candidates named."""
from dataclasses import dataclass

import numpy as np
from pyproj import CRS
from pyproj.exceptions import CRSError

from layers.errors import IngestRejected
from layers.vn2000 import VN2000_CRS, crs_for, is_vn2000, vn2000_srid


@dataclass(frozen=True)
class CrsDecision:
    """The CRS to read coordinates in, and what the report should say about it."""

    crs: CRS
    found: str
    used: str
    warnings: tuple[str, ...] = ()


def parse_crs_option(text: str) -> CRS:
    """A --crs value (EPSG code, 'EPSG:n', WKT or proj string) as a CRS; never a URL or a file."""
    text = text.strip()
    lowered = text.lower()
    # Grid files and +init files make PROJ open local paths: not something a CRS option may ask for.
    if ("://" in lowered or lowered.startswith(("/vsi", "@", "/")) or len(text) > 10000
            or any(word in lowered for word in ("grids=", "init=", "/vsi"))):
        raise IngestRejected(
            "CRS phải là mã EPSG, WKT hoặc chuỗi proj; không nhận đường dẫn hay URL.",
            "The CRS must be an EPSG code, WKT or a proj string, not a path or URL.",
            parameter="crs",
        )
    code = lowered.removeprefix("epsg:")
    try:
        if code.isascii() and code.isdigit() and len(code) <= 9:  # '²'.isdigit() too, and int() refuses it
            return crs_for(int(code))
        return CRS.from_user_input(text)
    except CRSError:
        raise IngestRejected(f"Không nhận ra hệ tọa độ: {text[:80]}", f"Unknown CRS: {text[:80]}", parameter="crs") from None


def _describe(crs: CRS) -> str:
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code} {crs.name}" if code else crs.name


def _no_datum_shift(crs: CRS) -> bool:
    """A VN-2000 CRS given as bare WKT (no EPSG identity) with no shift to WGS 84 ("VN-2000 nội bộ")."""
    return "TOWGS84" not in crs.to_wkt().upper() and crs.to_authority(min_confidence=100) is None


def candidates_for(bounds: tuple[float, float, float, float]) -> list[str]:
    """Likely CRSs for coordinates with these bounds (xmin, ymin, xmax, ymax), for the refusal message."""
    xmin, ymin, xmax, ymax = bounds
    if -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        if 102 <= xmin and xmax <= 110 and 8 <= ymin and ymax <= 24:
            return ["EPSG:4326 (WGS 84)", "EPSG:4756 (VN-2000)"]
        return ["EPSG:4326 (WGS 84)"]
    if 300_000 <= xmin and xmax <= 800_000 and 900_000 <= ymin and ymax <= 2_700_000:
        return ["EPSG:9210 (VN-2000 / TM-3 105-45, TP.HCM)", "EPSG:5899 (VN-2000 / TM-3 107-45)",
                "EPSG:3405 (VN-2000 / UTM 48N)"]
    if 100_000 <= xmin and xmax <= 900_000 and 0 <= ymin and ymax <= 3_000_000:
        return ["EPSG:3405 (VN-2000 / UTM 48N)", "EPSG:3406 (VN-2000 / UTM 49N)", "EPSG:32648 (WGS 84 / UTM 48N)"]
    return []


def decide_crs(declared: CRS | None, override: str | None, bounds: tuple[float, float, float, float]) -> CrsDecision:
    """The CRS to use: --crs if given, else the file's own; no CRS at all is refused, never guessed."""
    warnings: list[str] = []
    found = _describe(declared) if declared else ""
    if override:
        crs = parse_crs_option(override)
    elif declared is not None:
        crs = declared
        if is_vn2000(declared) and _no_datum_shift(declared):
            warnings.append(
                f"The file's CRS ({declared.name}) names VN-2000 with no datum shift (as \"VN-2000 nội bộ\" files do): "
                "the official national shift (EPSG:6960) was applied; check the result against a known point."
            )
    else:
        names = candidates_for(bounds)
        hint_vi = f" Có thể là: {', '.join(names)}." if names else ""
        hint_en = f" Likely: {', '.join(names)}." if names else ""
        raise IngestRejected(
            f"Tệp không khai báo hệ tọa độ (thiếu .prj).{hint_vi} Chỉ định bằng --crs, ví dụ --crs EPSG:9210.",
            f"The file declares no coordinate reference system (no .prj).{hint_en} Give it with --crs, e.g. --crs EPSG:9210.",
            parameter="crs",
        )
    code = (override or "").strip().lower().removeprefix("epsg:")
    srid = int(code) if code.isascii() and code.isdigit() and len(code) <= 9 and int(code) in VN2000_CRS else vn2000_srid(crs)
    if srid:
        crs = crs_for(srid)  # pinned to the official national shift
        used = f"EPSG:{srid} (VN-2000, official shift EPSG:6960)"
    else:
        used = _describe(crs)
    return CrsDecision(crs=crs, found=found or "(none)", used=used, warnings=tuple(warnings))


def total_bounds(geoms: np.ndarray) -> tuple[float, float, float, float]:
    """Bounds of non-empty geometries (NaN-safe)."""
    import shapely

    b = shapely.bounds(geoms)
    with np.errstate(all="ignore"):
        return (float(np.nanmin(b[:, 0])), float(np.nanmin(b[:, 1])), float(np.nanmax(b[:, 2])), float(np.nanmax(b[:, 3])))
