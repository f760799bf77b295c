"""Search and lookup indexes.

unaccent() is only STABLE (its dictionary could change), so expression indexes need an IMMUTABLE
wrapper naming the dictionary explicitly; the search box then ignores Vietnamese diacritics and
tolerates typos through pg_trgm.
"""
from django.db import migrations

# Frozen copies of layers.search.LABEL_SQL and HAS_LABEL (a test checks the planner uses this index).
LABEL_EXPR = (
    "gisportal_fold(coalesce(properties->>'name', '') || ' ' || coalesce(properties->>'address', '') || ' ' || "
    "coalesce(properties->>'zone_code', '') || ' ' || coalesce(properties->>'road_name', '') || ' ' || "
    "coalesce(properties->>'plan_name', ''))"
)
HAS_LABEL = (
    "(properties ? 'name' OR properties ? 'address' OR properties ? 'zone_code' OR properties ? 'road_name' "
    "OR properties ? 'plan_name')"
)


class Migration(migrations.Migration):
    dependencies = [("layers", "0002_vn2000_spatial_ref_sys")]
    operations = [
        migrations.RunSQL(
            """
            CREATE OR REPLACE FUNCTION gisportal_fold(text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
            AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, replace(replace($1, 'đ', 'd'), 'Đ', 'D'))) $$;
            """,
            "DROP FUNCTION IF EXISTS gisportal_fold(text);",
        ),
        migrations.RunSQL(
            f"CREATE INDEX feature_label_trgm ON layers_feature USING gin ({LABEL_EXPR} gin_trgm_ops) WHERE {HAS_LABEL};",
            "DROP INDEX IF EXISTS feature_label_trgm;",
        ),
    ]
