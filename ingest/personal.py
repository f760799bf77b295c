"""Ingest's part in personal data: mark likely personal fields of a new layer, and say so in the report.

Two signals (rules in layers/personal_names.py): the column's name (folded: no accents, any case, CamelCase
or joined up), and its values (most sampled values look like CCCD/CMND numbers, phone numbers or e-mail
addresses). A data administrator unmarks a field with --not-personal (or in the admin's schema).

Ingest is the door that evolves a layer's schema: a column outside an existing layer's schema that looks
personal (by name, or by any sampled value that is a CCCD, phone number or e-mail) is added to the schema as
a personal text field, so it is stored but never leaves through a public door; the report lists it.
"""
from ingest.report import Report
from layers.errors import IngestRejected
from layers.models import Layer
from layers.permissions import can_see_personal, is_data_admin
from layers.personal import name_looks_personal, value_looks_personal, values_look_personal
from layers.personal_names import scrub_text
from layers.schemas import is_personal, personal_field_names

_VALUE_REASONS = {
    "cccd": ("giá trị giống số CCCD (12 chữ số)", "values look like citizen ID (CCCD) numbers"),
    "cmnd": ("giá trị giống số CMND (9 chữ số)", "values look like ID card (CMND) numbers"),
    "phone": ("giá trị giống số điện thoại", "values look like phone numbers"),
    "email": ("giá trị giống địa chỉ e-mail", "values look like e-mail addresses"),
}
_NAME_REASON = ("tên trường là dữ liệu cá nhân", "the field name denotes personal data")
_SCHEMA_REASON = ("đã đánh dấu trong lược đồ của lớp", "marked in the layer's schema")


def reason_for(spec: dict, samples: dict[str, list]) -> tuple[str, str] | None:
    """Why a field looks personal (vi, en), or None."""
    if name_looks_personal(spec["name"], spec.get("label_vi", ""), spec.get("label_en", "")):
        return _NAME_REASON
    kind = values_look_personal(samples.get(spec["name"], []))
    return _VALUE_REASONS[kind] if kind else None


def _extra_reason(name: str, samples: list, original: str) -> tuple[str, str] | None:
    """Why a column outside the layer's schema looks personal (vi, en), or None: its name, most of its sampled
    values, or any one sampled value that is a CCCD, a phone number or an e-mail (it would be public)."""
    if name_looks_personal(name, original):
        return _NAME_REASON
    kind = values_look_personal(samples) or next(
        (k for k in map(value_looks_personal, samples) if k in ("cccd", "phone", "email")), None)
    return _VALUE_REASONS[kind] if kind else None


def check_not_personal(layer: Layer, names: list[str], columns: frozenset = frozenset()) -> None:
    """Every --not-personal name must be a field of the layer or a column of the file (a typo would silently
    keep a field marked)."""
    known = {spec["name"] for spec in layer.schema or []} | set(columns)
    unknown = [name for name in names if name not in known]
    if unknown:
        text = ", ".join(n[:60] for n in unknown[:5])
        raise IngestRejected(f"--not-personal: lớp không có trường {text}.", f"--not-personal: the layer has no field {text}.",
                             parameter="not_personal")


def _personal_extras(schema: list[dict], samples: dict[str, list], report: Report, not_personal: list[str],
                     original_names: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Adds to the schema a personal text field for each of the file's columns outside it that looks personal
    (unless unmarked); returns why each was added."""
    known = {spec["name"] for spec in schema}
    added: dict[str, tuple[str, str]] = {}
    for name, values in samples.items():
        if name in known or name in not_personal:
            continue
        original = original_names.get(name, name)
        reason = _extra_reason(name, values, original)
        if reason is None:
            continue
        schema.append({"name": name, "type": "text", "label_vi": original[:200], "label_en": original[:200],
                       "required": False, "display": False, "personal": True})
        added[name] = reason
        report.warn(f"Column {name} is not in the layer's schema and looks personal ({reason[1]}): added to the "
                    "schema as a personal field (stored, never shown to the public).")
    return added


def mark_personal(layer: Layer, samples: dict[str, list], report: Report, *, created: bool,
                  not_personal: list[str], original_names: dict[str, str] | None = None) -> None:
    """A new layer: marks fields that look personal (unless unmarked). An existing layer keeps its schema's
    marks (a data administrator set them) and gets a warning for fields that look personal but are not
    marked; its file's columns outside the schema that look personal join the schema as personal fields.
    The report lists the layer's personal fields either way."""
    check_not_personal(layer, not_personal, frozenset(samples))
    schema = [dict(spec) for spec in layer.schema or []]
    added = _personal_extras(schema, samples, report, not_personal, original_names or {})
    for spec in schema:
        reason = added.get(spec["name"]) or (_SCHEMA_REASON if is_personal(spec) else reason_for(spec, samples))
        if spec["name"] in not_personal:
            spec.pop("personal", None)
            report.warn(f"Field {spec['name']} unmarked as personal on request (--not-personal).")
            continue
        if reason is None:
            continue
        if created or is_personal(spec):
            spec["personal"] = True
            spec["display"] = False  # personal fields are never in tiles or popups anyway: say so in the schema
            report.personal.append({"field": spec["name"], "reason_vi": reason[0], "reason_en": reason[1]})
        else:
            report.warn(f"Field {spec['name']} looks personal ({reason[1]}) but is not marked personal in the "
                        "layer's schema: mark it in the admin.")
    if schema != (layer.schema or []):
        layer.schema = schema
        layer.save(update_fields=["schema"])


HIDDEN_VALUE = "(ẩn: dữ liệu cá nhân / hidden: personal data)"


def report_for(user, layer: Layer | None, report: dict | None) -> dict:
    """A run's stored report as this user may see it: rejected rows' values of personal fields (the layer's,
    the report's, and columns or values that look personal) hidden from users without the personal grant."""
    report = dict(report or {})
    allowed = can_see_personal(user, layer) if layer is not None else is_data_admin(user)
    if allowed:
        return report
    personal = set(personal_field_names(layer.schema or []) if layer is not None else [])
    personal |= {p.get("field") for p in report.get("personal_fields") or [] if isinstance(p, dict)}

    def hide(row: dict) -> bool:
        field, value = row.get("field"), row.get("value")
        return value is not None and (field in personal or name_looks_personal(str(field or ""))
                                      or value_looks_personal(value) is not None)

    report["rejected"] = [{**row, "value": HIDDEN_VALUE} if hide(row) else row for row in report.get("rejected") or []]
    if isinstance(report.get("error"), dict):
        report["error"] = {k: scrub_text(v) if isinstance(v, str) else v for k, v in report["error"].items()}
    return report
