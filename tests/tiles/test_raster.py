"""Raster tiles from a tiny GeoTIFF: colours, transparent nodata, formats, the value at a point."""
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from tests.factories import make_layer
from tiles import raster
from tiles.coords import Tile, tiles_in

pytestmark = pytest.mark.django_db

WEST, NORTH, PIXEL = 106.70, 10.90, 0.001  # 100 × 100 pixels of about 110 m over Thu Duc
NODATA = -9999.0


def decode_png(data: bytes) -> np.ndarray:
    """RGBA pixels (h × w × 4) of a PNG, decoded by GDAL's PNG driver (any filter, any zlib level)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a picture, not a map
        with MemoryFile(data) as memfile, memfile.open(driver="PNG") as png:
            assert png.count == 4 and png.dtypes[0] == "uint8"  # 8-bit RGBA
            return np.moveaxis(png.read(), 0, 2)


@pytest.fixture
def dem(tmp_path, settings):
    """A 100 × 100 elevation GeoTIFF (values 0–99 west to east, a nodata hole) under MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "rasters").mkdir()
    data = np.tile(np.arange(100, dtype="float32"), (100, 1))
    data[40:60, 40:60] = NODATA
    with rasterio.open(tmp_path / "rasters" / "dem.tif", "w", driver="GTiff", width=100, height=100, count=1,
                       dtype="float32", crs="EPSG:4326", transform=from_origin(WEST, NORTH, PIXEL, PIXEL),
                       nodata=NODATA, tiled=True, blockxsize=64, blockysize=64) as out:
        out.write(data, 1)
    return make_layer(slug="dem", kind="raster", geometry_type="", min_zoom=8, max_zoom=20,
                      raster_path="rasters/dem.tif",
                      raster_info={"min": 0, "max": 99, "nodata": NODATA, "ramp": ["#000000", "#ffffff"]})


def centre_tile(z: int) -> Tile:
    return next(tiles_in((WEST + 0.05, NORTH - 0.05, WEST + 0.05, NORTH - 0.05), z))


def test_png_tile_is_coloured_by_the_ramp_with_transparent_nodata(client, dem):
    tile = centre_tile(14)  # about 2.4 km: holds the nodata hole and its surroundings

    response = client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.png")

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    pixels = decode_png(response.content)
    assert pixels.shape == (256, 256, 4)
    alpha = pixels[..., 3]
    assert (alpha == 0).any() and (alpha == 255).any()  # the hole is transparent
    opaque = pixels[alpha == 255]
    assert (opaque[:, 0] == opaque[:, 1]).all() and (opaque[:, 1] == opaque[:, 2]).all()  # black→white ramp
    row = pixels[5]  # values rise west to east: so does the grey
    greys = row[row[:, 3] == 255][:, 0].astype(int)
    assert greys[-1] > greys[0] and (np.diff(greys) >= -1).all()
    assert response["ETag"] and response["Cache-Control"] == "public, max-age=0, s-maxage=86400"


def test_webp_tile(client, dem):
    tile = centre_tile(13)

    response = client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.webp")

    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"


def test_tile_outside_the_raster_or_zoom_range_is_204(client, dem):
    assert client.get("/tiles/raster/dem/10/0/0.png").status_code == 204
    tile = centre_tile(6)
    assert client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.png").status_code == 204


def test_etag_gives_304(client, dem):
    tile = centre_tile(14)
    first = client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.png")

    again = client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.png", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304


@pytest.mark.parametrize("path", ["dem/1.5/0/0.png", "dem/-1/0/0.png", "dem/3/8/0.png", "dem/25/0/0.webp"])
def test_bad_raster_tile_numbers_are_400(client, dem, path):
    assert client.get(f"/tiles/raster/{path}").status_code == 400


def test_vector_layer_and_unknown_layer_are_404(client, dem):
    make_layer(slug="parcels")

    assert client.get("/tiles/raster/parcels/14/0/0.png").status_code == 404
    assert client.get("/tiles/raster/nothing/14/0/0.png").status_code == 404


def test_missing_file_or_path_outside_media_root_is_404(client, dem):
    make_layer(slug="gone", kind="raster", raster_path="rasters/gone.tif")
    make_layer(slug="escape", kind="raster", raster_path="../../etc/passwd")
    tile = centre_tile(14)

    assert client.get(f"/tiles/raster/gone/{tile.z}/{tile.x}/{tile.y}.png").status_code == 404
    assert client.get(f"/tiles/raster/escape/{tile.z}/{tile.x}/{tile.y}.png").status_code == 404


def test_value_at_a_point(client, dem):
    body = client.get("/tiles/raster/dem/value", {"lon": WEST + 0.0305, "lat": NORTH - 0.0105}).json()

    assert body["value"] == 30.0 and body["values"] == [30.0]


def test_value_in_the_nodata_hole_is_null(client, dem):
    body = client.get("/tiles/raster/dem/value", {"lon": WEST + 0.0505, "lat": NORTH - 0.0505}).json()

    assert body["value"] is None


