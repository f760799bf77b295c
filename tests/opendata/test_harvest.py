"""Harvest from REAL servers started by the test set-up: pygeoapi (OGC API – Features) and MapServer (WFS 2.0 in
EPSG:9210), both serving a GeoPackage of demo planning zones in VN-2000. A first harvest creates the layer with
the official VN-2000 transform; a change at the source lands as ONE revertable ingest run; no change writes nothing."""
import pytest
import shapely
from django.contrib.auth.models import User

from ingest.models import IngestRun
from layers.models import Feature, FeatureVersion, Layer
from layers.runs import run_revert
from layers.vn2000 import transform_geometries
from opendata import harvest
from opendata.harvest_models import HarvestRun
from tests.opendata import harvest_servers as servers
from tests.opendata.harvest_fixtures import (harvest_folder, layer_checksum, metres_apart, pygeoapi_server,  # noqa: F401
                                             wfs_server, zones_gpkg, zones_original)

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["ogcapi", "wfs"])
def source(request, settings, zones_gpkg):
    """A registered source on one of the real servers, its host on the allow-list."""
    if request.param == "ogcapi":
        server = request.getfixturevalue("pygeoapi_server")
        url, remote, key = server.base, servers.TABLE, "id"
    else:
        server = request.getfixturevalue("wfs_server")
        url, remote, key = f"{server.base}/wfs", servers.TABLE, "gml_id"
    settings.GISPORTAL_HARVEST_HOSTS = [f"127.0.0.1:{server.port}"]
    settings.GISPORTAL_HARVEST_PAGE_SIZE = 10  # 25 zones: three pages
    slug = f"zones-{request.param}"
    return harvest.source_add(url=url, kind=request.param, layer_slug=slug, remote_layer=remote), key


def by_key(slug: str, key: str) -> dict:
    return {str(f.properties[key]): f for f in Feature.objects.filter(layer__slug=slug)}


def zone_key(kind: str, zone_id: int) -> str:
    return str(zone_id) if kind == "ogcapi" else f"{servers.TABLE}.{zone_id}"


def test_a_first_harvest_creates_the_layer_with_the_official_vn2000_transform(source, zones_original):
    src, key = source

    run = harvest.harvest_run(source=src)

    assert run.status == HarvestRun.Status.SUCCEEDED, run.error
    layer = Layer.objects.get(slug=src.layer_slug)
    assert layer.is_public is False and run.read_count == len(zones_original) == 25
    assert run.ingest_run.mode == "create" and run.ingest_run.status == IngestRun.Status.SUCCEEDED
    features = by_key(src.layer_slug, key)
    assert len(features) == 25
    expected = transform_geometries(zones_original.geometry.to_numpy(), 9210, 4326)
    for zone_id, geometry, row in zip(zones_original["zone_id"], expected, zones_original.itertuples()):
        feature = features[zone_key(src.kind, zone_id)]
        assert metres_apart(shapely.from_wkb(bytes(feature.geom.wkb)), geometry) < 0.01  # within 1 cm
        assert feature.properties["zone_code"] == row.zone_code and feature.properties["max_floors"] == row.max_floors
    assert FeatureVersion.objects.filter(layer=layer, run_id=run.ingest_run_id).count() == 25
    src.refresh_from_db()
    assert src.last_status == "succeeded" and src.last_ingest_run_id == run.ingest_run_id and src.last_run_at


