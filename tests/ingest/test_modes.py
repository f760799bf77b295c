"""Modes create|replace|append|upsert, --map, --max-rejects, --dry-run, and the CLI, on real PostGIS."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingest.models import IngestRun
from ingest.services import ingest_file
from layers.errors import IngestRejected
from layers.models import Feature, Layer
from tests.factories import make_feature, make_parcel_layer, square
from tests.ingest.conftest import parcels_frame, write

pytestmark = pytest.mark.django_db


def snapshot(layer):
    return sorted(Feature.objects.filter(layer=layer).values_list("id", "properties", "version", "updated_at"), key=str)


def test_replace_loads_all_rows_in_wgs84_and_records_the_run(parcels_gpkg):
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(106.7, 10.8), {"ward_code": "1", "map_sheet": 1, "parcel_no": 99, "land_use": "ODT",
                                               "legal_area": 1.0})

    run = ingest_file(path=parcels_gpkg, layer=layer, mode="replace")

    assert (run.status, run.read_count, run.loaded_count, run.rejected_count) == ("succeeded", 3, 3, 0)
    assert run.report["deleted"] == 1 and run.file_sha256 and len(run.file_sha256) == 64
    assert run.crs_used.startswith("EPSG:9210")
    features = Feature.objects.filter(layer=layer).order_by("id")
    assert [f.properties["parcel_no"] for f in features] == [1, 2, 3]
    x, y = features[0].geom.centroid.coords
    assert 106.7 < x < 106.9 and 10.7 < y < 10.9  # metres became degrees
    assert features[0].properties["address"].startswith("1 Đường Võ Văn Ngân")
    layer.refresh_from_db()
    assert layer.feature_count == 3 and layer.extent is not None and layer.last_changed is not None


def test_append_adds_to_existing_rows(tmp_path):
    layer = make_parcel_layer()
    ingest_file(path=write(parcels_frame(2), tmp_path / "a.gpkg"), layer=layer, mode="replace")
    run = ingest_file(path=write(parcels_frame(2, ward_code=["26801"] * 2), tmp_path / "b.gpkg"), layer=layer,
                      mode="append")
    assert run.loaded_count == 2 and Feature.objects.filter(layer=layer).count() == 4


def test_create_makes_a_layer_from_the_file(tmp_path):
    path = write(parcels_frame(2, so_tang=[3, 5]), tmp_path / "nha_o_xa_hoi.gpkg")

    run = ingest_file(path=path, layer="nha-o", mode="create")

    layer = Layer.objects.get(slug="nha-o")
    assert run.layer == layer and layer.title_vi == "Nha o xa hoi" and layer.geometry_type == "Polygon"
    types = {f["name"]: f["type"] for f in layer.schema}
    assert types["so_tang"] == "integer" and types["legal_area"] == "number" and types["address"] == "text"
    assert layer.feature_count == 2 and layer.is_public is False


def test_create_refuses_an_existing_layer_and_other_modes_a_missing_one(parcels_gpkg):
    make_parcel_layer(slug="taken")
    with pytest.raises(IngestRejected, match="already exists"):
        ingest_file(path=parcels_gpkg, layer="taken", mode="create")
    with pytest.raises(IngestRejected, match="No layer"):
        ingest_file(path=parcels_gpkg, layer="missing", mode="replace")
    assert not Layer.objects.filter(slug="missing").exists()


def test_upsert_updates_changed_rows_inserts_new_and_is_idempotent(tmp_path):
    layer = make_parcel_layer()
    first = write(parcels_frame(3, key=["a", "b", "c"]), tmp_path / "v1.gpkg")
    ingest_file(path=first, layer=layer, mode="upsert", key="key")
    before = snapshot(layer)

    again = ingest_file(path=first, layer=layer, mode="upsert", key="key")

    assert again.loaded_count == 3 and again.report["unchanged"] == 3
    assert again.report["inserted"] == again.report["updated"] == 0
    assert snapshot(layer) == before  # not even version or updated_at moved
    changed = parcels_frame(4, key=["a", "b", "c", "d"], land_use=["ODT", "CLN", "ODT", "ODT"])
    run = ingest_file(path=write(changed, tmp_path / "v2.gpkg"), layer=layer, mode="upsert", key="key")
    assert (run.report["updated"], run.report["inserted"], run.report["unchanged"]) == (1, 1, 2)
    b = Feature.objects.get(layer=layer, properties__key="b")
    assert b.version == 2 and b.properties["land_use"] == "CLN"


def test_upsert_rejects_duplicate_and_missing_keys(tmp_path):
    layer = make_parcel_layer()
    path = write(parcels_frame(3, key=["a", "a", None]), tmp_path / "dup.gpkg")
    with pytest.raises(IngestRejected, match="2 rows rejected, more than the limit of 1"):
        ingest_file(path=path, layer=layer, mode="upsert", key="key", max_rejects=1)
    run = IngestRun.objects.latest("id")
    reasons = {(r["row"], r["field"]) for r in run.report["rejected"]}
    assert reasons == {(2, "key"), (3, "key")}
    assert not Feature.objects.filter(layer=layer).exists()


def test_map_renames_columns_to_the_schema(tmp_path):
    layer = make_parcel_layer()
    frame = parcels_frame(2).rename(columns={"parcel_no": "so_thua", "map_sheet": "so_to"})
    run = ingest_file(path=write(frame, tmp_path / "m.gpkg"), layer=layer, mode="replace",
                      column_map={"so_thua": "parcel_no", "so_to": "map_sheet"})
    assert run.loaded_count == 2
    assert Feature.objects.filter(layer=layer, properties__parcel_no=2, properties__map_sheet=12).exists()


def test_max_rejects_refuses_then_allows_and_dry_run_changes_nothing(tmp_path):
    layer = make_parcel_layer()
    make_feature(layer, square(106.7, 10.8), {"parcel_no": 0})
    before = snapshot(layer)
    path = write(parcels_frame(3, land_use=["ODT", "XXX", "ODT"]), tmp_path / "r.gpkg")

    with pytest.raises(IngestRejected, match="1 rows rejected"):
        ingest_file(path=path, layer=layer, mode="replace")
    assert snapshot(layer) == before
    dry = ingest_file(path=path, layer=layer, mode="replace", max_rejects=1, dry_run=True)
    assert dry.status == "succeeded" and dry.read_count == 3 and dry.rejected_count == 1
    assert snapshot(layer) == before
    run = ingest_file(path=path, layer=layer, mode="replace", max_rejects=1)
    assert run.loaded_count == 2
    assert run.report["rejected"][0] | {} == {**run.report["rejected"][0], "row": 2, "field": "land_use", "value": "XXX"}


def test_dry_run_in_create_mode_leaves_no_layer(parcels_gpkg):
    run = ingest_file(path=parcels_gpkg, layer="new-one", mode="create", dry_run=True)
    assert run.read_count == 3 and not Layer.objects.filter(slug="new-one").exists()


def test_cli_prints_summary_and_fails_non_zero(tmp_path, parcels_gpkg):
    layer = make_parcel_layer(slug="cli-parcels")
    out = io.StringIO()
    call_command("ingest", str(parcels_gpkg), "--layer", "cli-parcels", "--mode", "upsert", "--key", "parcel_no",
                 stdout=out)
    assert "read 3, loaded 3" in out.getvalue()
    assert Feature.objects.filter(layer=layer).count() == 3
    with pytest.raises(CommandError, match="Unknown CRS"):
        call_command("ingest", str(parcels_gpkg), "--layer", "cli-parcels", "--crs", "EPSG:999999", stdout=out)


def test_cli_writes_the_json_report_on_failure_too(tmp_path, parcels_gpkg):
    layer = make_parcel_layer(slug="cli-report")
    bad = write(parcels_frame(2, land_use=["ODT", "???"]), tmp_path / "bad.gpkg")
    report = tmp_path / "report.json"
    with pytest.raises(CommandError, match="1 rows rejected"):
        call_command("ingest", str(bad), "--layer", "cli-report", "--report", str(report), stdout=io.StringIO())
    import json
    data = json.loads(report.read_text())
    assert data["status"] == "failed" and data["rejected"][0] | {"row": 2, "field": "land_use"} == data["rejected"][0]
    assert not Feature.objects.filter(layer=layer).exists()


def test_cli_loads_a_geotiff_into_a_raster_layer(tmp_path, settings):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from tests.factories import make_layer
    settings.MEDIA_ROOT = tmp_path / "media"
    make_layer(slug="dem", kind="raster", geometry_type="")
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=16, height=16, count=1, dtype="float32", crs="EPSG:9210",
                       transform=from_origin(612000, 1196000, 25, 25), nodata=-9999.0) as dst:
        dst.write(np.ones((16, 16), dtype="float32") * 7, 1)
    out = io.StringIO()
    call_command("ingest", str(path), "--layer", "dem", stdout=out)
    run = IngestRun.objects.latest("id")
    assert run.status == "succeeded" and run.report["raster"]["max"] == 7.0 and "raster stored" in out.getvalue()


def test_a_repeated_parcel_key_is_refused_and_nothing_changes(tmp_path):
    layer = make_parcel_layer()
    make_feature(layer, square(106.7, 10.8), {"ward_code": "x", "map_sheet": 1, "parcel_no": 1, "land_use": "ODT",
                                               "legal_area": 1.0})
    before = snapshot(layer)
    path = write(parcels_frame(2, parcel_no=[5, 5]), tmp_path / "dup.gpkg")
    with pytest.raises(IngestRejected, match="repeat a unique key"):
        ingest_file(path=path, layer=layer, mode="replace")
    assert snapshot(layer) == before
    run = IngestRun.objects.latest("id")
    assert run.status == "failed" and run.report["deleted"] == 0 and run.loaded_count == 0


def test_history_records_the_run_and_its_user_and_the_run_can_be_reverted(tmp_path):
    from django.contrib.auth.models import User

    from layers.editing import run_revert
    from layers.models import FeatureVersion

    admin = User.objects.create_superuser("chief", password="x")
    layer = make_parcel_layer()
    first = ingest_file(path=write(parcels_frame(2, key=["a", "b"]), tmp_path / "v1.gpkg"), layer=layer,
                        mode="upsert", key="key", user=admin)
    versions = FeatureVersion.objects.filter(run_id=first.pk)
    assert versions.count() == 2 and {v.changed_by_id for v in versions} == {admin.pk}
    assert {v.op for v in versions} == {"insert"} and "v1.gpkg" in versions[0].comment
    again = ingest_file(path=tmp_path / "v1.gpkg", layer=layer, mode="upsert", key="key", user=admin)
    assert not FeatureVersion.objects.filter(run_id=again.pk).exists()  # nothing changed, nothing recorded
    changed = ingest_file(path=write(parcels_frame(2, key=["a", "b"], land_use=["CLN", "ODT"]), tmp_path / "v2.gpkg"),
                          layer=layer, mode="upsert", key="key", user=admin)
    assert FeatureVersion.objects.filter(run_id=changed.pk, op="update").count() == 1
    run_revert(layer=layer, run_id=changed.pk, user=admin)
    assert set(Feature.objects.filter(layer=layer).values_list("properties__land_use", flat=True)) == {"ODT"}


def test_replace_touches_only_rows_that_differ(tmp_path):
    from layers.models import FeatureVersion

    layer = make_parcel_layer()
    path = write(parcels_frame(3), tmp_path / "v1.gpkg")
    ingest_file(path=path, layer=layer, mode="replace")
    before = snapshot(layer)
    same = ingest_file(path=path, layer=layer, mode="replace")
    assert (same.report["inserted"], same.report["deleted"], same.report["unchanged"]) == (0, 0, 3)
    assert snapshot(layer) == before and not FeatureVersion.objects.filter(run_id=same.pk).exists()
    changed = ingest_file(path=write(parcels_frame(3, land_use=["ODT", "CLN", "ODT"]), tmp_path / "v2.gpkg"),
                          layer=layer, mode="replace")
    assert (changed.report["inserted"], changed.report["deleted"], changed.report["unchanged"]) == (1, 1, 2)
    ids = {f[0] for f in snapshot(layer)}
    assert len(ids & {f[0] for f in before}) == 2  # the two unchanged parcels kept their ids
    fewer = ingest_file(path=write(parcels_frame(1), tmp_path / "v3.gpkg"), layer=layer, mode="replace")
    assert fewer.report["deleted"] == 2 and Feature.objects.filter(layer=layer).count() == 1


def test_cli_progress_bar_shows_counts_and_rate(parcels_gpkg):
    make_parcel_layer(slug="cli-progress")
    err = io.StringIO()
    call_command("ingest", str(parcels_gpkg), "--layer", "cli-progress", "--progress", stdout=io.StringIO(), stderr=err)
    assert "3/3 100.0%" in err.getvalue() and "rows/s" in err.getvalue()


def test_mirror_updates_by_key_inserts_new_deletes_missing_and_keeps_equal_rows(tmp_path):
    layer = make_parcel_layer()
    ingest_file(path=write(parcels_frame(3, key=["a", "b", "c"]), tmp_path / "v1.gpkg"), layer=layer, mode="upsert",
                key="key")
    kept = {f.properties["key"]: (f.id, f.version) for f in Feature.objects.filter(layer=layer)}
    # b changes its land use, c vanishes, d arrives; a is equal.
    second = parcels_frame(3, key=["a", "b", "d"], land_use=["ODT", "CLN", "ODT"])

    run = ingest_file(path=write(second, tmp_path / "v2.gpkg"), layer=layer, mode="mirror", key="key")

    assert (run.report["updated"], run.report["inserted"], run.report["deleted"], run.report["unchanged"]) == (1, 1, 1, 1)
    now = {f.properties["key"]: f for f in Feature.objects.filter(layer=layer)}
    assert sorted(now) == ["a", "b", "d"]
    assert (now["a"].id, now["a"].version) == kept["a"]
    assert now["b"].id == kept["b"][0] and now["b"].version == kept["b"][1] + 1 and now["b"].properties["land_use"] == "CLN"
    before = snapshot(layer)
    again = ingest_file(path=write(second, tmp_path / "v3.gpkg"), layer=layer, mode="mirror", key="key")
    assert (again.report["updated"], again.report["inserted"], again.report["deleted"]) == (0, 0, 0)
    assert snapshot(layer) == before


def test_mirror_needs_a_key_and_is_offered_by_the_command(tmp_path):
    layer = make_parcel_layer()
    path = write(parcels_frame(2, key=["a", "b"]), tmp_path / "m.gpkg")
    with pytest.raises(IngestRejected, match="Mirror needs --key"):
        ingest_file(path=path, layer=layer, mode="mirror")
    call_command("ingest", str(path), layer=layer.slug, mode="mirror", key="key", stdout=io.StringIO())
    assert sorted(f.properties["key"] for f in Feature.objects.filter(layer=layer)) == ["a", "b"]
