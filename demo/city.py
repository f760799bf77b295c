"""A plausible Thu Duc, generated deterministically in VN-2000 / TM-3 105-45 metres (EPSG:9210).

Streets form a jittered grid; the grid's cells tile the city, so wards (unions of cells), blocks and
parcels (bilinear subdivisions of cells) nest without gaps or overlaps. The 2025 wards are unions of cells
too: a former ward split between two new wards is cut along a street, so every parcel lies in one. Planning zones are an
independent Voronoi tiling, so parcels straddle zones as real ones do. All areas are plane areas in
TM-3 105-45, the plane the law measures parcels in.
"""
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from demo.shapes import lineal, main_polygon, polygonal
from demo.wards import FORMER_WARDS, MAIN_ROADS, NEW_WARDS, SUCCESSORS
from layers.schemas import ZONE_FUNCTIONS
from layers.vn2000 import LEGAL_AREA_SRID, WGS84_SRID, transformer

CELL_SIZE = 300.0  # metres between street centre-lines
JITTER = 55.0  # how far grid nodes wander, metres
GRID_ROTATION_DEG = 8.0
CITY_LONLAT_BOUNDS = (106.70, 10.74, 106.88, 10.90)


@dataclass
class City:
    """Every generated layer as shapely arrays (EPSG:9210) with their attribute columns."""

    boundary: Polygon
    wards: list[dict]  # the former wards: {code, name, new_codes, geom}
    new_wards: list[dict]  # the wards since 1 July 2025: {code, name, geom}
    neighbourhoods: list[dict]
    roads: list[dict]  # road reserves: {road_name, width_m, geom}
    centrelines: list[dict]  # {road_name, road_class, width_m, geom}
    water: list[dict]  # {name, water_type, geom}
    zones: list[dict]
    parcels: dict  # columns: geom (array), ward_code, map_sheet, parcel_no, land_use, legal_area, address,
    # chu_su_dung, so_cccd (made-up owners: personal fields, so the platform really carries such data)
    elevation: tuple[np.ndarray, tuple[float, float, float, float], float]  # grid, bounds, pixel size


def _to_tm3(lon, lat):
    return transformer(WGS84_SRID, LEGAL_AREA_SRID).transform(lon, lat)


def _boundary(rng: np.random.Generator, seeds: np.ndarray) -> Polygon:
    """A wobbly envelope around the ward seeds, kept inside the city's lon/lat box."""
    hull = shapely.convex_hull(shapely.multipoints(seeds)).buffer(1600, quad_segs=32)
    ring = np.asarray(hull.exterior.coords)[:-1]
    centre = ring.mean(axis=0)
    t = np.linspace(0, 2 * np.pi, len(ring), endpoint=False)
    phases = rng.uniform(0, 2 * np.pi, 4)
    wobble = sum(a * np.sin(k * t + p) for a, k, p in zip((420, 260, 160, 90), (3, 5, 9, 17), phases))
    direction = ring - centre
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    shape = Polygon(ring + direction * wobble[:, None]).buffer(0)
    w, s, e, n = CITY_LONLAT_BOUNDS
    box_lonlat = np.array([(w, s), (e, s), (e, n), (w, n)])
    box = Polygon(np.column_stack(_to_tm3(box_lonlat[:, 0], box_lonlat[:, 1])))
    city = main_polygon(shapely.intersection(shape, box))
    if city.is_empty:  # the seeds sit in the box, so this would be a bug, not a seed's bad luck
        raise ValueError("the city's outline missed its lon/lat box")
    return city


def _grid(rng: np.random.Generator, boundary: Polygon):
    """Jittered, slightly rotated street-grid nodes covering the boundary: array (rows, cols, 2)."""
    xmin, ymin, xmax, ymax = boundary.bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2])
    half = max(xmax - xmin, ymax - ymin) * 0.75
    steps = np.arange(-half, half + CELL_SIZE, CELL_SIZE)
    gx, gy = np.meshgrid(steps, steps)
    nodes = np.stack([gx, gy], axis=-1) + rng.uniform(-JITTER, JITTER, (*gx.shape, 2))
    a = np.radians(GRID_ROTATION_DEG)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return nodes @ rot.T + centre


