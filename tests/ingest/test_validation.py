"""Row-by-row checks: rejected (missing, empty, NaN, outside Vietnam, wrong type, bad attributes) and repaired rows."""
import json

import numpy as np
import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry
from pyproj import Transformer

from ingest.services import ingest_file
from layers.errors import IngestRejected
from layers.models import Feature
from layers.vn2000 import OFFICIAL_ROTATION_CF_ARCSEC, OFFICIAL_SCALE_PPM, OFFICIAL_SHIFT_M
from tests.factories import make_layer, make_parcel_layer
from tests.ingest.conftest import X0, Y0, parcels_frame, write

pytestmark = pytest.mark.django_db

BOW_TIE = {"type": "Polygon", "coordinates": [[[106.75, 10.85], [106.751, 10.851], [106.751, 10.85],
                                               [106.75, 10.851], [106.75, 10.85]]]}
SQUARE = {"type": "Polygon", "coordinates": [[[106.75, 10.85], [106.751, 10.85], [106.751, 10.851],
                                              [106.75, 10.851], [106.75, 10.85]]]}


def geojson(path, geometries, props=None):
    features = [{"type": "Feature", "properties": (props or [{}] * len(geometries))[i], "geometry": g}
                for i, g in enumerate(geometries)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_bad_geometries_are_rejected_with_row_and_reason(tmp_path):
    layer = make_layer(geometry_type="Polygon")
    path = geojson(tmp_path / "bad.geojson", [
        SQUARE,
        None,                                                       # missing
        {"type": "Polygon", "coordinates": []},                     # empty
        {"type": "Polygon", "coordinates": [[[2.35, 48.85], [2.36, 48.85], [2.36, 48.86], [2.35, 48.85]]]},  # Paris
        {"type": "Point", "coordinates": [106.75, 10.85]},          # wrong type for the layer
    ])
    with pytest.raises(IngestRejected, match="4 rows rejected"):
        ingest_file(path=path, layer=layer)
    assert not Feature.objects.filter(layer=layer).exists()
    run = ingest_file(path=path, layer=layer, max_rejects=4)
    reasons = {r["row"]: r["reason_en"] for r in run.report["rejected"]}
    assert reasons[2] == reasons[3] == "Missing or empty geometry."
    assert "outside Vietnam" in reasons[4] and "Point does not fit" in reasons[5]
    assert run.loaded_count == 1


def test_nan_coordinates_rejected(tmp_path):
    layer = make_layer(geometry_type="Point")
    frame = parcels_frame(2, crs=4326)
    frame["geometry"] = [shapely.Point(106.7, 10.8), shapely.Point(np.nan, 10.8)]
    path = write(frame, tmp_path / "nan.gpkg")
    run = ingest_file(path=path, layer=layer, max_rejects=1)
    assert run.report["rejected"][0]["row"] == 2 and "NaN" in run.report["rejected"][0]["reason_en"]


def test_self_intersecting_polygon_repaired_as_polygon_and_unclosed_ring_closed(tmp_path):
    layer = make_layer(geometry_type="MultiPolygon")
    unclosed = {"type": "Polygon", "coordinates": [[[106.75, 10.85], [106.751, 10.85], [106.751, 10.851],
                                                    [106.75, 10.851]]]}
    run = ingest_file(path=geojson(tmp_path / "fix.geojson", [BOW_TIE, SQUARE, unclosed]), layer=layer)
    assert run.loaded_count == 3 and run.rejected_count == 0
    actions = {r["row"]: r["action"] for r in run.report["repaired"]}
    assert actions[1] == "make_valid" and "Self-intersection" in run.report["repaired"][0]["reason"]
    geoms = {f.geom.geom_type for f in Feature.objects.filter(layer=layer)}
    assert geoms == {"MultiPolygon"}  # kept areal, promoted to the layer's multi type
    assert all(f.geom.valid for f in Feature.objects.filter(layer=layer))


def test_single_part_multipolygons_become_polygons_on_a_polygon_layer(tmp_path):
    layer = make_layer(geometry_type="Polygon")
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}
    run = ingest_file(path=geojson(tmp_path / "m.geojson", [multi]), layer=layer)
    assert Feature.objects.get(layer=layer).geom.geom_type == "Polygon"
    assert run.report["repaired"][0]["action"] == "to-single"


def test_z_dropped_with_a_warning(tmp_path):
    layer = make_layer(geometry_type="Point")
    run = ingest_file(path=geojson(tmp_path / "z.geojson", [{"type": "Point", "coordinates": [106.7, 10.8, 5.0]}]),
                      layer=layer)
    assert not Feature.objects.get(layer=layer).geom.hasz
    assert any("Z/M coordinates dropped" in w for w in run.report["warnings"])


