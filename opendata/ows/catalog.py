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


from layers import db
from layers.models import Layer
from layers.personal import name_looks_personal
from layers.values import RESERVED_NAMES
from opendata.fields import layer_fields

# A column MapServer writes as an XML element and a mapfile string holds unquoted: a word of letters,
# digits and '_' not starting with a digit (Vietnamese letters allowed), at most 63 UTF-8 bytes (PostgreSQL
# cuts longer identifiers, so two long names would become one). Other names get such an alias.
_COLUMN = re.compile(r"[^\W\d]\w*")
MAX_COLUMN_BYTES = 63
# The view's own columns, GML's and the download formats' reserved names (compared casefolded: MapServer
# and GDAL's writers match column names regardless of case, so 'Ten' and 'ten' would be one column).
_TAKEN = {"id", "geom", "gml_id", "boundedby", "msgeometry", "layer_id", "properties", *RESERVED_NAMES}


@dataclass(frozen=True)
class Field:
    name: str  # the published column (WFS property, PROPERTYNAME/SORTBY value): a safe, unique alias of key
    key: str  # the property's key in the stored features
    type: str  # schema type: text, integer, number, date, code
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class OwsLayer:
    name: str  # the WMS layer and WFS feature type name
    layer: Layer
    fields: tuple[Field, ...]
    family: str = "polygon"  # the geometries it serves: point, line or polygon (MapServer draws one kind a layer)
    siblings: tuple[str, ...] = ()  # the names serving the same catalog layer's other geometry families


ROOT_NAME = "gisportal"  # the WMS root layer (all layers): no catalog layer may take it
FAMILIES = {"POINT": "point", "MULTIPOINT": "point", "LINESTRING": "line", "MULTILINESTRING": "line",
            "POLYGON": "polygon", "MULTIPOLYGON": "polygon"}
GEOMETRY_TYPES = {family: tuple(k for k, v in FAMILIES.items() if v == family) for family in ("point", "line", "polygon")}
_PLURAL = {"point": "points", "line": "lines", "polygon": "polygons"}
_families_cache: dict[tuple[int, str], list[str]] = {}


def ows_name(slug: str) -> str:
    """The layer's WMS/WFS name: its slug, with a prefix when the slug is not an XML name (a digit first)."""
    return slug if re.match(r"[A-Za-z_]", slug) else f"l_{slug}"


def declared_family(layer: Layer) -> str | None:
    """The family of the layer's declared geometry type (None: untyped, '' or 'Geometry')."""
    return FAMILIES.get((layer.geometry_type or "").upper())


def stored_families(layer: Layer) -> list[str]:
    """The geometry families the layer's features hold, most features first (cached per last change)."""
    key = (layer.pk, str(layer.last_changed))
    if key not in _families_cache:
        with db.cursor(read=True) as cursor:
            cursor.execute("SELECT upper(GeometryType(geom)), count(*) FROM layers_feature WHERE layer_id = %s "
                           "GROUP BY 1 ORDER BY 2 DESC, 1", [layer.pk])
            counts: dict[str, int] = {}
            for kind, number in cursor.fetchall():
                if kind in FAMILIES:  # collections and curves are not drawn by MapServer: the OGC API serves them
                    counts[FAMILIES[kind]] = counts.get(FAMILIES[kind], 0) + number
        if len(_families_cache) > 256:
            _families_cache.clear()
        _families_cache[key] = sorted(counts, key=lambda family: -counts[family])
    return list(_families_cache[key])


def _families(layer: Layer) -> list[str]:
    """The families to publish, the layer's own first: its declared one, else the one most features hold."""
    stored = stored_families(layer)
    first = declared_family(layer) or (stored[0] if stored else "polygon")
    return [first, *(family for family in stored if family != first)]


def _cut(name: str, limit: int) -> str:
    """The longest prefix of name of at most limit UTF-8 bytes."""
    while len(name.encode()) > limit:
        name = name[:-1]
    return name