def _cells(nodes: np.ndarray, boundary: Polygon):
    """Grid cells (as corner quads) that touch the city, with their clipped shapes."""
    rows, cols = nodes.shape[0] - 1, nodes.shape[1] - 1
    ii, jj = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    corners = np.stack([nodes[ii, jj], nodes[ii, jj + 1], nodes[ii + 1, jj + 1], nodes[ii + 1, jj]], axis=1)
    quads = shapely.polygons(np.concatenate([corners, corners[:, :1]], axis=1))
    shapely.prepare(boundary)
    touching = shapely.intersects(boundary, quads)
    inside = shapely.contains_properly(boundary, quads)
    # An edge cell's clip may be a collection (polygon + a point or line where the cell grazes the edge).
    cuts = shapely.intersection(quads, boundary)
    clipped = np.array([quad if whole else polygonal(cut) for quad, whole, cut in zip(quads, inside, cuts)], dtype=object)
    keep = touching & (shapely.area(clipped) > 1.0)
    return corners[keep], clipped[keep], inside[keep], ii[keep], jj[keep]


def _group_union(shapes: np.ndarray, labels: np.ndarray) -> dict:
    """Union of cell shapes per label (cells tile the plane, so a coverage union is exact)."""
    out = {}
    for label in np.unique(labels):
        part = shapely.coverage_union_all(shapes[labels == label])
        out[label] = polygonal(shapely.make_valid(part) if not part.is_valid else part)  # make_valid may add lines
    return out


