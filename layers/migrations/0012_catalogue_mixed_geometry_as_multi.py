"""A layer catalogued with a single geometry type whose features include the Multi kind is catalogued Multi
(the demo's road reserves were Polygon holding MultiPolygons): downloads and clients then declare one type."""
from django.db import migrations

PROMOTE = """
UPDATE layers_layer l SET geometry_type = 'Multi' || l.geometry_type
WHERE l.kind = 'vector' AND l.geometry_type IN ('Point', 'LineString', 'Polygon')
  AND EXISTS (SELECT 1 FROM layers_feature f
              WHERE f.layer_id = l.id AND GeometryType(f.geom) = 'MULTI' || upper(l.geometry_type))
"""


class Migration(migrations.Migration):
    dependencies = [("layers", "0011_personal_data")]
    operations = [migrations.RunSQL(PROMOTE, migrations.RunSQL.noop)]
