"""gisportal_tile_geoms_rebuild(layer_id bigint): what the bulk ingest calls after loading a layer, so tiles can
rebuild anything they derive from its features. Tiles derive nothing today: a per-zoom-band table of
pre-generalised 3857 geometries was measured (issue 13) at 5-10% less database time per parcel tile and
~4.8 s more per 100,000 parcels loaded (more than ogr2ogr's whole load), so it was not built. The function
stays the one place to add such work later without touching the ingest."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION gisportal_tile_geoms_rebuild(layer_id bigint) RETURNS void
LANGUAGE sql VOLATILE AS $$ SELECT NULL::void $$;
COMMENT ON FUNCTION gisportal_tile_geoms_rebuild(bigint) IS
    'Called by the bulk ingest after loading a layer; tiles keep no derived geometry (see tiles migration 0002).';
"""

BACKWARD = "DROP FUNCTION IF EXISTS gisportal_tile_geoms_rebuild(bigint);"


class Migration(migrations.Migration):
    dependencies = [("tiles", "0001_catalog_notify")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
