-- One Mapbox Vector Tile layer of one catalog layer.
-- The tile envelope is transformed to the table's SRID once (not every geometry to the tile's),
-- and the (layer_id, geom) GiST index finds the candidates.
-- {columns} are display fields, composed from the catalog with psycopg2.sql; values are parameters.
WITH bounds AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326) AS env4326
),
rows AS (
    SELECT f.id,
           ST_AsMVTGeom(ST_Transform(f.geom, 3857), bounds.env, %(extent)s, %(buffer)s, true) AS geom
           {columns}
    FROM layers_feature f, bounds
    WHERE f.layer_id = %(layer_id)s
      AND f.geom && bounds.env4326
)
SELECT ST_AsMVT(rows, %(name)s, %(extent)s, 'geom', 'id') FROM rows WHERE geom IS NOT NULL
