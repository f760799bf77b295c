"""A NOTIFY on every change to the catalog table, so tile workers can keep catalog rows in memory
(tiles/catalog.py) and drop them the moment any layer changes, however it was written."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION tiles_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gisportal_catalog', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS tiles_catalog_notify ON layers_layer;
CREATE TRIGGER tiles_catalog_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON layers_layer
    FOR EACH STATEMENT EXECUTE FUNCTION tiles_catalog_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS tiles_catalog_notify ON layers_layer;
DROP FUNCTION IF EXISTS tiles_catalog_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
