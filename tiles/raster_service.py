"""The Django side of raster tiles: the layer's file under MEDIA_ROOT, errors as DomainErrors."""
from pathlib import Path

from django.conf import settings

from layers.errors import InvalidParameter, NotFound
from layers.models import Layer
from layers.params import parse_lonlat  # noqa: F401 - the one lon/lat parser, used by views
from tiles import raster
from tiles.cache import CachedTile
from tiles.coords import Tile

MEDIA_TYPES = {"png": "image/png", "webp": "image/webp"}


class RasterMissing(NotFound):
    code = "raster-missing"


def raster_file(layer: Layer) -> Path:
    """The layer's GeoTIFF, which must lie under MEDIA_ROOT (a path in the catalog never leaves it)."""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / layer.raster_path).resolve() if layer.raster_path else root
    if not layer.raster_path or root not in path.parents or not path.is_file():
        raise RasterMissing("Lớp này chưa có tệp ảnh.", "This layer has no raster file.")
    return path


def raster_tile(layer: Layer, tile: Tile, fmt: str) -> CachedTile | None:
    """The coloured tile (with an ETag of its bytes); None outside the raster or the layer's zoom range."""
    if not layer.min_zoom <= tile.z <= layer.max_zoom:
        return None
    try:
        body = raster.render_tile(raster_file(layer), tile, layer.raster_info or {}, fmt)
    except FileNotFoundError:  # removed between the check and the read
        raise RasterMissing("Lớp này chưa có tệp ảnh.", "This layer has no raster file.") from None
    return CachedTile.from_body(body) if body else None


def raster_value(layer: Layer, lon: float, lat: float) -> dict:
    """{lon, lat, value, values} at the point; InvalidParameter (400) outside the raster."""
    try:
        values = raster.value_at(raster_file(layer), lon, lat, (layer.raster_info or {}).get("nodata"))
    except raster.OutsideRaster:
        raise InvalidParameter("Điểm nằm ngoài phạm vi ảnh.", "The point is outside the raster.", parameter="lon/lat") from None
    return {"layer": layer.slug, "lon": lon, "lat": lat, "value": values[0] if values else None, "values": values}
