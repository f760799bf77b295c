"""GeoTIFF layers: reprojected to Web Mercator as a Cloud-Optimized GeoTIFF under MEDIA_ROOT.

VN-2000 rasters are warped with the pinned official shift here, once, so tile readers never depend
on PROJ's default VN-2000 transformation.
"""
import tempfile
from pathlib import Path

import rasterio
import rasterio.errors
from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.utils import timezone
from pyproj import CRS
from rasterio._err import CPLE_BaseError  # GDAL's errors: rasterio.errors does not export their base
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError
from rasterio.crs import CRS as RioCRS
from rasterio.errors import CRSError as RioCRSError

from ingest import cog, safety
from ingest.storage import write_atomically
from layers.errors import DomainError, IngestRejected, InsufficientStorage
from layers.models import Layer
from layers.permissions import authorize_load
from layers.vn2000 import pinned

# rasterio's own errors, and GDAL's passed through as they are (a block that fails to read mid-warp).
GDAL_ERRORS = (rasterio.errors.RasterioError, CPLE_BaseError)
# A declared (or warped) size beyond this is refused before any pixel is read. Memory no longer grows with
# the size (ingest/cog.py); the scratch file does (4 bytes a pixel for float32), so the cap stays.
MAX_PIXELS = 1_000_000_000


def _too_large(width: int, height: int) -> IngestRejected:
    return IngestRejected(f"Ảnh quá lớn ({width}×{height} điểm ảnh).",
                          f"The raster declares {width}×{height} pixels, over the limit of {MAX_PIXELS:,}.",
                          parameter="path")


def _source_crs(src) -> RioCRS:
    if src.crs is None:
        raise IngestRejected("Ảnh không khai báo hệ tọa độ.", "The raster declares no coordinate reference system.", parameter="crs")
    return RioCRS.from_wkt(pinned(CRS.from_wkt(src.crs.to_wkt())).to_wkt())


def ingest_raster(*, path: Path, layer: Layer) -> Layer:
    """Converts a GeoTIFF into a COG (EPSG:3857, overviews) and catalogues it on the layer."""
    safety.reject_remote(str(path))
    path = Path(path)
    if not path.is_file() or path.suffix.lower() not in (".tif", ".tiff"):
        raise IngestRejected("Cần một tệp GeoTIFF (.tif).", "A GeoTIFF file (.tif) is expected.", parameter="path")
    safety.check_size(path)
    safety.check_content(path)  # TIFF magic bytes: a VRT renamed .tif never reaches GDAL
    try:
        with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR", GDAL_SKIP="VRT"), \
                rasterio.open(path, driver="GTiff") as src:
            return _convert(src, layer)
    except GDAL_ERRORS as exc:
        if "No space left" in str(exc):  # GDAL's scratch files filled their disk: not the file's fault
            raise InsufficientStorage(parameter="file") from None
        raise IngestRejected(f"Không đọc được ảnh: {str(exc)[:200]}", f"Could not read the raster: {str(exc)[:200]}",
                             parameter="path") from None


def _convert(src, layer: Layer) -> Layer:
    if src.width * src.height > MAX_PIXELS:
        raise _too_large(src.width, src.height)
    try:
        grid = cog.plan(src, _source_crs(src))
    except (cog.OutsideWebMercator, RioCRSError, ProjCRSError, ProjError) as error:
        raise IngestRejected("Ảnh không nằm ở vị trí hiển thị được trên bản đồ (hệ tọa độ hoặc tọa độ không hợp lệ).",
                             f"The raster cannot be placed on the web map (its CRS or coordinates are not usable: "
                             f"{str(error)[:160]}).", parameter="crs") from None
    if grid.width * grid.height > MAX_PIXELS:
        raise _too_large(grid.width, grid.height)
    out_dir = Path(settings.MEDIA_ROOT) / "rasters"
    out_dir.mkdir(parents=True, exist_ok=True)
    # GDAL writes in a scratch folder (its temporary overview files too); Python copies the finished COG into
    # place whole or not at all, so a failure or a full disk leaves the previous file and layer as they were.
    with tempfile.TemporaryDirectory(prefix="gisportal-cog-") as scratch:
        built = Path(scratch) / "cog.tif"
        with cog.bounded_cache(), rasterio.Env(CPL_TMPDIR=scratch, **cog.GDAL_ENV):
            low, high = cog.write_cog(src, grid, built, Path(scratch))
        out = out_dir / f"{layer.slug}-{cog.file_digest(built)}.tif"
        write_atomically(out, cog.file_chunks(built))
    layer.raster_path = str(out.relative_to(settings.MEDIA_ROOT))
    layer.raster_info = {
        "min": low, "max": high, "nodata": grid.nodata, "crs": "EPSG:3857", "width": grid.width,
        "height": grid.height, "ramp": layer.raster_info.get("ramp", "terrain"),
        # What the catalog says about the values (unit, vertical datum) outlives a new file.
        **{key: layer.raster_info[key] for key in ("unit", "vertical_datum") if key in layer.raster_info},
    }
    extent = Polygon.from_bbox(grid.lonlat)
    extent.srid = 4326
    layer.extent = extent
    layer.last_changed = timezone.now()
    layer.save(update_fields=["raster_path", "raster_info", "extent", "last_changed"])
    return layer


def ingest_raster_run(*, path: Path, layer_slug: str, user=None, run=None):
    """ingest_raster for a layer named by slug, recorded as an IngestRun (both doors use this)."""
    from ingest.liveness import start_run
    from ingest.models import IngestRun
    from ingest.services import file_sha256

    path = Path(path)
    layer = Layer.objects.filter(slug=layer_slug).first()
    user_id = user.pk if user is not None and getattr(user, "pk", None) else None
    run_lock = None
    if run is None:
        run, run_lock = start_run(layer=layer, layer_slug=layer_slug, user_id=user_id, file_name=path.name[:500],
                                  mode="replace")
    report = {"warnings": [], "rejected": [], "repaired": [], "inserted": 0, "updated": 0, "unchanged": 0, "deleted": 0}
    try:
        if layer is None or layer.kind != "raster":
            raise IngestRejected(f"Không có lớp ảnh {layer_slug}.", f"No raster layer {layer_slug}.", parameter="layer")
        authorize_load(user, layer)
        run.file_sha256 = file_sha256(path) if path.is_file() else ""
        ingest_raster(path=path, layer=layer)
        run.layer, run.status, run.crs_used = layer, IngestRun.Status.SUCCEEDED, "EPSG:3857 (COG)"
        run.read_count = run.loaded_count = 1
        report["raster"] = {"path": layer.raster_path, **layer.raster_info}
    except DomainError as error:
        run.status = IngestRun.Status.FAILED
        report["error"] = {"vi": error.message_vi, "en": error.message_en}
        raise
    except Exception as error:
        run.status = IngestRun.Status.FAILED
        report["error"] = {"vi": "Lỗi khi nạp ảnh; lớp không thay đổi.", "en": f"Raster ingest failed, layer unchanged: {error}"[:500]}
        raise
    finally:
        run.report, run.finished_at = report, timezone.now()
        run.save()
        if run_lock is not None:
            run_lock.release()
    return run
