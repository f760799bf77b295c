"""layers_feature becomes a table partitioned by layer (LIST on layer_id), one partition per layer.

Why: a bulk load builds a layer's new partition on its own, unindexed, builds its indexes in bulk (the sorted
GiST build) and swaps it in (ingest/bulk.py): a large load then costs what a fresh table costs, instead of
maintaining the shared table's indexes row by row. Queries that name the layer read only its partition.

What changes besides: the id comes from a sequence (PostgreSQL 15 has no identity column on a partitioned
table; the sequence carries on from the old one, so no id of a deleted feature comes back); the primary key is
(id, layer_id), as a partitioned table's unique keys must hold the partition key; the GiST is over geom alone
(the partition is the layer), so it builds sorted; (layer_id, id) is the primary key's work now. A new layer gets
its partition from a trigger on layers_layer. Same triggers (version bump, history), same checks.
"""
from importlib import import_module

from django.contrib.postgres.indexes import GistIndex
from django.db import migrations

from layers.migrations import _partitions
from opendata.migrations import _ows_view

# The frozen label expression and history triggers of migrations 0003 and 0004.
_search = import_module("layers.migrations.0003_search_indexes")
_history = import_module("layers.migrations.0004_history_and_grants")

FORWARD = f"""
DROP VIEW IF EXISTS ows_features;
ALTER TABLE layers_feature RENAME TO layers_feature_unpartitioned;
CREATE TABLE layers_feature (
    id bigint NOT NULL,
    geom geometry(Geometry, 4326) NOT NULL,
    properties jsonb NOT NULL,
    version integer NOT NULL CONSTRAINT layers_feature_version_check CHECK (version >= 0),
    updated_at timestamp with time zone NOT NULL,
    updated_by_id integer,
    layer_id bigint NOT NULL,
    CONSTRAINT layers_feature_geom_not_curved CHECK (geom IS NULL OR NOT ST_HasArc(geom))
) PARTITION BY LIST (layer_id);
{_partitions.PARTITION_FUNCTION}
SELECT gisportal_feature_partition(id) FROM layers_layer;
INSERT INTO layers_feature (id, geom, properties, version, updated_at, updated_by_id, layer_id)
SELECT id, geom, properties, version, updated_at, updated_by_id, layer_id FROM layers_feature_unpartitioned;
{_partitions.carry_on_ids('layers_feature')}
ALTER TABLE layers_feature ADD CONSTRAINT layers_feature_pkey PRIMARY KEY (id, layer_id);
CREATE INDEX feature_geom_gist ON layers_feature USING gist (geom);
CREATE UNIQUE INDEX feature_parcel_key_unique ON layers_feature
    (layer_id, (properties ->> 'ward_code'), (properties ->> 'map_sheet'), (properties ->> 'parcel_no'))
    WHERE properties ? 'parcel_no';
CREATE INDEX feature_label_trgm ON layers_feature USING gin ({_search.LABEL_EXPR} gin_trgm_ops) WHERE {_search.HAS_LABEL};
CREATE INDEX layers_feature_updated_by_id_3c89dd75 ON layers_feature (updated_by_id);
ALTER TABLE layers_feature ADD CONSTRAINT layers_feature_layer_id_cbd2a8db_fk_layers_layer_id
    FOREIGN KEY (layer_id) REFERENCES layers_layer (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE layers_feature ADD CONSTRAINT layers_feature_updated_by_id_3c89dd75_fk_auth_user_id
    FOREIGN KEY (updated_by_id) REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED;

{_history.TRIGGERS_SQL}{_partitions.LAYER_TRIGGER}
ANALYZE layers_feature;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("layers", "0014_no_curved_geometries"),
        ("opendata", "0005_ows_view_per_layer_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(FORWARD + _ows_view.per_layer_view_sql(_ows_view.PERSONAL_MARK)),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="feature", name="feature_layer_geom_gist"),
                migrations.RemoveIndex(model_name="feature", name="feature_layer_id"),
                migrations.AddIndex(model_name="feature", index=GistIndex(fields=["geom"], name="feature_geom_gist")),
            ],
        ),
    ]