@pytest.mark.parametrize("params", [
    {"lon": 0, "lat": 0}, {"lon": WEST - 0.01, "lat": NORTH - 0.01},  # outside the raster
    {"lon": "abc", "lat": 10.8}, {"lon": "nan", "lat": 10.8}, {"lon": "inf", "lat": 10.8},
    {"lon": 106.7}, {}, {"lon": 200, "lat": 10.8}, {"lon": 106.7, "lat": -91},
])
def test_bad_or_outside_value_queries_are_400(client, dem, params):
    response = client.get("/tiles/raster/dem/value", params)

    assert response.status_code == 400
    assert response.json()["description_vi"]


def test_tilejson_of_a_raster_layer(client, dem):
    doc = client.get("/tiles/dem.json").json()

    assert doc["tiles"] == ["http://testserver/tiles/raster/dem/{z}/{x}/{y}.png"]
    assert (doc["minzoom"], doc["maxzoom"]) == (8, 20)
    assert "vector_layers" not in doc


def test_raster_path_works_without_django(dem, tmp_path):
    """The function the server calls is the one the benchmark's bare loop calls."""
    tile = centre_tile(14)
    png = raster.render_tile(tmp_path / "rasters" / "dem.tif", tile, {"ramp": "viridis"})

    assert decode_png(png).shape == (256, 256, 4)
    assert raster.render_tile(tmp_path / "rasters" / "dem.tif", Tile(10, 0, 0), {}) is None


def test_ramp_with_value_stops():
    table = raster.colour_table([[0, "#000000"], [50, "#ff0000"], [100, "#ffffff"]], 0, 100)

    assert table.shape == (256, 4)
    assert tuple(table[0]) == (0, 0, 0, 255) and tuple(table[-1]) == (255, 255, 255, 255)
    assert tuple(table[128][:3]) == (255, 2, 2) or table[128][0] == 255


def decode_webp(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(data) as memfile, memfile.open(driver="WEBP") as webp:
            return np.moveaxis(webp.read(), 0, 2)


def test_webp_is_lossless_same_pixels_as_png(client, dem):
    tile = centre_tile(14)

    png = decode_png(client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.png").content)
    webp = decode_webp(client.get(f"/tiles/raster/dem/{tile.z}/{tile.x}/{tile.y}.webp").content)

    assert webp.shape == (256, 256, 4)
    assert (webp[..., 3] == png[..., 3]).all()  # the same transparent hole
    opaque = png[..., 3] == 255
    assert (webp[opaque] == png[opaque]).all()  # the ramp's exact colours


def test_colours_come_from_the_layers_value_stop_ramp(dem, tmp_path):
    ramp = [[0, "#000000"], [50, "#ff0000"], [99, "#ffffff"]]
    table = {tuple(c[:3]) for c in raster.colour_table(ramp, 0, 99)}

    pixels = decode_png(raster.render_tile(tmp_path / "rasters" / "dem.tif", centre_tile(14),
                                           {"min": 0, "max": 99, "nodata": NODATA, "ramp": ramp}))

    opaque = pixels[pixels[..., 3] == 255][:, :3]
    assert {tuple(p) for p in opaque.tolist()} <= table
    assert (opaque[:, 0] == 255).any() and (opaque[:, 1] == 0).any()  # reds in the middle of the range


def test_nan_pixels_are_transparent_even_without_a_declared_nodata(tmp_path):
    data = np.tile(np.arange(100, dtype="float32"), (100, 1))
    data[:, 50:] = np.nan
    path = tmp_path / "nan.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(WEST, NORTH, PIXEL, PIXEL)) as out:
        out.write(data, 1)

    pixels = decode_png(raster.render_tile(path, centre_tile(14), {"min": 0, "max": 99, "ramp": "greys"}))

    alpha = pixels[..., 3]
    assert (alpha[:, :64] == 255).all() and (alpha[:, -64:] == 0).all()  # west opaque, the NaN east clear


def test_alpha_band_of_an_ingested_integer_raster_is_transparent_outside(tmp_path, settings):
    from ingest.raster import ingest_raster

    settings.MEDIA_ROOT = tmp_path
    source = tmp_path / "scan.tif"
    with rasterio.open(source, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=from_origin(WEST, NORTH, PIXEL, PIXEL)) as out:
        out.write(np.full((100, 100), 200, dtype="uint8"), 1)
    layer = make_layer(slug="scan", kind="raster", geometry_type="", min_zoom=8, max_zoom=20)
    ingest_raster(path=source, layer=layer)
    layer.refresh_from_db()
    corner = next(tiles_in((WEST, NORTH, WEST, NORTH), 13))  # holds the raster's north-west corner

    pixels = decode_png(raster.render_tile(tmp_path / layer.raster_path, corner, layer.raster_info))

    alpha = pixels[..., 3]
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 255
    assert raster.value_at(tmp_path / layer.raster_path, WEST + 0.05, NORTH - 0.05) == [200]  # the alpha band is no value


def test_a_replaced_file_is_reopened_from_another_thread(dem, tmp_path):
    """The server's threads share open files: one opened here and replaced is closed there, without error."""
    import os
    import threading

    path, tile = tmp_path / "rasters" / "dem.tif", centre_tile(14)
    first = raster.render_tile(path, tile, {"min": 0, "max": 99, "ramp": "greys"})
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # as if the file were replaced
    results = []
    worker = threading.Thread(target=lambda: results.append(raster.render_tile(path, tile, {"min": 0, "max": 99,
                                                                                          "ramp": "greys"})))
    worker.start()
    worker.join()

    assert results == [first]
