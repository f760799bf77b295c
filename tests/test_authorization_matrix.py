"""The authorization matrix (issue 11, item 9): every role × every layer state × every door, one test each.

Roles: anonymous, logged in without a grant, view grant, view grant with personal data, edit grant,
area-limited edit grant, staff (no data-admin rights), data administrator (layers.add_layer), superuser.
States: public, public with personal fields, restricted, restricted with personal fields.
Doors: tests/authz_doors.py (reads) and tests/authz_write_doors.py (writes); rules: tests/authz_matrix.py.
A cell's id is door[layer][role]; its assertion message says what differed.
"""
import pytest
from django.conf import settings

from tests import authz_doors, authz_doors_flows, authz_doors_reports, authz_write_doors
from tests import authz_matrix as m

DOOR_MODULES = (authz_doors, authz_doors_flows, authz_doors_reports, authz_write_doors)
DOORS = {
    name.removeprefix("door_").replace("_", "-"): func
    for module in DOOR_MODULES
    for name, func in vars(module).items() if name.startswith("door_") and func.__module__ == module.__name__
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The users, grants, layers, history and ingest runs, committed once for the whole matrix, removed after."""
    names = ("OPENDATA_CACHE_DIR", "OPENDATA_RATE_ANON", "OPENDATA_RATE_TOKEN", "GISPORTAL_PMTILES_DIR",
             "GISPORTAL_PMTILES_MAX_ZOOM")
    saved = {name: getattr(settings, name) for name in names if hasattr(settings, name)}
    settings.OPENDATA_CACHE_DIR = tmp_path_factory.mktemp("mx-exports")
    # The matrix asks the public API a few hundred times a minute; fair use is tested elsewhere.
    settings.OPENDATA_RATE_ANON, settings.OPENDATA_RATE_TOKEN = 100_000, 1_000_000
    settings.GISPORTAL_PMTILES_DIR, settings.GISPORTAL_PMTILES_MAX_ZOOM = tmp_path_factory.mktemp("mx-pmtiles"), m.TILE_Z
    with django_db_blocker.unblock():
        built = m.build_world(tmp_path_factory.mktemp("mx-files"))
        m.settle_feed(built)
        m.build_archives(built)
    yield built
    with django_db_blocker.unblock():
        m.tear_down(built)
    for name in names:  # as they were: a setting that was not there is removed again, not left as None
        if name in saved:
            setattr(settings, name, saved[name])
        else:
            delattr(settings, name)


CELLS = [pytest.param(door, state, role, id=f"{door}[{state}][{role}]")
         for door in DOORS for state in m.STATES for role in m.ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("door", "state", "role"), CELLS)
def test_cell(world, door, state, role):
    sw = world.states[state]
    cell = authz_doors.Cell(door, role, sw.state, sw, world, authz_doors.client_for(world, role))
    DOORS[door](cell)


def test_the_matrix_covers_every_door_of_the_issue():
    """The doors the issue lists, each present (a renamed or dropped door would silently shrink the matrix)."""
    wanted = {"layer-page", "map-list", "tile", "tile-cached", "tilejson", "ogc-collection", "ogc-items", "ogc-item",
              "ogc-queryables", "download-geojson", "download-gpkg", "download-shp", "download-csv", "download-kml",
              "download-fgb", "download-parquet",  # issue 15
              "dcat-jsonld", "data-json", "search", "click", "lookup", "history", "diff", "diff-geojson",
              "editor-page", "put-inside", "revert", "run-revert-api", "run-revert-page", "audit", "audit-csv",
              # issue 12: WMS/WFS at /ows serve public data only, whoever asks
              "wms-getmap", "wms-featureinfo", "wms-legend", "wms-capabilities", "wfs-getfeature",
              "wfs-getfeature-by-id", "wfs-describe", "wfs-capabilities",
              # issue 15: the change feed and the catalog records
              "changes-json", "changes-seq", "changes-atom", "csw-getrecords", "csw-getrecordbyid",
              "records-items", "records-item", "pmtiles", "pmtiles-range", "pmtiles-basemap",
              # issue 16: the sheet, the catalog's thumbnails, residents' reports and their moderation (the sheet
              # for every sheet layer restricted, its verification and re-issue: tests/portal/test_sheet_authz.py)
              "report-file", "report-queue", "report-answer", "report-resolve", "report-reject", "report-fix-link",
              "report-status", "report-photo", "thumbnail", "sheet"}
    assert wanted <= set(DOORS), wanted - set(DOORS)
    assert len(CELLS) == len(DOORS) * len(m.STATES) * len(m.ROLES) and len(m.ROLES) == 9
    # One function per door: a door of the same name in two modules would silently replace the first.
    defined = [name for module in DOOR_MODULES for name, func in vars(module).items()
               if name.startswith("door_") and func.__module__ == module.__name__]
    assert len(defined) == len(set(defined)) == len(DOORS), sorted(n for n in defined if defined.count(n) > 1)