def _split_cut(cells: np.ndarray, grid_index: np.ndarray, towards: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Which of a split ward's cells go to its second new ward: those past a street (a grid line) across the
    ward, on the side facing that ward; `towards` points from the first new ward to the second."""
    along = axes @ towards  # the direction in grid steps (column, row)
    for axis in np.argsort(-np.abs(along)):  # the street most across the direction first
        index = grid_index[cells, axis]
        cut = int(np.median(index))
        beyond = index >= cut if along[axis] > 0 else index < cut
        if beyond.any() and not beyond.all():
            return beyond
        beyond = index > cut if along[axis] > 0 else index <= cut
        if beyond.any() and not beyond.all():
            return beyond
    raise ValueError("a split ward needs cells on both sides of a street")


def _new_ward_of_cells(seeds: np.ndarray, ward_of_cell: np.ndarray, grid_index: np.ndarray) -> np.ndarray:
    """Each cell's new ward code: its former ward's successor, or for a split ward the side of the cut it is on."""
    codes = [w[0] for w in FORMER_WARDS]
    new_of_cell = np.array([SUCCESSORS[codes[k]][0] for k in ward_of_cell], dtype=object)
    a = np.radians(GRID_ROTATION_DEG)
    axes = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # unit steps along columns, along rows
    whole = {code: seeds[[i for i, c in enumerate(codes) if SUCCESSORS[c] == (code,)]].mean(axis=0)
             for code in NEW_WARDS}
    for idx, code in enumerate(codes):
        if len(SUCCESSORS[code]) == 2:
            first, second = SUCCESSORS[code]
            cells = np.flatnonzero(ward_of_cell == idx)
            beyond = _split_cut(cells, grid_index, whole[second] - whole[first], axes)
            new_of_cell[cells[beyond]] = second
    return new_of_cell


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    d = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def _bilinear(corners: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Points at parameters (u, v) inside quads with corners (a, b, c, d) = (0,0), (1,0), (1,1), (0,1)."""
    a, b, c, d = (corners[:, k][:, None, :] for k in range(4))
    u, v = u[..., None], v[..., None]
    return (1 - u) * (1 - v) * a + u * (1 - v) * b + u * v * c + (1 - u) * v * d


def _land_use(rng: np.random.Generator, n: int, east: np.ndarray) -> np.ndarray:
    """Mostly urban housing; more farmland to the east (former District 9), as in the real city."""
    urban = np.array(["ODT", "ODT", "ODT", "ODT", "TMD", "SKC", "DGD", "CLN", "TSC", "DYT"])
    rural = np.array(["ODT", "ODT", "CLN", "LUK", "BHK", "NTS", "ONT", "CLN"])
    pick_urban = urban[rng.integers(0, len(urban), n)]
    pick_rural = rural[rng.integers(0, len(rural), n)]
    return np.where(east > rng.uniform(0.55, 1.1, n), pick_rural, pick_urban)


def _address(number: int, road: str, ward: str) -> str:
    """A parcel's address from its place along the road (odd numbers 1, 3, 5, ...), deterministic: of every
    ten, the fifth is the head of an alley and the five after it lie in that alley, numbered as residents
    write them (12/1, 12/1A, 12/1B, số 2 hẻm 12/1, 12/3/4/2), so the search meets real shapes."""
    place = (number - 1) // 2 % 10
    if place <= 4:
        return f"{number} {road}, phường {ward}"
    head = number - 2 * (place - 4)
    house = {5: f"{head}/1", 6: f"{head}/1A", 7: f"{head}/1B", 8: f"số 2 hẻm {head}/1", 9: f"{head}/3/4/2"}[place]
    return f"{house} {road}, phường {ward}"


def _parcels(rng, corners, clipped, inside, ward_of_cell, sheet_of_cell, wards_info, road_names, total: int):
    """Parcels: each cell's block subdivided into rows of irregular strips; sheet = cell, number = order."""
    margin = 0.05  # the street reserve around each block, as a share of the cell
    areas = shapely.area(clipped)
    per_cell = np.maximum(1, np.round(total * areas / areas.sum())).astype(int)
    geoms, ward_codes, sheets, numbers, addresses = [], [], [], [], []
    next_house: dict[str, int] = {}  # house numbers run on along each road, odd numbers on this side
    xmin = corners[:, :, 0].min()
    xspan = corners[:, :, 0].max() - xmin
    for k in range(len(corners)):
        n = per_cell[k]
        rows = max(1, int(round(np.sqrt(n / 2.5))))
        counts = np.full(rows, n // rows)
        counts[: n % rows] += 1
        step = (1 - 2 * margin) / rows  # rows of about equal depth, each edge moved by up to a quarter row
        v_edges = margin + step * np.arange(rows + 1)
        v_edges[1:-1] += rng.uniform(-0.25, 0.25, rows - 1) * step
        cell_polys = []
        for r, c in enumerate(counts):
            widths = rng.gamma(4.0, 1.0, c)
            u_edges = margin + (1 - 2 * margin) * np.concatenate([[0], np.cumsum(widths) / widths.sum()])
            u0, u1 = u_edges[:-1], u_edges[1:]
            v0 = np.full(c, v_edges[r])
            v1 = np.full(c, v_edges[r + 1])
            quad = np.stack([
                _bilinear(corners[k:k + 1], u0[None], v0[None])[0],
                _bilinear(corners[k:k + 1], u1[None], v0[None])[0],
                _bilinear(corners[k:k + 1], u1[None], v1[None])[0],
                _bilinear(corners[k:k + 1], u0[None], v1[None])[0],
            ], axis=1)
            cell_polys.append(shapely.polygons(np.concatenate([quad, quad[:, :1]], axis=1)))
        polys = np.concatenate(cell_polys)
        if not inside[k]:  # a cell on the city edge: clip to the city, keep the main piece of each parcel
            polys = shapely.intersection(polys, clipped[k])
            polys = np.array([main_polygon(p) for p in polys], dtype=object)
        polys = polys[shapely.area(polys) >= 20.0]  # slivers are no parcels
        ward = wards_info[ward_of_cell[k]]
        geoms.append(polys)
        ward_codes += [ward["code"]] * len(polys)
        sheets += [int(sheet_of_cell[k])] * len(polys)
        numbers += list(range(1, len(polys) + 1))
        road = road_names[k]
        first = next_house.get(road, 1)
        addresses += [_address(first + 2 * i, road, ward["name"]) for i in range(len(polys))]
        next_house[road] = first + 2 * len(polys)
    geom = np.concatenate(geoms)
    east = (shapely.get_x(shapely.centroid(geom)) - xmin) / xspan
    return {
        "geom": geom,
        "ward_code": np.array(ward_codes),
        "map_sheet": np.array(sheets),
        "parcel_no": np.array(numbers),
        "land_use": _land_use(rng, len(geom), east),
        "legal_area": np.round(shapely.area(geom), 1),
        "address": np.array(addresses),
    }


_SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
             "Ngô", "Dương", "Lý"]
_MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Quốc", "Đức", "Thu", "Kim"]
_GIVEN = ["Ánh", "Bảo", "Chi", "Diệp", "Giang", "Hạnh", "Hiếu", "Khang", "Khuê", "Lộc", "Mẫn", "Nhàn", "Phúc",
          "Quyên", "Sang", "Tâm", "Thắm", "Tín", "Uyên", "Vỹ", "Xuân", "Yến", "Duyên", "Ngân"]


def _owners(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Made-up land users' names and 12-digit CCCD numbers (079: Ho Chi Minh City), one per parcel.
    Their own generator: the rest of the city is the same with or without them."""
    rng = np.random.default_rng([seed, 132023])  # 13/2023: the personal-data decree
    names = [f"{_SURNAMES[a]} {_MIDDLE[b]} {_GIVEN[c]}" for a, b, c in zip(
        rng.integers(0, len(_SURNAMES), n), rng.integers(0, len(_MIDDLE), n), rng.integers(0, len(_GIVEN), n))]
    # CCCD: province 079, century-and-sex digit, two digits of the birth year, six random digits.
    ids = [f"079{s}{y:02d}{r:06d}" for s, y, r in zip(
        rng.integers(0, 4, n), rng.integers(0, 100, n), rng.integers(0, 1_000_000, n))]
    return np.array(names), np.array(ids)


def _roads(nodes: np.ndarray, boundary: Polygon) -> tuple[list[dict], list[dict], dict[int, str]]:
    """Road reserves and centre-lines along every grid line: main roads every fourth line, named; the
    rest numbered."""
    roads, centrelines, row_names = [], [], {}
    number = 1
    main = iter(MAIN_ROADS)
    for axis in (0, 1):
        lines = nodes if axis == 0 else nodes.transpose(1, 0, 2)
        for i, line in enumerate(lines):
            is_main = i % 4 == 0
            width = 40.0 if is_main else 13.0 + 3.0 * (i % 3)
            centreline = shapely.linestrings(line)
            # Clips of a strip or a line at the city's edge can be collections, empty, or lower-dimension.
            strip = polygonal(shapely.intersection(centreline.buffer(width / 2, cap_style="flat"), boundary))
            name = None
            if not strip.is_empty and strip.area > 100:  # only roads inside the city take a name
                name = next(main, None) if is_main else None
                if name is None:
                    name, number = f"Đường số {number}", number + 1
                roads.append({"road_name": name, "width_m": width, "geom": strip})
                inside = lineal(shapely.intersection(centreline, boundary))
                if not inside.is_empty:
                    centrelines.append({"road_name": name, "road_class": "main" if is_main else "local",
                                        "width_m": width, "geom": inside})
            if axis == 0 and name:
                row_names[i] = name
    return roads, centrelines, row_names


# The rivers that bound Thu Duc, as compass sectors seen from the city's centre (degrees, counter-
# clockwise from east) and widths: the Saigon River along the west and south, the Dong Nai to the east.
RIVERS = [("Sông Sài Gòn", 95.0, 285.0, 320.0), ("Sông Đồng Nai", 320.0, 385.0, 420.0)]


def _water(boundary: Polygon) -> list[dict]:
    """Rivers along the city's edge, just outside it (a river is the boundary: parcels stay whole)."""
    cx, cy = boundary.centroid.x, boundary.centroid.y
    reach = 4 * max(boundary.bounds[2] - boundary.bounds[0], boundary.bounds[3] - boundary.bounds[1])
    rivers = []
    for name, start, end, width in RIVERS:
        angles = np.radians(np.linspace(start, end, 64))
        sector = Polygon([(cx, cy), *zip(cx + reach * np.cos(angles), cy + reach * np.sin(angles))])
        band = shapely.difference(boundary.buffer(width, quad_segs=16), boundary)
        river = main_polygon(shapely.intersection(band, sector))
        if not river.is_empty:
            rivers.append({"name": name, "water_type": "river", "geom": river})
    return rivers


def _zones(rng: np.random.Generator, boundary: Polygon, count: int, wards: list[dict]) -> list[dict]:
    """About `count` planning zones tiling the city, with indicators that fit their function."""
    xmin, ymin, xmax, ymax = boundary.bounds
    pts = np.column_stack([rng.uniform(xmin, xmax, count * 2), rng.uniform(ymin, ymax, count * 2)])
    pts = pts[shapely.contains_xy(boundary, pts[:, 0], pts[:, 1])][:count]
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=boundary.envelope))
    cells = shapely.intersection(cells, boundary)
    functions = list(ZONE_FUNCTIONS)
    weights = np.array([30, 14, 10, 8, 6, 4, 2, 10, 5, 4, 7], dtype=float)
    indicators = {
        "residential-existing": (60, 5, 3.0), "residential-new": (40, 15, 5.0), "mixed-use": (50, 30, 9.0),
        "commercial": (50, 25, 8.0), "public-service": (40, 5, 2.0), "education": (40, 5, 2.0),
        "health": (40, 9, 3.5), "green-park": (5, 1, 0.05), "industrial": (60, 3, 1.8), "water": (0, 0, 0.0),
        "transport": (0, 0, 0.0),
    }
    ward_geoms = np.array([w["geom"] for w in wards], dtype=object)
    zones = []
    for k, cell in enumerate(cells):
        cell = main_polygon(cell)
        if cell.is_empty:
            continue
        function = functions[rng.choice(len(functions), p=weights / weights.sum())]
        density, floors, far = indicators[function]
        ward = wards[int(np.argmax(shapely.intersects(ward_geoms, cell.representative_point())))]
        zones.append({
            "zone_code": f"{ward['code'][-3:]}-{chr(65 + k % 26)}{k // 26 + 1}",
            "function": function,
            "max_density": float(density),
            "max_floors": int(floors),
            "far": float(far),
            "plan_name": f"Quy hoạch phân khu tỷ lệ 1/2000 phường {ward['name']}",
            "decision_no": f"{1000 + k % 900}/QĐ-UBND",
            "decision_date": f"20{18 + k % 6}-{1 + k % 12:02d}-{1 + k % 27:02d}",
            "geom": cell,
        })
    return zones


