"""The ows_features view's SQL (migrations opendata 0003, 0004, 0005): the personal mark's test and the shape vary."""

ROLE = "gisportal_ows"

# 0003's reading of a mark (kept for reversal).
OLD_PERSONAL_MARK = ("s ? 'personal' AND COALESCE(s->>'personal', '') NOT IN ('false', 'False', '0', 'no', '', '[]', "
                     "'{}', '0.0')")

# layers.schemas.is_personal in SQL: the JSON value is truthy in Python (true, a non-zero number, a non-empty
# string, array or object) and is not one of the strings "false", "False", "0", "no".
PERSONAL_MARK = """CASE jsonb_typeof(s->'personal')
                   WHEN 'boolean' THEN (s->'personal')::text = 'true'
                   WHEN 'number' THEN (s->>'personal')::numeric <> 0
                   WHEN 'string' THEN s->>'personal' NOT IN ('', 'false', 'False', '0', 'no')
                   WHEN 'array' THEN jsonb_array_length(s->'personal') > 0
                   WHEN 'object' THEN s->'personal' <> '{}'::jsonb
                   ELSE false END"""


def view_sql(mark: str) -> str:
    """The view: public vector layers' features, properties without the keys the layer's schema marks personal.
    security_barrier: the role's own conditions run after the view's, so no function it calls sees a hidden row."""
    return f"""
CREATE OR REPLACE VIEW ows_features WITH (security_barrier = true) AS
SELECT f.id, f.layer_id, f.geom,
       COALESCE((SELECT jsonb_object_agg(p.key, p.value)
                 FROM jsonb_each(CASE WHEN jsonb_typeof(f.properties) = 'object' THEN f.properties ELSE '{{}}'::jsonb END) p
                 WHERE p.key NOT IN (
                   SELECT s->>'name'
                   FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.schema) = 'array' THEN l.schema ELSE '[]'::jsonb END) s
                   WHERE jsonb_typeof(s) = 'object' AND s->>'name' IS NOT NULL AND ({mark}))),
                '{{}}'::jsonb) AS properties
FROM layers_feature f
JOIN layers_layer l ON l.id = f.layer_id
WHERE l.is_public AND l.kind = 'vector';
REVOKE ALL ON ows_features FROM PUBLIC;
GRANT SELECT ON ows_features TO {ROLE};
"""


def per_layer_view_sql(mark: str) -> str:
    """The same view, with each layer's personal keys listed once per layer (a lateral subquery on the catalog
    row) and removed from each feature with `properties - keys`: 0004's per-row jsonb_each and aggregate cost
    ~1 s for a 100,000-parcel layer on every GetMap, since security_barrier keeps the bbox test (&&, not
    leakproof) out of the view; this costs ~80 ms."""
    return f"""
CREATE OR REPLACE VIEW ows_features WITH (security_barrier = true) AS
SELECT f.id, f.layer_id, f.geom,
       CASE WHEN jsonb_typeof(f.properties) = 'object' THEN f.properties - hidden.keys ELSE '{{}}'::jsonb END
         AS properties
FROM layers_layer l
CROSS JOIN LATERAL (
  SELECT COALESCE(array_agg(s->>'name'), '{{}}'::text[]) AS keys
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(l.schema) = 'array' THEN l.schema ELSE '[]'::jsonb END) s
  WHERE jsonb_typeof(s) = 'object' AND s->>'name' IS NOT NULL AND ({mark})) hidden
JOIN layers_feature f ON f.layer_id = l.id
WHERE l.is_public AND l.kind = 'vector';
REVOKE ALL ON ows_features FROM PUBLIC;
GRANT SELECT ON ows_features TO {ROLE};
"""
