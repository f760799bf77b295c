"""Pin PostGIS's VN-2000 codes to the official national shift (Decision 05/2007/QĐ-BTNMT).

PostGIS 3.3's spatial_ref_sys lacks EPSG:9210 and other TM-3 codes, and for the codes it has, PROJ
would choose EPSG:5194 (0.8 m off in Ho Chi Minh City). Rows here carry only a proj string with
+towgs84 (no authority, no WKT), so ST_Transform uses exactly the parameters of layers/vn2000.py.
"""
from django.db import migrations

from layers.vn2000 import postgis_spatial_ref_rows


def pin_vn2000(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for srid, name, proj4 in postgis_spatial_ref_rows():
            cursor.execute("DELETE FROM spatial_ref_sys WHERE srid = %s", [srid])
            cursor.execute(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                "VALUES (%s, NULL, NULL, NULL, %s)",
                [srid, proj4],
            )


class Migration(migrations.Migration):
    dependencies = [("layers", "0001_initial")]
    operations = [migrations.RunPython(pin_vn2000, migrations.RunPython.noop)]
