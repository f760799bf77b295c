"""Every format through the same pipeline: Shapefile (folder, zip), GeoPackage, GeoJSON(Seq), KML/KMZ, CSV, FileGDB."""
import json

import pytest

from ingest.services import ingest_file
from layers.errors import IngestRejected
from layers.models import Feature, Layer
from tests.factories import make_layer, make_parcel_layer
from tests.ingest.conftest import parcels_frame, shapefile_members, write, zip_files

pytestmark = pytest.mark.django_db

POINTS = [(106.75, 10.85, "Trường Tiểu học An Khánh"), (106.76, 10.86, "Trạm y tế <Linh Tây>")]


def lonlat_of(layer):
    return sorted(tuple(round(c, 6) for c in f.geom.coords) for f in Feature.objects.filter(layer=layer))


def point_layer(**fields):
    return make_layer(geometry_type="Point", **fields)


def test_shapefile_folder_and_zip_with_several_choose_one(tmp_path):
    layer = make_parcel_layer()
    folder = tmp_path / "shp"
    folder.mkdir()
    write(parcels_frame(2), folder / "thua_dat.shp", encoding="UTF-8")
    write(parcels_frame(1), folder / "khac.shp", encoding="UTF-8")
    assert ingest_file(path=folder / "thua_dat.shp", layer=layer).loaded_count == 2

    archive = zip_files(tmp_path / "both.zip", {**shapefile_members(folder, "thua_dat"),
                                                **{f"sub/{k}": v for k, v in shapefile_members(folder, "khac").items()}})
    with pytest.raises(IngestRejected, match=r"several datasets \(sub/khac.shp, thua_dat.shp\)"):
        ingest_file(path=archive, layer=layer)
    run = ingest_file(path=archive, layer=layer, source_layer="khac")
    assert run.read_count == 1 and run.report["deleted"] == 1 and Feature.objects.filter(layer=layer).count() == 1


def test_geopackage_lists_its_layers_when_none_is_chosen(tmp_path):
    layer = make_parcel_layer()
    path = write(parcels_frame(2), tmp_path / "two.gpkg", layer="thua_dat")
    write(parcels_frame(1), path, layer="ranh_gioi", append=False)
    with pytest.raises(IngestRejected, match=r"several layers \(thua_dat, ranh_gioi\)"):
        ingest_file(path=path, layer=layer)
    assert Feature.objects.filter(layer=layer).count() == 0
    assert ingest_file(path=path, layer=layer, source_layer="ranh_gioi").loaded_count == 1
    with pytest.raises(IngestRejected, match="No layer nope"):
        ingest_file(path=path, layer=layer, source_layer="nope")


def _features():
    return [{"type": "Feature", "properties": {"name": n}, "geometry": {"type": "Point", "coordinates": [x, y]}}
            for x, y, n in POINTS]


def test_geojson_and_geojsonseq(tmp_path):
    layer = point_layer()
    path = tmp_path / "schools.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": _features()}), encoding="utf-8")
    assert ingest_file(path=path, layer=layer).loaded_count == 2
    seq = tmp_path / "schools.geojsonl"
    seq.write_text("\n".join(json.dumps(f) for f in _features()) + "\n", encoding="utf-8")
    assert ingest_file(path=seq, layer=layer, mode="append").loaded_count == 2
    assert lonlat_of(layer) == sorted([(106.75, 10.85), (106.76, 10.86)] * 2)
    names = set(Feature.objects.filter(layer=layer).values_list("properties__name", flat=True))
    assert names == {"Trường Tiểu học An Khánh", "Trạm y tế <Linh Tây>"}  # stored as text, verbatim


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
{marks}
</Document></kml>"""


def _kml() -> str:
    marks = "".join(f"<Placemark><name>{n.replace('<', '&lt;').replace('>', '&gt;')}</name>"
                    f"<Point><coordinates>{x},{y},0</coordinates></Point></Placemark>" for x, y, n in POINTS)
    return KML.format(marks=marks)


def test_kml_and_kmz(tmp_path):
    layer = point_layer()
    path = tmp_path / "google_earth.kml"
    path.write_text(_kml(), encoding="utf-8")
    run = ingest_file(path=path, layer=layer)
    assert run.loaded_count == 2 and run.crs_used.startswith("EPSG:4326")
    assert lonlat_of(layer) == [(106.75, 10.85), (106.76, 10.86)]
    kmz = zip_files(tmp_path / "earth.kmz", {"doc.kml": _kml().encode()})
    again = ingest_file(path=kmz, layer=layer)
    assert again.read_count == 2 and again.report["unchanged"] == 2  # the same points: replace changes nothing


@pytest.mark.parametrize("header,rows,crs", [
    ("ten,kinh_do,vi_do", ["A,106.75,10.85", "B,106.76,10.86"], None),
    ("name,Longitude,Latitude", ["A,106.75,10.85", "B,106.76,10.86"], None),
    ("name,wkt", ['A,"POINT (106.75 10.85)"', 'B,"POINT (106.76 10.86)"'], "4326"),  # WKT carries no CRS
])
def test_csv_lonlat_and_wkt(tmp_path, header, rows, crs):
    layer = point_layer()
    path = tmp_path / "points.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    run = ingest_file(path=path, layer=layer, crs=crs)
    assert run.loaded_count == 2
    assert lonlat_of(layer) == [(106.75, 10.85), (106.76, 10.86)]
    props = Feature.objects.filter(layer=layer).first().properties
    assert not {"kinh_do", "vi_do", "longitude", "wkt"} & set(props)


def test_csv_xy_needs_crs_and_names_candidates(tmp_path):
    layer = point_layer()
    path = tmp_path / "vn2000.csv"
    path.write_text("ten,X,Y\nA,612000.5,1196000.25\n", encoding="utf-8")
    with pytest.raises(IngestRejected) as refused:
        ingest_file(path=path, layer=layer)
    assert "TM-3 105-45" in refused.value.message_en and "--crs" in refused.value.message_en
    assert "EPSG:9210" in refused.value.message_vi
    run = ingest_file(path=path, layer=layer, crs="EPSG:9210")
    assert run.loaded_count == 1 and run.crs_used.startswith("EPSG:9210")


def test_file_geodatabase(tmp_path):
    layer = make_parcel_layer()
    gdb = write(parcels_frame(2), tmp_path / "cadastre.gdb", driver="OpenFileGDB", layer="thua_dat")
    run = ingest_file(path=gdb, layer=layer)
    assert run.loaded_count == 2 and run.crs_used.startswith("EPSG:9210")
    zipped = zip_files(tmp_path / "cadastre.zip", {f"cadastre.gdb/{p.name}": p for p in gdb.iterdir()})
    again = ingest_file(path=zipped, layer=layer)
    assert again.read_count == 2 and again.report["unchanged"] == 2


def test_create_mode_point_layer_from_geojson(tmp_path):
    path = tmp_path / "tram_quan_trac.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": _features()}), encoding="utf-8")
    ingest_file(path=path, layer="tram", mode="create")
    assert Layer.objects.get(slug="tram").geometry_type == "Point"
