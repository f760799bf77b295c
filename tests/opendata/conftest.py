"""Tiny fixtures for open data: a parcel layer with Vietnamese text, a schemaless layer, a restricted one."""
import pytest

from tests.factories import make_feature, make_layer, make_parcel_layer, square

PARCELS = [
    # (lon, lat, ward, sheet, no, land use, area, address)
    (106.730, 10.800, "26794", 12, 1, "ODT", 120.5, "Số 1 đường Thảo Điền, phường Thảo Điền"),
    (106.731, 10.800, "26794", 12, 2, "CLN", 300.0, "Số 3 Nguyễn Văn Hưởng"),
    (106.732, 10.801, "26794", 13, 7, "ODT", 85.25, "Hẻm 12 Quốc Hương"),
    (106.800, 10.850, "26800", 4, 15, "TMD", 1000.0, "Xa lộ Hà Nội, Thủ Đức"),
    (106.801, 10.851, "26800", 4, 16, "DGT", 45.0, None),
]


@pytest.fixture(autouse=True)
def opendata_settings(settings, tmp_path):
    settings.OPENDATA_CACHE_DIR = tmp_path / "cache"
    settings.OPENDATA_RATE_ANON = 10_000
    settings.OPENDATA_RATE_TOKEN = 100_000
    return settings


@pytest.fixture
def parcels(db):
    layer = make_parcel_layer(slug="parcels", title_vi="Thửa đất", title_en="Land parcels",
                              description_vi="Thửa đất phường Thảo Điền", keywords=["đất đai", "cadastre"],
                              license="CC BY 4.0", attribution="Sở Tài nguyên và Môi trường")
    for lon, lat, ward, sheet, no, use, area, address in PARCELS:
        props = {"ward_code": ward, "map_sheet": sheet, "parcel_no": no, "land_use": use, "legal_area": area}
        if address:
            props["address"] = address
        make_feature(layer, square(lon, lat), props, refresh=False)
    from layers.services import layer_refresh_stats

    return layer_refresh_stats(layer=layer)


@pytest.fixture
def secret(db):
    layer = make_layer(slug="secret-bunkers", title_vi="Hầm bí mật", title_en="Secret bunkers", is_public=False)
    make_feature(layer, square(106.75, 10.82), {"name": "Hầm A"})
    return layer


@pytest.fixture
def points(db):
    """A layer without a schema: its fields come from the data."""
    layer = make_layer(slug="wells", title_vi="Giếng nước", title_en="Wells", geometry_type="Point")
    make_feature(layer, "POINT(106.75 10.82)", {"tên": "Giếng Đình", "depth": 12}, refresh=False)
    make_feature(layer, "POINT(179.5 10.0)", {"tên": "Far east", "depth": 3}, refresh=False)
    make_feature(layer, "POINT(-179.5 10.0)", {"tên": "Far west", "depth": 4})
    return layer
