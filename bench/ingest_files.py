"""The files bench/ingest loads, made once and cached under var/bench/ingest/ (each in its own process).

    python -m bench.ingest_files demo N SEED FOLDER      # the demo generator's parcels.gpkg (and its other layers)
    python -m bench.ingest_files voronoi N SEED PATH     # a file no one on the team made: Voronoi parcels

The Voronoi parcels are a GeoPackage in EPSG:9210 (VN-2000 / TM-3 105-45) whose columns and values are
Vietnamese, shaped unlike the demo city's bilinear strips, so the ingest is not tuned to our own generator.
"""
import sys
from pathlib import Path

import numpy as np

# Around Thu Duc (lon 106.77, lat 10.83) in TM-3 105-45 metres; the average parcel is about 250 m².
CENTRE_LONLAT = (106.77, 10.83)
MEAN_AREA_M2 = 250.0
WARDS = ["26794", "26797", "26800", "26803", "26806", "26809", "26812", "26815", "26818", "26821", "26824"]
LAND_USE = ["ODT", "ODT", "ODT", "ONT", "CLN", "LUK", "TMD", "SKC", "NTS", "BHK"]
STREETS = ["Võ Văn Ngân", "Lê Văn Việt", "Đỗ Xuân Hợp", "Nguyễn Duy Trinh", "Phạm Văn Đồng", "Kha Vạn Cân",
           "Đặng Văn Bi", "Lã Xuân Oai", "Bưng Ông Thoàn", "Tô Ngọc Vân"]
NAMES = ["Nguyễn Văn Ánh", "Trần Thị Bảo", "Lê Hữu Chí", "Phạm Ngọc Diệp", "Huỳnh Thanh Giang", "Võ Quốc Hạnh",
         "Đặng Đức Hiếu", "Bùi Thu Khuê", "Đỗ Kim Lộc", "Hồ Minh Nhàn", "Ngô Văn Phúc", "Dương Thị Quyên"]
NOTES = ["Đất ở tại đô thị", "Đất trồng cây lâu năm", "Đã cấp giấy chứng nhận", "Đang tranh chấp — chờ hòa giải",
         "Thửa đất nằm trong lộ giới dự kiến", ""]


def demo(n: int, seed: int, folder: Path) -> Path:
    """The demo generator's files for n parcels and a seed; returns the parcels GeoPackage."""
    from demo.city import generate_city
    from demo.files import write_files

    return write_files(generate_city(parcels=n, seed=seed), folder)["parcels"]


def _cells(n: int, seed: int):
    """n Voronoi cells of random points in a square around Thu Duc (EPSG:9210), clipped to the square."""
    import shapely
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    cx, cy = Transformer.from_crs(4326, 9210, always_xy=True).transform(*CENTRE_LONLAT)
    half = (n * MEAN_AREA_M2) ** 0.5 / 2
    square = shapely.box(cx - half, cy - half, cx + half, cy + half)
    points = np.column_stack([rng.uniform(cx - half, cx + half, n), rng.uniform(cy - half, cy + half, n)])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=square))
    cells = shapely.intersection(cells, square)
    # Convex cells clipped by a square stay convex polygons; anything degenerate (a touch) is no parcel.
    return cells[(shapely.get_type_id(cells) == 3) & (shapely.area(cells) > 1.0)], rng


def voronoi(n: int, seed: int, path: Path) -> Path:
    """Writes n Voronoi parcels with Vietnamese columns and text to a GeoPackage in EPSG:9210."""
    import geopandas as gpd
    import pyogrio
    import shapely

    cells, rng = _cells(n, seed)
    count = len(cells)
    index = np.arange(count)
    street = rng.integers(0, len(STREETS), count)
    frame = gpd.GeoDataFrame({
        "ma_phuong": np.array(WARDS)[rng.integers(0, len(WARDS), count)],
        "so_to": index // 500 + 1,
        "so_thua": index % 500 + 1,
        "loai_dat": np.array(LAND_USE)[rng.integers(0, len(LAND_USE), count)],
        "dien_tich": np.round(shapely.area(cells), 1),
        "dia_chi": [f"Số {1 + 2 * (i % 400)} đường {STREETS[s]}, TP. Thủ Đức" for i, s in zip(index, street)],
        "chu_su_dung": np.array(NAMES)[rng.integers(0, len(NAMES), count)],
        "ghi_chu": np.array(NOTES)[rng.integers(0, len(NOTES), count)],
    }, geometry=gpd.GeoSeries(cells, crs=9210), crs=9210)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial.gpkg")  # a crash never leaves a half file that looks cached
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame, tmp, layer="parcels")
    tmp.rename(path)
    return path


if __name__ == "__main__":
    kind, n, seed, where = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    written = {"demo": demo, "voronoi": voronoi}[kind](n, seed, where)
    print(written)
