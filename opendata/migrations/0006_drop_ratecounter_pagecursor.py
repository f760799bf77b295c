# The rate counters and page cursors moved to Redis (issue 14): a public GET writes nothing to PostgreSQL.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('opendata', '0005_ows_view_per_layer_keys'),
    ]

    operations = [
        migrations.DeleteModel(
            name='PageCursor',
        ),
        migrations.DeleteModel(
            name='RateCounter',
        ),
    ]
