"""SQL of layers_feature's partitions (migration 0015): one per layer, made when the layer is made.

A partition is made as a plain table and then attached: CREATE TABLE … PARTITION OF would lock the whole
layers_feature against readers; ATTACH takes a lock that readers do not wait for. The CHECK on layer_id lets
ATTACH skip its scan.
"""

PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION gisportal_feature_partition(layer bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name text := 'layers_feature_l' || layer;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'layers_feature'::regclass AND c.relname = name) THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE layers_feature INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (layer_id = %s)', name, name || '_layer', layer);
    EXECUTE format('ALTER TABLE layers_feature ATTACH PARTITION %I FOR VALUES IN (%s)', name, layer);
END $$;
"""

LAYER_TRIGGER = """
CREATE OR REPLACE FUNCTION gisportal_layer_partition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gisportal_feature_partition(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER layer_feature_partition AFTER INSERT ON layers_layer
    FOR EACH ROW EXECUTE FUNCTION gisportal_layer_partition();
"""


def carry_on_ids(table: str) -> str:
    """The new partitioned `table` takes its ids from a sequence that goes on from the old table's identity
    (no id of a deleted row comes back), then the old `<table>_unpartitioned` goes."""
    return f"""
CREATE SEQUENCE {table}_id_seq_partitioned OWNED BY {table}.id;
SELECT setval('{table}_id_seq_partitioned', s.last_value, s.is_called) FROM {table}_id_seq s;
DROP TABLE {table}_unpartitioned;
ALTER SEQUENCE {table}_id_seq_partitioned RENAME TO {table}_id_seq;
ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{table}_id_seq');
"""
