"""The compaction horizon of a layer's history (layers/compaction.py, manage.py history_compact): the time before
which past states are gone, and the largest change-feed position removed, so old cursors and as-of reads before it
get 410 Gone instead of a silently wrong answer."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("layers", "0017_history_commit_order")]

    operations = [
        migrations.CreateModel(
            name="HistoryHorizon",
            fields=[
                ("layer", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                               related_name="+", serialize=False, to="layers.layer")),
                ("before", models.DateTimeField(help_text="versions at or before this time were folded into one per feature")),
                ("xact", models.BigIntegerField(help_text="the largest feed position removed: its transaction id")),
                ("row_id", models.BigIntegerField(help_text="the largest feed position removed: its history row id")),
                ("rows_removed", models.BigIntegerField(default=0, help_text="history rows removed by every compaction so far")),
                ("compacted_at", models.DateTimeField(auto_now=True)),
            ],
        ),
    ]
