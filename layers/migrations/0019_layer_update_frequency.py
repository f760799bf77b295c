from django.db import migrations, models


class Migration(migrations.Migration):
    """Layer.update_frequency: ISO 19115 MD_MaintenanceFrequencyCode for the catalog records (CSW, ISO 19139)."""

    dependencies = [("layers", "0018_history_compaction_horizon")]

    operations = [
        migrations.AddField(
            model_name="layer",
            name="update_frequency",
            field=models.CharField(
                choices=[("continual", "Liên tục / Continual"), ("daily", "Hằng ngày / Daily"),
                         ("weekly", "Hằng tuần / Weekly"), ("fortnightly", "Hai tuần một lần / Fortnightly"),
                         ("monthly", "Hằng tháng / Monthly"), ("quarterly", "Hằng quý / Quarterly"),
                         ("biannually", "Nửa năm một lần / Twice a year"), ("annually", "Hằng năm / Annually"),
                         ("asNeeded", "Khi cần / As needed"), ("irregular", "Không đều đặn / Irregular"),
                         ("notPlanned", "Không có kế hoạch / Not planned"), ("unknown", "Không rõ / Unknown")],
                default="asNeeded", help_text="How often it is updated (ISO 19115 code, for catalog records)",
                max_length=12),
        ),
    ]
