"""Each history row carries the id of the transaction that wrote it (xid8), so the change feed can be read in an
order no later commit can slip into (layers/changes.py).

Why not the row id or changed_at: both are taken before commit, so a transaction that began earlier may commit
later with smaller ids or times, and a follower who had already read past them would never see its rows. A
transaction id below the oldest one still running (pg_snapshot_xmin of the current snapshot) is settled for good,
so the feed serves only those, in (xact, id) order. A bulk load's segment gets the same default (LIKE … INCLUDING
DEFAULTS) and is filled in the load's one transaction, so its rows carry the id that commits them.
Existing rows all get the migration's own id: they come first, in id order.
"""
from django.db import migrations

FORWARD = """
ALTER TABLE layers_featureversion ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX fversion_layer_xact_id ON layers_featureversion (layer_id, xact, id);
"""
BACKWARD = """
DROP INDEX IF EXISTS fversion_layer_xact_id;
ALTER TABLE layers_featureversion DROP COLUMN xact;
"""


class Migration(migrations.Migration):

    dependencies = [("layers", "0016_history_segments")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
