# WMS/WFS (issue 12, item 5): MapServer reads PostGIS as a role that sees only public vector layers'
# features and their non-personal properties, through one view: a mapfile gone wrong cannot reach more.
# Roles are cluster-wide (test databases share the cluster): created once, idempotently; grants are per database.

from django.db import migrations

ROLE = "gisportal_ows"

CREATE_ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
    CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
      CONNECTION LIMIT 32;
  END IF;
END
$$;
"""

# A personal mark hides whatever its value, unless it reads as false (layers.schemas.is_personal: an unclear
# mark hides). security_barrier: the role's own conditions run after the view's, so no function it calls
# sees a restricted row.
CREATE_VIEW = f"""
CREATE OR REPLACE VIEW ows_features WITH (security_barrier = true) AS
SELECT f.id, f.layer_id, f.geom,
       COALESCE((SELECT jsonb_object_agg(p.key, p.value)
                 FROM jsonb_each(CASE WHEN jsonb_typeof(f.properties) = 'object' THEN f.properties ELSE '{{}}'::jsonb END) p
                 WHERE p.key NOT IN (
                   SELECT s->>'name'
                   FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.schema) = 'array' THEN l.schema ELSE '[]'::jsonb END) s
                   WHERE jsonb_typeof(s) = 'object' AND s ? 'personal'
                     AND COALESCE(s->>'personal', '') NOT IN ('false', 'False', '0', 'no', '', '[]', '{{}}', '0.0'))),
                '{{}}'::jsonb) AS properties
FROM layers_feature f
JOIN layers_layer l ON l.id = f.layer_id
WHERE l.is_public AND l.kind = 'vector';
REVOKE ALL ON ows_features FROM PUBLIC;
GRANT SELECT ON ows_features TO {ROLE};
"""

DROP_VIEW = "DROP VIEW IF EXISTS ows_features;"


class Migration(migrations.Migration):

    dependencies = [
        ("opendata", "0002_pagecursor"),
        ("layers", "0011_personal_data"),
    ]

    operations = [
        migrations.RunSQL(CREATE_ROLE, migrations.RunSQL.noop),
        migrations.RunSQL(CREATE_VIEW, DROP_VIEW),
    ]
