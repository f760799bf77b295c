-- One Mapbox Vector Tile layer of one catalog layer, as a scalar sub-query (several are joined with ||).
--
-- The tile's boxes come in as parameters, worked out once in Python (tiles/coords.py): the filter box
-- %(west)s…%(north)s is in the table's SRID (4326), so the (layer_id, geom) GiST index is used and no
-- geometry is transformed to be filtered; only the features that pass are transformed to 3857.
-- {geom}: the feature geometry in 3857, generalised to the pixel below the layer's full-detail zoom.
-- {size_filter}: leaves out features smaller than a pixel below that zoom (box read from the index key).
-- {columns}: the layer's display fields; {name} is a literal from the catalog.
-- {source}: the features in the filter box, as `f` (id, geom, properties): the layer's rows now
--   ("layers_feature f WHERE f.layer_id = … AND f.geom && box"), or its state at %(at)s from history.
-- No `WHERE geom IS NOT NULL` outside: PostgreSQL would push it into the scan and compute ST_AsMVTGeom
-- twice per feature (2.5× the time of a z16 tile); ST_AsMVT itself skips features clipped to NULL.
COALESCE((
    SELECT ST_AsMVT(t, {name}, 4096, 'geom', '__fid')
    FROM (
        SELECT f.id AS "__fid",
               ST_AsMVTGeom({geom}, ST_MakeEnvelope(%(xmin)s, %(ymin)s, %(xmax)s, %(ymax)s, 3857), 4096, 64, true) AS geom,
               f.id AS "id"
               {columns}
        FROM {source}
          {size_filter}
    ) t
), ''::bytea)
