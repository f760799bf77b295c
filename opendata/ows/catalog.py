"""What WMS/WFS publish, read once from the catalog: public vector layers, their WMS/WFS names and
their public fields (the allow-list for PROPERTYNAME, SORTBY and the mapfile's columns).

Restricted layers are not here at all, whoever asks: /ows serves the public's data only (a user granted
a restricted layer reads it through the OGC API or the editor, signed in), so a restricted layer's name
is answered exactly like a name that never existed.
"""
import hashlib
import json
import re
from dataclasses import dataclass

from layers.models import Layer
from layers.personal import name_looks_personal
from opendata.fields import layer_fields

# A column MapServer writes as an XML element and a mapfile string holds unquoted: a word of letters,
# digits and '_' not starting with a digit (Vietnamese letters allowed); other names are left out.
_COLUMN = re.compile(r"[^\W\d]\w{0,63}")
_TAKEN = {"id", "geom", "gml_id", "boundedby", "msgeometry"}  # the view's own columns and GML's


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # schema type: text, integer, number, date, code
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class OwsLayer:
    name: str  # the WMS layer and WFS feature type name
    layer: Layer
    fields: tuple[Field, ...]


def ows_name(slug: str) -> str:
    """The layer's WMS/WFS name: its slug, with a prefix when the slug is not an XML name (a digit first)."""
    return slug if re.match(r"[A-Za-z_]", slug) else f"l_{slug}"


def public_columns(layer: Layer) -> tuple[Field, ...]:
    """The fields the public sees (no personal field by schema mark or by name), as safe column names."""
    out = []
    for spec in layer_fields(layer, None):
        name = spec["name"]
        if not _COLUMN.fullmatch(name) or name.lower() in _TAKEN or name_looks_personal(name):
            continue
        out.append(Field(name, spec.get("type") or "text", spec.get("label_vi") or name, spec.get("label_en") or name))
    return tuple(out)


def published() -> dict[str, OwsLayer]:
    """Every public vector layer by its WMS/WFS name, in drawing order."""
    from layers.styling import layer_style

    layers = list(Layer.objects.filter(is_public=True, kind="vector"))
    layers.sort(key=lambda layer: (layer_style(layer).order, layer.slug))
    return {ows_name(layer.slug): OwsLayer(ows_name(layer.slug), layer, public_columns(layer)) for layer in layers}


def stamp(layers: dict[str, OwsLayer], extra: str = "") -> str:
    """A version of what the mapfile is made from: slugs, titles, schema, style, last change."""
    parts = [extra]
    for name, item in layers.items():
        layer = item.layer
        parts.append(json.dumps([name, layer.pk, layer.title_vi, layer.title_en, layer.description_vi,
                                 layer.description_en, layer.geometry_type, layer.category, layer.style,
                                 [f.__dict__ for f in item.fields], layer.keywords, str(layer.last_changed)],
                                sort_keys=True, default=str))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
