# WMS/WFS (issue 12, item 5): MapServer reads PostGIS as a role that sees only public vector layers'
# features and their non-personal properties, through one view: a mapfile gone wrong cannot reach more.
# Roles are cluster-wide (test databases share the cluster): created once, idempotently; grants are per database.

from django.db import migrations

from opendata.migrations import _ows_view

ROLE = _ows_view.ROLE

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

DROP_VIEW = "DROP VIEW IF EXISTS ows_features;"


class Migration(migrations.Migration):

    dependencies = [
        ("opendata", "0002_pagecursor"),
        ("layers", "0011_personal_data"),
    ]

    operations = [
        migrations.RunSQL(CREATE_ROLE, migrations.RunSQL.noop),
        migrations.RunSQL(_ows_view.view_sql(_ows_view.OLD_PERSONAL_MARK), DROP_VIEW),
    ]
