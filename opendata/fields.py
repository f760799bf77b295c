"""A layer's attribute fields as the outside world sees them: the allow-list for filters and exports."""
import re


from layers import db
from layers.models import Layer
from layers.personal import hidden_fields, personal_fields
from layers.values import FEATURE_ID, RESERVED_NAMES

_cache: dict[tuple[int, str], list[dict]] = {}


def layer_fields(layer: Layer, user=None) -> list[dict]:
    """The layer's schema fields this user may see (no user: the public, who never see personal fields);
    for a layer without a schema, the keys its features carry (as text).

    Names come from the catalog or the database, never from the request: they are the allow-list
    for CQL2, sortby, property filters and exports, so a hidden field is an unknown field there
    (a filter on it would be an oracle for its values).
    """
    if layer.schema:
        hidden = set(hidden_to(user, layer))
        return [dict(spec) for spec in layer.schema if spec["name"] not in hidden]
    key = (layer.pk, str(layer.last_changed))
    if key not in _cache:
        with db.cursor(read=True) as cursor:
            cursor.execute(
                "SELECT DISTINCT k FROM layers_feature, jsonb_object_keys(properties) k WHERE layer_id = %s ORDER BY k LIMIT 200",
                [layer.pk],
            )
            names = [row[0] for row in cursor.fetchall()]
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = [{"name": n, "type": "text", "label_vi": n, "label_en": n} for n in names]
    return [dict(spec) for spec in _cache[key]]


def hidden_to(user, layer: Layer) -> list[str]:
    """The layer's fields this user may not see (no user: every personal field)."""
    return hidden_fields(user, layer) if user is not None else personal_fields(layer)


def field_names(layer: Layer, user=None) -> list[str]:
    return [spec["name"] for spec in layer_fields(layer, user)]


def export_names(names: list[str]) -> dict[str, str]:
    """Field name -> a column name no GDAL writer refuses: names the formats keep for themselves (fid, geom,
    WKT…) or that repeat another but for case get a number (one odd name never fails a download)."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for name in names:
        candidate, number = name, 0
        while candidate.lower() in RESERVED_NAMES or candidate.lower() in taken:
            number += 1
            candidate = f"{name}_{number}"
        taken.add(candidate.lower())
        mapping[name] = candidate
    return mapping


def shapefile_names(names: list[str]) -> dict[str, str]:
    """Field name -> a unique DBF name of at most 10 ASCII characters (the documented mapping).

    Rule: keep ASCII letters, digits and '_'; cut to 10 characters; on a clash cut shorter and add
    a number (max_densit, max_dens_1, …). The zip's fields.txt lists the result.
    """
    mapping: dict[str, str] = {}
    used: set[str] = {FEATURE_ID}
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_]", "_", name) or "field"
        candidate = base[:10]
        n = 1
        while candidate.lower() in used:
            suffix = f"_{n}"
            candidate = base[: 10 - len(suffix)] + suffix
            n += 1
        used.add(candidate.lower())
        mapping[name] = candidate
    return mapping
