"""Ingest's part in personal data: mark likely personal fields of a new layer, and say so in the report.

Two signals (rules in layers/personal.py): the column's name (folded: no accents, any case), and its
values (most sampled values look like CCCD/CMND numbers, phone numbers or e-mail addresses). A data
administrator unmarks a field with --not-personal (or in the admin's schema).
"""
from ingest.report import Report
from layers.errors import IngestRejected
from layers.models import Layer
from layers.personal import name_looks_personal, values_look_personal
from layers.schemas import is_personal

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


def check_not_personal(layer: Layer, names: list[str]) -> None:
    """Every --not-personal name must be a field of the layer (a typo would silently keep a field marked)."""
    known = {spec["name"] for spec in layer.schema or []}
    unknown = [name for name in names if name not in known]
    if unknown:
        text = ", ".join(n[:60] for n in unknown[:5])
        raise IngestRejected(f"--not-personal: lớp không có trường {text}.", f"--not-personal: the layer has no field {text}.",
                             parameter="not_personal")


def mark_personal(layer: Layer, samples: dict[str, list], report: Report, *, created: bool,
                  not_personal: list[str]) -> None:
    """A new layer: marks fields that look personal (unless unmarked). An existing layer keeps its schema's
    marks (a data administrator set them) and gets a warning for fields that look personal but are not
    marked. The report lists the layer's personal fields either way."""
    check_not_personal(layer, not_personal)
    schema = [dict(spec) for spec in layer.schema or []]
    for spec in schema:
        reason = _SCHEMA_REASON if is_personal(spec) else reason_for(spec, samples)
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
