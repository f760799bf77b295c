"""Is a file a Cloud-Optimized GeoTIFF? GDAL's validate_cloud_optimized_geotiff.py checks, through rasterio.

Tiled, internal overviews when larger than a block, the IFDs first and in order (full resolution, then each
overview), and the pixel data after them with the smallest overview first: what lets a reader fetch a tile
of any zoom in one or two ranged reads.
"""
from pathlib import Path

import rasterio

BLOCK = 512


def cog_errors(path: str | Path) -> list[str]:
    """The reasons the file is not a valid COG; an empty list when it is one."""
    errors: list[str] = []
    with rasterio.open(path) as ds:
        if ds.driver != "GTiff":
            return [f"driver is {ds.driver}, not GTiff"]
        big = ds.width > BLOCK or ds.height > BLOCK
        if big and not ds.profile.get("tiled"):
            errors.append("larger than 512 pixels but not tiled")
        levels = ds.overviews(1)
        if big and not levels:
            errors.append("larger than 512 pixels but has no internal overviews")
        ifds = [_offset(ds, "IFD_OFFSET", None)] + [_offset(ds, "IFD_OFFSET", i) for i in range(len(levels))]
        data = [_offset(ds, "BLOCK_OFFSET_0_0", None)] + [_offset(ds, "BLOCK_OFFSET_0_0", i) for i in range(len(levels))]
        if any(offset is None for offset in ifds):
            errors.append("overviews are not internal (no IFD offset)")
            return errors
        if ifds != sorted(ifds):
            errors.append(f"IFDs out of order (full resolution, then each overview): {ifds}")
        known = [offset for offset in data if offset]
        if known and max(ifds) > min(known):
            errors.append("an IFD lies after pixel data: the header is not at the start")
        for level in range(len(data) - 1):
            if data[level] and data[level + 1] and data[level] < data[level + 1]:
                errors.append(f"overview {level + 1}'s data lies after level {level}'s: smallest overview must come first")
        for level in range(len(levels)):
            with rasterio.open(path, overview_level=level) as overview:
                if overview.block_shapes[0][1] == overview.width and overview.width > BLOCK:
                    errors.append(f"overview {level} is not tiled")
    return errors


def _offset(ds, item: str, overview: int | None) -> int | None:
    value = ds.get_tag_item(item, "TIFF", bidx=1, ovr=overview)
    return int(value) if value not in (None, "") else None
