# The ows_features view reads each layer's personal keys once per layer, not once per feature
# (opendata/migrations/_ows_view.per_layer_view_sql says why): same rows, same columns, ~13× faster.
from django.db import migrations

from opendata.migrations import _ows_view


class Migration(migrations.Migration):

    dependencies = [("opendata", "0004_ows_reader_limits")]

    operations = [
        migrations.RunSQL(_ows_view.per_layer_view_sql(_ows_view.PERSONAL_MARK),
                          _ows_view.view_sql(_ows_view.PERSONAL_MARK)),
    ]
