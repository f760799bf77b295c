"""Curved geometries (CIRCULARSTRING, CURVEPOLYGON …) are refused by the feature table itself: no door writes
them (ingest and the editor go through GEOS, which has no curves), and GeoJSON, MVT and most clients cannot
serve them, so one put in by raw SQL would break its layer's downloads for everyone. NOT VALID: rows already
stored are left for an administrator to straighten (ST_CurveToLine); every new write is checked."""
from django.db import migrations

ADD = """
ALTER TABLE layers_feature ADD CONSTRAINT layers_feature_geom_not_curved
    CHECK (geom IS NULL OR NOT ST_HasArc(geom)) NOT VALID
"""
DROP = "ALTER TABLE layers_feature DROP CONSTRAINT IF EXISTS layers_feature_geom_not_curved"


class Migration(migrations.Migration):
    dependencies = [("layers", "0013_reserved_layer_names")]
    operations = [migrations.RunSQL(ADD, DROP)]
