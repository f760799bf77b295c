"""Catalog entries of the demo city's layers: the three core layers, road reserves, the road network
and rivers (with the boundaries, the city's own basemap), and elevation."""
from layers.schemas import (
    ADMIN_UNITS_SCHEMA, LAND_USE_CODES, PARCELS_SCHEMA, PLANNING_ZONES_SCHEMA, ROAD_RESERVES_SCHEMA, ROADS_SCHEMA,
    WATER_SCHEMA,
)

LICENSE = "CC BY 4.0"
ATTRIBUTION = "Dữ liệu mô phỏng — gisportal demo city"

LAND_USE_COLORS = {
    "ODT": "#f4a582", "ONT": "#fddbc7", "LUC": "#d9f0a3", "LUK": "#addd8e", "BHK": "#c2e699", "CLN": "#78c679",
    "NTS": "#9ecae1", "TMD": "#e7298a", "SKC": "#807dba", "SKK": "#6a51a3", "DGT": "#bdbdbd", "DGD": "#fdae61",
    "DYT": "#d73027", "TSC": "#b2182b", "DVH": "#f46d43", "DTT": "#66bd63", "DKV": "#1a9850", "TON": "#fee08b",
}

ZONE_COLORS = {
    "residential-existing": "#fdd49e", "residential-new": "#fdbb84", "mixed-use": "#ef6548",
    "commercial": "#d7301f", "public-service": "#8c6bb1", "education": "#fc8d59", "health": "#e34a33",
    "green-park": "#41ab5d", "industrial": "#807dba", "water": "#6baed6", "transport": "#bdbdbd",
}

LAYERS = [
    {
        "slug": "admin-units", "title_vi": "Đơn vị hành chính", "title_en": "Administrative units",
        "description_vi": "Ranh giới thành phố, phường (trước và sau sắp xếp 1/7/2025) và khu phố.",
        "description_en": "City, ward (before and after the 1 July 2025 reform) and neighbourhood boundaries.",
        "category": "administrative", "geometry_type": "MultiPolygon", "min_zoom": 9, "max_zoom": 22,
        "keywords": ["ranh giới", "phường", "boundaries", "wards"], "schema": ADMIN_UNITS_SCHEMA,
        "style": {"attribute": "level", "colors": {"city": "#333333", "ward": "#6a3d9a", "neighbourhood": "#cab2d6"},
                  "default": "#6a3d9a", "fill": False},
        "basemap_role": "boundaries",
    },
    {
        "slug": "water", "title_vi": "Sông, kênh, rạch", "title_en": "Rivers and canals",
        "description_vi": "Mặt nước: sông Sài Gòn, sông Đồng Nai.", "description_en": "Water: the Saigon and Dong Nai rivers.",
        "category": "environment", "geometry_type": "Polygon", "min_zoom": 9, "max_zoom": 22,
        "keywords": ["sông", "mặt nước", "rivers", "water"], "schema": WATER_SCHEMA,
        "style": {"attribute": "water_type", "colors": {"river": "#9ecae1", "canal": "#9ecae1", "lake": "#9ecae1"},
                  "default": "#9ecae1"},
        "basemap_role": "water",
    },
    {
        "slug": "roads", "title_vi": "Mạng lưới đường", "title_en": "Road network",
        "description_vi": "Tim đường: đường chính và đường nội bộ, với lộ giới.",
        "description_en": "Road centre-lines: main and local roads, with right-of-way widths.",
        "category": "infrastructure", "geometry_type": "MultiLineString", "min_zoom": 11, "max_zoom": 22,
        "keywords": ["đường", "giao thông", "roads", "streets"], "schema": ROADS_SCHEMA,
        "style": {"attribute": "road_class", "colors": {"main": "#e08e2b", "local": "#8c8c8c"}, "default": "#8c8c8c"},
        "basemap_role": "roads",
    },
    {
        "slug": "planning-zones", "title_vi": "Quy hoạch phân khu 1/2000", "title_en": "Zoning plan 1/2000",
        "description_vi": "Các ô quy hoạch với chức năng sử dụng đất và chỉ tiêu xây dựng.",
        "description_en": "Planning zones with land-use function and building indicators.",
        "category": "planning", "geometry_type": "Polygon", "min_zoom": 11, "max_zoom": 22,
        "keywords": ["quy hoạch", "QHPK", "zoning"], "schema": PLANNING_ZONES_SCHEMA,
        "style": {"attribute": "function", "colors": ZONE_COLORS, "default": "#cccccc"},
    },
    {
        "slug": "road-reserves", "title_vi": "Lộ giới", "title_en": "Road reserves",
        "description_vi": "Chỉ giới đường đỏ theo lộ giới các tuyến đường.",
        "description_en": "Road right-of-way strips.",
        "category": "infrastructure", "geometry_type": "MultiPolygon", "min_zoom": 12, "max_zoom": 22,
        "keywords": ["lộ giới", "đường", "roads"], "schema": ROAD_RESERVES_SCHEMA,
        "style": {"attribute": "width_m", "colors": {}, "default": "#969696"},
    },
    {
        "slug": "parcels", "title_vi": "Thửa đất", "title_en": "Land parcels",
        "description_vi": "Thửa đất địa chính: số tờ, số thửa, loại đất, diện tích pháp lý (VN-2000 TM-3 105°45').",
        "description_en": "Cadastral parcels: map sheet, parcel number, land use, legal area (VN-2000 TM-3 105°45').",
        "category": "land", "geometry_type": "Polygon", "min_zoom": 15, "max_zoom": 22,
        "keywords": ["thửa đất", "địa chính", "parcels", "cadastre"], "schema": PARCELS_SCHEMA,
        "style": {"attribute": "land_use", "colors": {k: v for k, v in LAND_USE_COLORS.items() if k in LAND_USE_CODES},
                  "default": "#dddddd"},
    },
    {
        "slug": "elevation", "kind": "raster", "title_vi": "Cao độ địa hình", "title_en": "Elevation",
        "description_vi": "Mô hình cao độ (m), lưới 25 m.", "description_en": "Terrain elevation (m), 25 m grid.",
        "category": "environment", "min_zoom": 10, "max_zoom": 18, "keywords": ["cao độ", "DEM", "elevation"],
        "raster_info": {"ramp": "terrain", "unit": "m", "vertical_datum": "Hòn Dấu"},
    },
]
