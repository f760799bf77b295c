"""GeoTIFF → COG through GDAL's COG driver: a valid COG, pixels where the pinned VN-2000 shift puts them,
nodata and alpha kept, and a failed conversion that leaves the previous file and layer as they were."""
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.db import connection
from pyproj import Transformer
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

from ingest.cog_check import cog_errors
from ingest.raster import ingest_raster
from layers.errors import IngestRejected
from tests.factories import make_layer

pytestmark = pytest.mark.django_db

NODATA = -9999.0
# A corner in Thu Duc, VN-2000 / TM-3 105-45 metres (easting, northing).
EAST, NORTH = 612000.0, 1196000.0


def _tiff(path: Path, data: np.ndarray, pixel: float, nodata=NODATA, crs="EPSG:9210", **extra) -> Path:
    bands = data if data.ndim == 3 else data[None]
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype=bands.dtype.name, crs=crs, transform=from_origin(EAST, NORTH, pixel, pixel),
                       nodata=nodata, **extra) as out:
        out.write(bands)
    return path


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _cog(layer) -> Path:
    layer.refresh_from_db()
    from django.conf import settings

    return Path(settings.MEDIA_ROOT) / layer.raster_path


def test_output_is_a_valid_cog_with_overviews_and_nodata(tmp_path, media):
    data = np.tile(np.linspace(0, 50, 1500, dtype="float32"), (1500, 1))
    data[600:700, 600:700] = NODATA
    layer = make_layer(slug="dem", kind="raster", geometry_type="")

    ingest_raster(path=_tiff(tmp_path / "dem.tif", data, 5.0), layer=layer)

    path = _cog(layer)
    assert cog_errors(path) == []
    with rasterio.open(path) as cog:
        assert cog.crs.to_epsg() == 3857 and cog.nodata == NODATA
        assert cog.profile["tiled"] and cog.block_shapes[0] == (512, 512)
        assert cog.overviews(1) and cog.compression.name.lower() == "deflate"
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert (cog.read(1, out_shape=(64, 64)) == NODATA).any()  # the hole, and the area outside the source
        overview = cog.read(1, out_shape=(cog.height // 4, cog.width // 4))
        assert np.nanmax(overview[overview != NODATA]) <= 50.0  # averaged overviews leave nodata out
    assert layer.raster_info["min"] == pytest.approx(0, abs=0.1) and layer.raster_info["max"] == pytest.approx(50, abs=0.1)
    assert layer.raster_info["nodata"] == NODATA


def test_cog_checker_refuses_a_striped_tiff_without_overviews(tmp_path):
    plain = _tiff(tmp_path / "plain.tif", np.zeros((1200, 1200), dtype="float32"), 5.0)

    errors = cog_errors(plain)

    assert any("not tiled" in e for e in errors) and any("overviews" in e for e in errors)


def _postgis_3857(east: float, north: float) -> tuple[float, float]:
    """Where PostGIS (pinned VN-2000 parameters) puts a VN-2000 / TM-3 105-45 point in Web Mercator."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(g), ST_Y(g) FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 9210), 3857) g",
                       [east, north])
        return cursor.fetchone()


def test_pixels_land_where_the_pinned_vn2000_shift_puts_them(tmp_path, media):
    """20 cm pixels: PROJ's default VN-2000 operation (0.8 m off) would put the marker four pixels away."""
    data = np.zeros((200, 200), dtype="float32")
    data[99:102, 99:102] = 100.0  # a 60 cm marker centred on pixel (100, 100)
    layer = make_layer(slug="marker", kind="raster", geometry_type="")
    ingest_raster(path=_tiff(tmp_path / "marker.tif", data, 0.2), layer=layer)
    centre = (EAST + 100.5 * 0.2, NORTH - 100.5 * 0.2)

    pinned = _postgis_3857(*centre)
    default = Transformer.from_crs(9210, 3857, always_xy=True).transform(*centre)

    with rasterio.open(_cog(layer)) as cog:
        values = {name: next(cog.sample([xy]))[0] for name, xy in (("pinned", pinned), ("default", default))}
    assert np.hypot(pinned[0] - default[0], pinned[1] - default[1]) > 0.6  # the two really differ
    assert values["pinned"] == pytest.approx(100.0, abs=1.0)
    assert values["default"] < 50.0


def test_integer_raster_without_nodata_gets_an_alpha_band(tmp_path, media):
    data = np.full((300, 300), 7, dtype="uint8")
    layer = make_layer(slug="scan", kind="raster", geometry_type="")

    ingest_raster(path=_tiff(tmp_path / "scan.tif", data, 5.0, nodata=None), layer=layer)

    with rasterio.open(_cog(layer)) as cog:
        assert cog.count == 2 and cog.colorinterp[1] == ColorInterp.alpha
        alpha = cog.read(2)
        assert alpha[0, 0] == 0 and alpha[cog.height // 2, cog.width // 2] == 255  # outside vs inside the source
        assert cog.read(1)[cog.height // 2, cog.width // 2] == 7
    assert layer.raster_info["nodata"] is None and layer.raster_info["max"] == 7.0


def test_rgba_source_keeps_its_alpha(tmp_path, media):
    rgba = np.zeros((4, 300, 300), dtype="uint8")
    rgba[0], rgba[3, :, :150] = 200, 255  # red, opaque only in the west half
    path = _tiff(tmp_path / "photo.tif", rgba, 5.0, nodata=None, photometric="RGB", alpha="YES")
    with rasterio.open(path) as src:
        assert src.colorinterp[3] == ColorInterp.alpha
    layer = make_layer(slug="photo", kind="raster", geometry_type="")

    ingest_raster(path=path, layer=layer)

    with rasterio.open(_cog(layer)) as cog:
        assert cog.count == 4 and cog.colorinterp[3] == ColorInterp.alpha
        alpha = cog.read(4)
        row = cog.height // 2
        assert alpha[row, cog.width // 4] == 255 and alpha[row, 3 * cog.width // 4] == 0


def test_failed_conversion_leaves_the_previous_file_and_layer(tmp_path, media):
    layer = make_layer(slug="dem", kind="raster", geometry_type="")
    ingest_raster(path=_tiff(tmp_path / "good.tif", np.ones((64, 64), dtype="float32"), 5.0), layer=layer)
    layer.refresh_from_db()
    before = (layer.raster_path, layer.raster_info, layer.extent.wkt, layer.last_changed)
    files = sorted(p for p in Path(media).rglob("*") if p.is_file())
    broken = _tiff(tmp_path / "broken.tif", np.random.default_rng(1).uniform(0, 9, (600, 600)).astype("float32"), 5.0)
    with broken.open("r+b") as handle:  # the header reads, the pixels end half-way: GDAL fails mid-conversion
        handle.truncate(broken.stat().st_size // 2)

    with pytest.raises(IngestRejected) as refused:
        ingest_raster(path=broken, layer=layer)

    assert refused.value.message_vi and refused.value.message_en
    layer.refresh_from_db()
    assert (layer.raster_path, layer.raster_info, layer.extent.wkt, layer.last_changed) == before
    assert sorted(p for p in Path(media).rglob("*") if p.is_file()) == files  # no partial COG beside it


@pytest.mark.parametrize("crs, transform", [
    ('LOCAL_CS["arbitrary",UNIT["metre",1],AXIS["x",EAST],AXIS["y",NORTH]]', from_origin(0, 100, 1, 1)),  # no datum
    ("EPSG:3857", from_origin(1e30, 1e30, 1e25, 1e25)),  # absurd coordinates (PROJ clamps them to the pole)
    ("EPSG:4326", from_origin(100, 90, 0.5, 0.5)),  # up to the pole: beyond Web Mercator's 85.06°
    ("EPSG:4326", from_origin(179.9, 10, 0.5, 0.5)),  # across the antimeridian
])
def test_rasters_the_web_map_cannot_place_are_refused(tmp_path, media, crs, transform):
    layer = make_layer(slug="dem", kind="raster", geometry_type="")
    path = tmp_path / "odd.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1, dtype="float32",
                       crs=rasterio.crs.CRS.from_user_input(crs), transform=transform, nodata=NODATA) as out:
        out.write(np.ones((20, 20), dtype="float32"), 1)

    with pytest.raises(IngestRejected) as refused:
        ingest_raster(path=path, layer=layer)

    assert "bản đồ" in refused.value.message_vi and "web map" in refused.value.message_en
    layer.refresh_from_db()
    assert layer.raster_path == "" and not list(Path(media).rglob("*.tif"))
