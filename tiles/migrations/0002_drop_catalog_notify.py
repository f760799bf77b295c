"""The catalog's NOTIFY trigger goes: tile nodes no longer LISTEN (that fails on a replica and behind PgBouncer
in transaction mode); they compare per-layer generations in Redis instead (layers/catalog_stamps.py)."""
from django.db import migrations

FORWARD = """
DROP TRIGGER IF EXISTS tiles_catalog_notify ON layers_layer;
DROP FUNCTION IF EXISTS tiles_catalog_changed();
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION tiles_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gisportal_catalog', '');
    RETURN NULL;
END $$;
CREATE TRIGGER tiles_catalog_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON layers_layer
    FOR EACH STATEMENT EXECUTE FUNCTION tiles_catalog_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("tiles", "0001_catalog_notify")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
