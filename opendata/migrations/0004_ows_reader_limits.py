# /ows reader role hardening (issue 12): per-session limits on the role (a query MapServer runs can neither
# run long, hold a transaction open, spill large temp files nor take much memory), no TEMP on this database,
# and the view's personal mark read exactly as layers.schemas.is_personal reads it (Python truthiness of
# the JSON value, and not one of the strings "false", "False", "0", "no").
# The statement timeout also comes with every MapServer connection (opendata.ows.mapfile.connection_string,
# from OWS_TIMEOUT), so a settings change applies without a migration; the role's own value is a ceiling.
# Personal-looking key names of layers without a schema (layers.personal_names) are not expressed here:
# folding (accents, CamelCase, joined words) is not simple SQL; the catalog (opendata.ows.catalog) leaves
# them out of the mapfile's columns, so MapServer never selects them.

from django.db import migrations

from opendata.migrations import _ows_view

ROLE = "gisportal_ows"

LIMITS = f"""
ALTER ROLE {ROLE} SET statement_timeout = '60s';
ALTER ROLE {ROLE} SET idle_in_transaction_session_timeout = '30s';
ALTER ROLE {ROLE} SET work_mem = '16MB';
DO $$
BEGIN
  ALTER ROLE {ROLE} SET temp_file_limit = '256MB';
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'temp_file_limit for {ROLE} needs a superuser: set it by hand';
END
$$;
"""

UNDO_LIMITS = f"""
ALTER ROLE {ROLE} RESET statement_timeout;
ALTER ROLE {ROLE} RESET idle_in_transaction_session_timeout;
ALTER ROLE {ROLE} RESET work_mem;
DO $$
BEGIN
  ALTER ROLE {ROLE} RESET temp_file_limit;
EXCEPTION WHEN insufficient_privilege THEN NULL;
END
$$;
"""

# TEMP comes to every role through PUBLIC: taken from PUBLIC on this database and given back to the role
# that migrates (the platform's own, whose ingest uses temp tables); the OWS role is left without it.
NO_TEMP = f"""
DO $$
BEGIN
  EXECUTE format('REVOKE TEMP ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMP ON DATABASE %I FROM {ROLE}', current_database());
  EXECUTE format('GRANT TEMP ON DATABASE %I TO %I', current_database(), current_user);
END
$$;
"""

UNDO_NO_TEMP = """
DO $$
BEGIN
  EXECUTE format('GRANT TEMP ON DATABASE %I TO PUBLIC', current_database());
END
$$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("opendata", "0003_ows_reader_role"),
    ]

    operations = [
        migrations.RunSQL(LIMITS, UNDO_LIMITS),
        migrations.RunSQL(NO_TEMP, UNDO_NO_TEMP),
        migrations.RunSQL(_ows_view.view_sql(_ows_view.PERSONAL_MARK), _ows_view.view_sql(_ows_view.OLD_PERSONAL_MARK)),
    ]