def test_attributes_checked_against_schema_naming_row_field_value(tmp_path):
    layer = make_parcel_layer()
    frame = parcels_frame(4, land_use=["ODT", "XYZ", "ODT", "ODT"], map_sheet=[12, 12, 12, 12],
                          legal_area=[1.0, 2.0, float("nan"), 4.0])
    frame["parcel_no"] = ["1", "2", "3", "bốn"]
    run = ingest_file(path=write(frame, tmp_path / "attrs.gpkg"), layer=layer, max_rejects=10)
    rejected = {(r["row"], r["field"], r["value"]) for r in run.report["rejected"]}
    assert rejected == {(2, "land_use", "XYZ"), (3, "legal_area", None), (4, "parcel_no", "bốn")}
    stored = Feature.objects.get(layer=layer)
    assert stored.properties["parcel_no"] == 1 and isinstance(stored.properties["parcel_no"], int)


def test_html_in_attributes_is_stored_as_text(tmp_path):
    layer = make_layer(geometry_type="Polygon")
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ingest_file(path=geojson(tmp_path / "xss.geojson", [SQUARE], [{"name": script}]), layer=layer)
    assert Feature.objects.get(layer=layer).properties["name"] == script


def test_200000_vertex_polygon_is_accepted(tmp_path):
    layer = make_layer(geometry_type="Polygon")
    angles = np.linspace(0, 2 * np.pi, 200_000, endpoint=False)
    ring = np.column_stack([X0 + 500 * np.cos(angles), Y0 + 500 * np.sin(angles)])
    frame = parcels_frame(1)
    frame["geometry"] = [shapely.Polygon(ring)]
    run = ingest_file(path=write(frame, tmp_path / "big.gpkg"), layer=layer)
    assert run.loaded_count == 1 and Feature.objects.get(layer=layer).geom.num_coords == 200_001


def test_vn2000_lands_within_a_centimetre_of_the_official_parameters(tmp_path):
    """Independent of layers/vn2000: the published coordinate-frame Helmert, written here as PROJ's pipeline."""
    layer = make_layer(geometry_type="Point")
    points = [(X0, Y0), (605_123.45, 1_210_987.65)]
    frame = parcels_frame(2)
    frame["geometry"] = [shapely.Point(p) for p in points]
    ingest_file(path=write(frame, tmp_path / "pts.gpkg"), layer=layer)
    rx, ry, rz = OFFICIAL_ROTATION_CF_ARCSEC
    pipeline = Transformer.from_pipeline(
        "+proj=pipeline +step +inv +proj=tmerc +lat_0=0 +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
        "+step +proj=cart +ellps=WGS84 "
        f"+step +proj=helmert +x={OFFICIAL_SHIFT_M[0]} +y={OFFICIAL_SHIFT_M[1]} +z={OFFICIAL_SHIFT_M[2]} "
        f"+rx={rx} +ry={ry} +rz={rz} +s={OFFICIAL_SCALE_PPM} +convention=coordinate_frame "
        "+step +inv +proj=cart +ellps=WGS84 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )
    stored = [f.geom for f in Feature.objects.filter(layer=layer).order_by("properties__parcel_no")]
    for (x, y), geom in zip(points, stored):
        lon, lat = pipeline.transform(x, y)
        expected = GEOSGeometry(f"SRID=4326;POINT({lon} {lat})").transform(32648, clone=True)
        assert geom.transform(32648, clone=True).distance(expected) < 0.01


NOI_BO = ('PROJCS["VN_2000_noi_bo_KT105_45",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",SPHEROID["WGS_1984",'
          '6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
          'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
          'PARAMETER["Central_Meridian",105.75],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],'
          'UNIT["Meter",1.0]]')


def test_vn2000_prj_without_datum_shift_is_flagged_and_pinned(tmp_path):
    layer = make_parcel_layer()
    path = write(parcels_frame(1), tmp_path / "noibo.shp")
    path.with_suffix(".prj").write_text(NOI_BO)
    run = ingest_file(path=path, layer=layer)
    assert any("VN-2000 nội bộ" in w for w in run.report["warnings"])
    assert run.crs_used.startswith("EPSG:9210") and "6960" in run.crs_used
    gpkg = ingest_file(path=write(parcels_frame(1), tmp_path / "epsg.gpkg"), layer=layer)
    assert not gpkg.report["warnings"]  # a file that says EPSG:9210 is not flagged


def test_csv_with_northing_in_x_is_swapped_with_a_warning(tmp_path):
    """Vietnamese surveys call northing X: X ≈ 1,196,000 and Y ≈ 612,000 in TM-3 105-45 are swapped, and said so."""
    layer = make_layer(geometry_type="Point")
    path = tmp_path / "khao_sat.csv"
    path.write_text(f"diem,X,Y\nA,{Y0},{X0}\n", encoding="utf-8")
    run = ingest_file(path=path, layer=layer, crs="EPSG:9210")
    assert any("northing" in w for w in run.report["warnings"])
    feature = Feature.objects.get(layer=layer)
    assert 106.7 < feature.geom.x < 106.9 and 10.7 < feature.geom.y < 10.9
