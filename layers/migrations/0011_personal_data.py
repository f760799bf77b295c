# Personal data (issue 11): grants may include a layer's personal fields, the audit trail says so, and
# existing layers' schemas mark fields that look personal (owners' names, ID numbers, phones).

from django.db import migrations, models


def mark_personal_fields(apps, schema_editor):
    """Marks fields that look personal by name; the parcels layer gains its owner fields, marked personal."""
    from layers.personal import name_looks_personal
    from layers.schemas import PARCELS_SCHEMA

    Layer = apps.get_model("layers", "Layer")
    for layer in Layer.objects.exclude(schema=[]):
        schema = [dict(spec) for spec in layer.schema if isinstance(spec, dict) and "name" in spec]
        for spec in schema:
            if name_looks_personal(spec["name"]):
                spec.update(personal=True, display=False)
        if layer.slug == "parcels":
            names = {spec["name"] for spec in schema}
            schema += [dict(spec) for spec in PARCELS_SCHEMA if spec.get("personal") and spec["name"] not in names]
        if schema != layer.schema:
            layer.schema = schema
            layer.save(update_fields=["schema"])


class Migration(migrations.Migration):

    dependencies = [
        ('layers', '0010_history_lookup_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='layergrant',
            name='can_see_personal',
            field=models.BooleanField(default=False, help_text="May see the layer's personal fields"),
        ),
        migrations.AddField(
            model_name='permissionchange',
            name='can_see_personal',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='layer',
            name='schema',
            field=models.JSONField(blank=True, default=list, help_text='Attribute fields: name, type, labels, required, choices, display, personal (true: personal data, hidden from the public)'),
        ),
        migrations.RunPython(mark_personal_fields, migrations.RunPython.noop),
    ]
