"""Writes the generated city as the files agencies send: Shapefile and GeoPackage in EPSG:9210, a GeoTIFF."""
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin

from demo.city import City
from demo.wards import CITY, CITY_FORMED, REFORM_DATE

# Files say EPSG:9210 as agencies' files do (a .prj naming "VN-2000 / TM-3 105-45"); ingest pins the shift.
FILE_CRS = CRS.from_epsg(9210)


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geom", crs=FILE_CRS)


def admin_units_frame(city: City) -> gpd.GeoDataFrame:
    """City, former wards (to 30 June 2025), their neighbourhoods, and the 12 wards since 1 July 2025."""
    old_end = "2025-06-30"  # the day before the reform
    rows = [{"level": "city", "code": CITY["code"], "name": CITY["name"], "parent_code": CITY["parent_code"],
             "valid_from": CITY_FORMED.isoformat(), "valid_to": old_end, "geom": city.boundary}]
    for w in city.wards:
        rows.append({"level": "ward", "code": w["code"], "name": w["name"], "parent_code": CITY["code"],
                     "valid_from": CITY_FORMED.isoformat(), "valid_to": old_end, "geom": w["geom"]})
    for h in city.neighbourhoods:
        rows.append({"level": "neighbourhood", "code": h["code"], "name": h["name"], "parent_code": h["parent_code"],
                     "valid_from": CITY_FORMED.isoformat(), "valid_to": old_end, "geom": h["geom"]})
    frame = _frame(rows)
    new_rows = [{"level": "ward", "code": w["code"], "name": w["name"], "parent_code": "79",
                 "valid_from": REFORM_DATE.isoformat(), "valid_to": None, "geom": w["geom"]} for w in city.new_wards]
    return gpd.GeoDataFrame(list(frame.to_dict("records")) + new_rows, geometry="geom", crs=FILE_CRS)


def write_files(city: City, out_dir: Path) -> dict[str, Path]:
    """Writes every layer; returns slug -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "admin-units": out_dir / "admin_units.gpkg",
        "planning-zones": out_dir / "planning_zones.gpkg",
        "road-reserves": out_dir / "road_reserves.shp",
        "roads": out_dir / "roads.gpkg",
        "water": out_dir / "water.gpkg",
        "parcels": out_dir / "parcels.gpkg",
        "elevation": out_dir / "elevation.tif",
    }
    for path in paths.values():
        for old in out_dir.glob(path.stem + ".*"):
            old.unlink()
    pyogrio.write_dataframe(admin_units_frame(city), paths["admin-units"], layer="admin_units")
    pyogrio.write_dataframe(_frame(city.zones), paths["planning-zones"], layer="planning_zones")
    pyogrio.write_dataframe(_frame(city.roads), paths["road-reserves"], encoding="UTF-8")
    pyogrio.write_dataframe(_frame(city.centrelines), paths["roads"], layer="roads")
    pyogrio.write_dataframe(_frame(city.water), paths["water"], layer="water")
    parcels = gpd.GeoDataFrame({k: v for k, v in city.parcels.items() if k != "geom"},
                               geometry=gpd.GeoSeries(city.parcels["geom"], crs=FILE_CRS), crs=FILE_CRS)
    pyogrio.write_dataframe(parcels, paths["parcels"], layer="parcels")
    _write_elevation(city, paths["elevation"])
    return paths


def _write_elevation(city: City, path: Path) -> None:
    grid, (xmin, _, _, ymax), pixel = city.elevation
    profile = {"driver": "GTiff", "height": grid.shape[0], "width": grid.shape[1], "count": 1, "dtype": "float32",
               "crs": FILE_CRS.to_wkt(), "transform": from_origin(xmin, ymax, pixel, pixel), "nodata": -9999.0,
               "compress": "deflate", "tiled": True}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(grid.astype(np.float32), 1)