def column_names(keys: list[str]) -> dict[str, str]:
    """Property key -> its published column: a word (non-word characters become '_', 'f_' before a leading
    digit), at most 63 UTF-8 bytes, unique regardless of case and never a reserved name (else a number added)."""
    taken = set(_TAKEN)
    out: dict[str, str] = {}
    for key in keys:
        base = re.sub(r"\W", "_", key) or "_"
        base = base if _COLUMN.fullmatch(base) else f"f_{base}"
        candidate, number = _cut(base, MAX_COLUMN_BYTES), 0
        while candidate.casefold() in taken:
            number += 1
            candidate = _cut(base, MAX_COLUMN_BYTES - len(f"_{number}")) + f"_{number}"
        taken.add(candidate.casefold())
        out[key] = candidate
    return out


def public_columns(layer: Layer) -> tuple[Field, ...]:
    """The fields the public sees (no personal field by schema mark or by name), each under a safe column name."""
    specs = [spec for spec in layer_fields(layer, None) if not name_looks_personal(spec["name"])]
    columns = column_names([spec["name"] for spec in specs])
    return tuple(Field(columns[spec["name"]], spec["name"], spec.get("type") or "text",
                       spec.get("label_vi") or spec["name"], spec.get("label_en") or spec["name"]) for spec in specs)


def column_of(item: "OwsLayer", key: str) -> str | None:
    """The published column of a property key (None: not published)."""
    return next((field.name for field in item.fields if field.key == key), None)


def _unique_names(wanted: list[tuple[str, Layer, bool]]) -> list[str]:
    """One name per wanted (name, layer, exact) entry, never equal regardless of case to another or to the root:
    a slug that is its own name keeps it; a derived name (prefix, family suffix) that is taken gets the
    layer's id added."""
    taken = {ROOT_NAME}
    out: list[str | None] = [None] * len(wanted)
    for exact_pass in (True, False):
        for index, (name, layer, exact) in enumerate(wanted):
            if exact != exact_pass:
                continue
            candidate, number = name, 0
            while candidate.casefold() in taken:
                number += 1
                candidate = f"{name}_{layer.pk}" if number == 1 else f"{name}_{layer.pk}_{number}"
            taken.add(candidate.casefold())
            out[index] = candidate
    return out


def published() -> dict[str, OwsLayer]:
    """Every public vector layer by its WMS/WFS name, in drawing order: one MapServer layer per geometry family
    stored (MapServer draws and serves one kind a layer), the layer's own family under its plain name."""
    from layers.styling import layer_style

    layers = list(Layer.objects.filter(is_public=True, kind="vector"))
    layers.sort(key=lambda layer: (layer_style(layer).order, layer.slug))
    wanted, families = [], []
    for layer in layers:
        for position, family in enumerate(_families(layer)):
            base = ows_name(layer.slug)
            name = base if position == 0 else f"{base}_{_PLURAL[family]}"
            wanted.append((name, layer, position == 0 and name == layer.slug))
            families.append(family)
    names = _unique_names(wanted)
    by_layer: dict[int, list[str]] = {}
    for name, (_, layer, _) in zip(names, wanted):
        by_layer.setdefault(layer.pk, []).append(name)
    columns = {layer.pk: public_columns(layer) for layer in layers}
    return {name: OwsLayer(name, layer, columns[layer.pk], family,
                           tuple(n for n in by_layer[layer.pk] if n != name))
            for name, (_, layer, _), family in zip(names, wanted, families)}


def stamp(layers: dict[str, OwsLayer], extra: str = "") -> str:
    """A version of what the mapfile is made from: slugs, titles, schema, style, last change."""
    parts = [extra]
    for name, item in layers.items():
        layer = item.layer
        parts.append(json.dumps([name, layer.pk, layer.title_vi, layer.title_en, layer.description_vi,
                                 layer.description_en, layer.geometry_type, layer.category, layer.style,
                                 [f.__dict__ for f in item.fields], layer.keywords, str(layer.last_changed),
                                 item.family, item.siblings],
                                sort_keys=True, default=str))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