@pytest.mark.django_db(transaction=True)  # each harvest its own transaction, as in use: history is told apart by time
def test_a_change_at_the_source_is_one_run_revertable_and_no_change_writes_nothing(source, zones_original, zones_gpkg):
    src, key = source
    assert harvest.harvest_run(source=src).status == "succeeded"
    before = {k: (f.id, f.version) for k, f in by_key(src.layer_slug, key).items()}
    checksum = layer_checksum(src.layer_slug)

    unchanged = harvest.harvest_run(source=src)
    assert unchanged.status == HarvestRun.Status.UNCHANGED and unchanged.ingest_run is None
    assert layer_checksum(src.layer_slug) == checksum
    assert IngestRun.objects.filter(layer_slug=src.layer_slug).count() == 1  # no empty run

    edited = zones_original.copy()
    edited.loc[edited.zone_id == 3, "max_floors"] = 99                     # one changed
    added = edited[edited.zone_id == 7].copy()
    added["zone_id"], added["zone_code"] = 99, "NEW-99"
    added["geometry"] = added.geometry.translate(0, 900)                   # one added (900 m north)
    import pandas as pd
    edited = pd.concat([edited[edited.zone_id != 5], added], ignore_index=True)  # one removed
    servers.write_source(edited, zones_gpkg)

    run = harvest.harvest_run(source=src)

    assert run.status == "succeeded", run.error
    assert (run.updated, run.inserted, run.deleted) == (1, 1, 1)
    ingest_run = run.ingest_run
    assert ingest_run.mode == "mirror" and (ingest_run.report["updated"], ingest_run.report["inserted"],
                                            ingest_run.report["deleted"]) == (1, 1, 1)
    now = by_key(src.layer_slug, key)
    assert zone_key(src.kind, 5) not in now and now[zone_key(src.kind, 99)].properties["zone_code"] == "NEW-99"
    assert now[zone_key(src.kind, 3)].properties["max_floors"] == 99
    assert now[zone_key(src.kind, 3)].version == before[zone_key(src.kind, 3)][1] + 1
    for k, (fid, version) in before.items():
        if k not in (zone_key(src.kind, 3), zone_key(src.kind, 5)):
            assert (now[k].id, now[k].version) == (fid, version)  # untouched rows keep id and version
    versions = FeatureVersion.objects.filter(run_id=ingest_run.pk)
    assert sorted(versions.values_list("op", flat=True)) == ["delete", "insert", "update"]

    admin = User.objects.create_superuser("harvest-admin", password="x")
    assert run_revert(layer=Layer.objects.get(slug=src.layer_slug), run_id=ingest_run.pk, user=admin) == 3
    back = by_key(src.layer_slug, key)
    assert sorted(back) == sorted(before)
    assert back[zone_key(src.kind, 3)].properties["max_floors"] == zones_original.loc[2, "max_floors"]


def test_harvest_run_command_prints_the_result(source, capsys):
    from django.core.management import call_command

    src, _ = source
    call_command("harvest", "run", src.layer_slug)
    out = capsys.readouterr().out
    assert src.layer_slug in out and "inserted" in out
    call_command("harvest", "list")
    assert src.url in capsys.readouterr().out


def test_a_source_onto_a_layer_holding_other_features_is_refused_before_and_at_harvest(source, settings):
    """A mirror deletes what the source lacks: a layer with features the source did not make is refused, at
    registration and again at harvest time (the layer may have been filled since), and nothing changes."""
    from tests.factories import make_feature, make_layer, square

    src, key = source
    own = make_layer(slug="zones-by-hand")
    make_feature(own, square(106.75, 10.80), {"zone_code": "R1"})
    with pytest.raises(harvest.InvalidParameter, match="without the key field"):
        harvest.source_add(url=src.url, kind=src.kind, layer_slug=own.slug, remote_layer=src.remote_layer)
    first = harvest.harvest_run(source=src)
    assert first.status == HarvestRun.Status.SUCCEEDED
    make_feature(Layer.objects.get(slug=src.layer_slug), square(106.76, 10.81), {"zone_code": "R2"})
    before = Feature.objects.filter(layer__slug=src.layer_slug).count()
    refused = harvest.harvest_run(source=src)
    assert refused.status == HarvestRun.Status.FAILED and "without the key field" in str(refused.error)
    assert Feature.objects.filter(layer__slug=src.layer_slug).count() == before
