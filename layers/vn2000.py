"""VN-2000 <-> WGS 84 with the official national parameters: the one module every converter calls.

Decision 05/2007/QĐ-BTNMT publishes seven parameters (EPSG:6960, "VN-2000 to WGS 84 (2)") in the
coordinate-frame convention. PROJ's +towgs84 uses the position-vector convention, so the three
rotations change sign here. PROJ and PostGIS would otherwise pick EPSG:5194 ("(1)") for Ho Chi Minh
City, 0.8 m away, so every VN-2000 CRS is built from these proj strings, never from the EPSG code.
"""
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

# Official values, coordinate-frame rotation (arc-seconds) and scale (ppm).
OFFICIAL_SHIFT_M = (-191.90441429, -39.30318279, -111.45032835)
OFFICIAL_ROTATION_CF_ARCSEC = (-0.00928836, 0.01975479, -0.00427372)
OFFICIAL_SCALE_PPM = 0.252906278

TOWGS84 = ",".join(
    str(v)
    for v in (*OFFICIAL_SHIFT_M, *(-r for r in OFFICIAL_ROTATION_CF_ARCSEC), OFFICIAL_SCALE_PPM)
)

# VN-2000 / TM-3 105-45: where Ho Chi Minh City's legal areas are measured.
LEGAL_AREA_SRID = 9210
WGS84_SRID = 4326


def _tm3(lon_0: float) -> str:
    return f"+proj=tmerc +lat_0=0 +lon_0={lon_0} +k=0.9999 +x_0=500000 +y_0=0"


# EPSG code -> (name, projection part of the proj string). The datum part is appended below.
VN2000_CRS: dict[int, tuple[str, str]] = {
    4756: ("VN-2000", "+proj=longlat"),
    3405: ("VN-2000 / UTM zone 48N", "+proj=utm +zone=48"),
    3406: ("VN-2000 / UTM zone 49N", "+proj=utm +zone=49"),
    5896: ("VN-2000 / TM-3 zone 481", _tm3(102)),
    5897: ("VN-2000 / TM-3 zone 482", _tm3(105)),
    5898: ("VN-2000 / TM-3 zone 491", _tm3(108)),
    5899: ("VN-2000 / TM-3 107-45", _tm3(107.75)),
    9205: ("VN-2000 / TM-3 103-00", _tm3(103)),
    9206: ("VN-2000 / TM-3 104-00", _tm3(104)),
    9207: ("VN-2000 / TM-3 104-30", _tm3(104.5)),
    9208: ("VN-2000 / TM-3 104-45", _tm3(104.75)),
    9209: ("VN-2000 / TM-3 105-30", _tm3(105.5)),
    9210: ("VN-2000 / TM-3 105-45", _tm3(105.75)),
    9211: ("VN-2000 / TM-3 106-00", _tm3(106)),
    9212: ("VN-2000 / TM-3 106-15", _tm3(106.25)),
    9213: ("VN-2000 / TM-3 106-30", _tm3(106.5)),
    9214: ("VN-2000 / TM-3 107-00", _tm3(107)),
    9215: ("VN-2000 / TM-3 107-15", _tm3(107.25)),
    9216: ("VN-2000 / TM-3 107-30", _tm3(107.5)),
    9217: ("VN-2000 / TM-3 108-15", _tm3(108.25)),
    9218: ("VN-2000 / TM-3 108-30", _tm3(108.5)),
}


def proj_string(srid: int) -> str:
    """The pinned proj string of a VN-2000 EPSG code (KeyError for other codes)."""
    projection = VN2000_CRS[srid][1]
    units = "" if projection == "+proj=longlat" else " +units=m"
    return f"{projection} +ellps=WGS84 +towgs84={TOWGS84}{units} +no_defs +type=crs"


@lru_cache(maxsize=64)
def crs_for(srid: int) -> CRS:
    """A pyproj CRS for an EPSG code, with VN-2000 codes pinned to the official shift."""
    if srid in VN2000_CRS:
        return CRS.from_proj4(proj_string(srid))
    return CRS.from_epsg(srid)


def is_vn2000(crs: CRS) -> bool:
    """True when a CRS is on the VN-2000 datum, whatever its projection."""
    geodetic = crs.geodetic_crs
    names = [crs.name or "", geodetic.name if geodetic else "", crs.datum.name if crs.datum else ""]
    text = " ".join(names).lower()
    return "vn-2000" in text or "vn_2000" in text or "vietnam 2000" in text or "vn2000" in text


def vn2000_srid(crs: CRS) -> int | None:
    """The EPSG code of a VN-2000 CRS, matched by its projection parameters, or None."""
    if not is_vn2000(crs):
        return None
    code = crs.to_epsg(min_confidence=70)
    if code in VN2000_CRS:
        return code
    if crs.is_geographic:
        return 4756
    params = {p.name.lower(): p.value for p in (crs.coordinate_operation.params if crs.coordinate_operation else [])}
    lon_0 = params.get("longitude of natural origin")
    k = params.get("scale factor at natural origin")
    if lon_0 is None:
        return None
    for srid, (_, projection) in VN2000_CRS.items():
        if projection.startswith("+proj=tmerc") and abs(float(projection.split("lon_0=")[1].split()[0]) - lon_0) < 1e-9:
            if k is None or abs(k - 0.9999) < 1e-9:
                return srid
    if k is not None and abs(k - 0.9996) < 1e-9:
        return {105.0: 3405, 111.0: 3406}.get(round(lon_0, 6))
    return None


def pinned(crs: CRS) -> CRS:
    """The CRS itself, or for VN-2000 its pinned equivalent (so no default datum shift is used)."""
    srid = vn2000_srid(crs)
    return crs_for(srid) if srid else crs


@lru_cache(maxsize=64)
def _transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transformer(src: CRS | int, dst: CRS | int) -> Transformer:
    """An always-xy transformer between two CRSs, VN-2000 pinned to the official parameters."""
    src_crs = crs_for(src) if isinstance(src, int) else pinned(src)
    dst_crs = crs_for(dst) if isinstance(dst, int) else pinned(dst)
    return _transformer(src_crs, dst_crs)


def transform_geometries(geoms: np.ndarray, src: CRS | int, dst: CRS | int) -> np.ndarray:
    """Shapely geometries from one CRS to another, vectorised (Z kept when present)."""
    t = transformer(src, dst)

    def _apply(coords: np.ndarray) -> np.ndarray:
        if coords.shape[1] == 3:
            x, y, z = t.transform(coords[:, 0], coords[:, 1], coords[:, 2])
            return np.column_stack([x, y, z])
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return _transform_keep_z(geoms, _apply)


def _transform_keep_z(geoms: np.ndarray, fn) -> np.ndarray:
    # shapely.transform hands 2D or 3D coordinate arrays, never mixed: split by dimension.
    has_z = shapely.has_z(geoms)
    out = np.empty(len(geoms), dtype=object)
    if (~has_z).any():
        out[~has_z] = shapely.transform(geoms[~has_z], fn, include_z=False)
    if has_z.any():
        out[has_z] = shapely.transform(geoms[has_z], fn, include_z=True)
    return out


def postgis_spatial_ref_rows() -> list[tuple[int, str, str]]:
    """(srid, name, proj4text) rows that pin PostGIS's VN-2000 codes to the official shift."""
    return [(srid, name, proj_string(srid).replace(" +type=crs", "")) for srid, (name, _) in VN2000_CRS.items()]