def _elevation(rng: np.random.Generator, boundary: Polygon, pixel: float = 25.0):
    """A smooth terrain: hills to the north and north-east, low land by the river to the south-west."""
    xmin, ymin, xmax, ymax = (np.floor(b / pixel) * pixel for b in boundary.bounds)
    xs = np.arange(xmin, xmax + pixel, pixel) + pixel / 2
    ys = np.arange(ymax + pixel, ymin, -pixel) - pixel / 2
    gx, gy = np.meshgrid(xs, ys)
    nx, ny = (gx - xmin) / (xmax - xmin), (gy - ymin) / (ymax - ymin)
    base = 0.6 + 24.0 * np.clip(ny * 0.8 + nx * 0.5 - 0.35, 0, None) ** 1.4
    ripple = 1.2 * np.sin(gx / 900 + rng.uniform(0, 6)) * np.cos(gy / 1300 + rng.uniform(0, 6))
    grid = (base + ripple).astype("float32")
    inside = shapely.contains_xy(boundary, gx, gy)
    grid[~inside] = -9999.0
    return grid, (xmin, ymin, xmax + pixel, ymax + pixel), pixel


def generate_city(*, parcels: int, seed: int, zones: int = 2000) -> City:
    """The whole demo city for a parcel count and a seed; the same inputs always give the same city."""
    rng = np.random.default_rng(seed)
    lon = np.array([w[2] for w in FORMER_WARDS])
    lat = np.array([w[3] for w in FORMER_WARDS])
    seeds = np.column_stack(_to_tm3(lon, lat))
    boundary = _boundary(rng, seeds)
    nodes = _grid(rng, boundary)
    corners, clipped, inside, rows_i, cols_j = _cells(nodes, boundary)
    centroids = shapely.get_coordinates(shapely.centroid(clipped))
    ward_of_cell = _nearest(centroids, seeds)

    wards = []
    ward_shapes = _group_union(clipped, ward_of_cell)
    for idx, (code, name, _, _) in enumerate(FORMER_WARDS):
        wards.append({"code": code, "name": name, "new_codes": SUCCESSORS[code], "geom": ward_shapes[idx]})
    new_of_cell = _new_ward_of_cells(seeds, ward_of_cell, np.column_stack([cols_j, rows_i]))
    new_wards = [{"code": code, "name": NEW_WARDS[code], "geom": geom}
                 for code, geom in _group_union(clipped, new_of_cell).items()]

    neighbourhoods = []
    sheet_of_cell = np.zeros(len(clipped), dtype=int)
    for idx, ward in enumerate(wards):
        members = np.flatnonzero(ward_of_cell == idx)
        sheet_of_cell[members] = np.arange(1, len(members) + 1)
        k = int(np.clip(len(members) // 6, 2, 8))
        hood_seeds = centroids[members[rng.choice(len(members), size=min(k, len(members)), replace=False)]]
        labels = _nearest(centroids[members], hood_seeds)
        for j, shape in _group_union(clipped[members], labels).items():
            neighbourhoods.append({"code": f"{ward['code']}-KP{j + 1:02d}", "name": f"Khu phố {j + 1}",
                                   "parent_code": ward["code"], "geom": shape})

    roads, centrelines, row_names = _roads(nodes, boundary)
    road_of_cell = [row_names.get(int(i), "Đường số 1") for i in rows_i]
    parcel_cols = _parcels(rng, corners, clipped, inside, ward_of_cell, sheet_of_cell, wards, road_of_cell, parcels)
    parcel_cols["chu_su_dung"], parcel_cols["so_cccd"] = _owners(seed, len(parcel_cols["geom"]))
    return City(
        boundary=boundary,
        wards=wards,
        new_wards=new_wards,
        neighbourhoods=neighbourhoods,
        roads=roads,
        centrelines=centrelines,
        water=_water(boundary),
        zones=_zones(rng, boundary, zones, wards),
        parcels=parcel_cols,
        elevation=_elevation(rng, boundary),
    )
