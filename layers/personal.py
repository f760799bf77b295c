"""Personal fields: which look personal, and which of a layer's fields a user may see.

The rule, once: a field marked `personal` in the layer's schema is seen only by data administrators
and by users whose grant includes personal data (LayerGrant.can_see_personal). Every door asks
`hidden_fields(user, layer)` and drops those names; doors shared by all users (tiles, their cache,
DCAT, the catalog preview) never carry personal fields at all (`public_fields`).
Decree 13/2023/NĐ-CP (personal data); Decree 101/2024/NĐ-CP Art. 61 (land users' data).
"""
from collections.abc import Iterable

from layers.models import Layer
from layers.permissions import can_see_editors, can_see_personal
from layers.personal_names import (PERSONAL_WORDS, VALUE_SHARE, fold_name, name_looks_personal,  # noqa: F401 (re-exported)
                                   value_looks_personal, values_look_personal)
from layers.schemas import is_personal, personal_field_names


def personal_fields(layer: Layer) -> list[str]:
    """The names of the layer's personal fields (from its schema)."""
    return personal_field_names(layer.schema or [])


def hidden_fields(user, layer: Layer) -> list[str]:
    """The personal fields this user may not see on this layer (none for those allowed)."""
    names = personal_fields(layer)
    return names if names and not can_see_personal(user, layer) else []


def visible_schema(user, layer: Layer) -> list[dict]:
    """The layer's schema without the fields hidden from this user."""
    hidden = set(hidden_fields(user, layer))
    return [spec for spec in layer.schema or [] if spec["name"] not in hidden]


def public_fields(schema: list[dict]) -> list[dict]:
    """A schema without its personal fields: what doors shared by every user carry."""
    return [spec for spec in schema if not is_personal(spec)]


def without(properties: dict | None, hidden: Iterable[str]) -> dict:
    """The properties without the hidden keys (a new dict)."""
    hidden = set(hidden)
    return {k: v for k, v in (properties or {}).items() if k not in hidden}


def visible_properties(user, layer: Layer, properties: dict | None) -> dict:
    """The properties as this user may see them."""
    return without(properties, hidden_fields(user, layer))


def keep_hidden(incoming: dict, stored: dict | None, hidden: Iterable[str]) -> dict:
    """Properties sent by a user who cannot see `hidden`: theirs for every other field, and the stored
    values for the hidden ones (they could not see them, so they neither wipe nor overwrite them)."""
    hidden = list(hidden)
    merged = without(incoming, hidden)
    merged.update({name: (stored or {})[name] for name in hidden if name in (stored or {})})
    return merged


def redact_versions(user, layer: Layer, versions: list[dict]) -> list[dict]:
    """A feature's versions as this user may see them: hidden fields dropped; who changed it and why only for
    staff and the layer's editors (everyone else sees the change without the editor). A change the user could
    not see (only hidden fields changed: same shape, same visible attributes) is left out, so the timeline does
    not tell when an owner's name or ID number changed."""
    hidden, editors = hidden_fields(user, layer), can_see_editors(user, layer)
    out: list[dict] = []
    previous = None
    for version in versions:
        version = {**version, "properties": without(version.get("properties"), hidden)}
        seen = (version.get("op"), version.get("geojson"), version["properties"])
        if hidden and version.get("op") == "update" and seen[1:] == previous:
            continue
        previous = seen[1:]
        if not editors:
            version.update(changed_by=None, comment="")
        out.append(version)
    return out


def redact_diff(user, layer: Layer, diff: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """A layer's diff (layers.history.layer_diff) without the fields hidden from this user, and without the
    changes they could not see (same shape, same visible attributes before and after)."""
    hidden = hidden_fields(user, layer)
    if not hidden:
        return diff
    out: dict[str, list[dict]] = {}
    for change, rows in diff.items():
        out[change] = []
        for row in rows:
            row = {**row, "properties": without(row.get("properties"), hidden) if row.get("properties") else None,
                   "properties_before": without(row.get("properties_before"), hidden)
                   if row.get("properties_before") else None}
            if change == "changed" and row.get("same_geom") and row["properties"] == row["properties_before"]:
                continue
            out[change].append(row)
    return out
