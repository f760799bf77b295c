"""Personal fields: which look personal, and which of a layer's fields a user may see.

The rule, once: a field marked `personal` in the layer's schema is seen only by data administrators
and by users whose grant includes personal data (LayerGrant.can_see_personal). Every door asks
`hidden_fields(user, layer)` and drops those names; doors shared by all users (tiles, their cache,
DCAT, the catalog preview) never carry personal fields at all (`public_fields`).
Decree 13/2023/NĐ-CP (personal data); Decree 101/2024/NĐ-CP Art. 61 (land users' data).
"""
import re
import unicodedata
from collections.abc import Iterable

from layers.models import Layer
from layers.permissions import can_see_editors, can_see_personal
from layers.schemas import is_personal, personal_field_names

# Folded (accent-free, lower case, '_' between words) names that hold personal data, as whole words
# of a column name: "chu_su_dung", "ten_chu_su_dung", "owner_name", "so_cccd", "sdt_lien_he".
PERSONAL_WORDS = (
    "chu_su_dung", "chu_sd", "chu_sdd", "nguoi_su_dung", "nguoi_sd", "ten_chu", "chu_ho", "ho_ten", "ho_va_ten",
    "owner", "owners", "owner_name", "full_name", "fullname", "person_name",
    "cccd", "cmnd", "cmt", "so_cccd", "so_cmnd", "can_cuoc", "dinh_danh", "so_dinh_danh", "id_number", "national_id",
    "passport", "ho_chieu", "so_dien_thoai", "dien_thoai", "dt_lien_he", "sdt", "phone", "phone_number", "mobile",
    "telephone", "email", "e_mail", "thu_dien_tu", "ngay_sinh", "nam_sinh", "date_of_birth", "dob", "birth_date",
    "birthday", "dia_chi_thuong_tru", "thuong_tru", "dia_chi_thuong_chu", "tam_tru", "gioi_tinh", "ma_so_thue_ca_nhan",
)
_WORDS_RE = re.compile(r"(?:^|_)(?:" + "|".join(sorted(map(re.escape, PERSONAL_WORDS), key=len, reverse=True))
                       + r")(?:_|$)")

# Second signal, from values: citizen ID (CCCD, 12 digits), old ID card (CMND, 9 digits), Vietnamese
# mobile and landline numbers, e-mail addresses.
_CCCD = re.compile(r"^0\d{11}$")
_CMND = re.compile(r"^\d{9}$")
_PHONE = re.compile(r"^(?:\+?84|0)(?:3|5|7|8|9|2\d)\d{7,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
VALUE_SHARE = 0.8  # at least this share of a column's sampled non-empty values must look personal


def fold_name(name: str) -> str:
    """'Họ_Tên Chủ' -> 'ho_ten_chu': no accents, lower case, words joined by '_'."""
    text = str(name).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def name_looks_personal(*names: str) -> bool:
    """True when any of the names (a column's original and mapped names) is a personal one."""
    return any(_WORDS_RE.search(fold_name(name)) for name in names if name)


def _value_kind(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):  # a CCCD read as a number lost its leading zero
        value = str(value).zfill(12) if len(str(value)) == 11 else str(value)
    if not isinstance(value, str):
        return None
    text = re.sub(r"[\s.\-()]", "", value.strip())
    if _CCCD.match(text):
        return "cccd"
    if _CMND.match(text):
        return "cmnd"
    if _PHONE.match(text):
        return "phone"
    return "email" if _EMAIL.match(value.strip()) else None


def values_look_personal(values: Iterable) -> str | None:
    """'cccd', 'cmnd', 'phone' or 'email' when most sampled values look like that; None otherwise."""
    kinds = [_value_kind(v) for v in values if v is not None and str(v).strip() != ""]
    if not kinds:
        return None
    best = max(set(kinds), key=kinds.count)
    return best if best is not None and kinds.count(best) >= VALUE_SHARE * len(kinds) else None


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
    """A feature's versions as this user may see them: hidden fields dropped; who changed it and why
    only for staff and the layer's editors (everyone else sees the change without the editor)."""
    hidden, editors = hidden_fields(user, layer), can_see_editors(user, layer)
    out = []
    for version in versions:
        version = {**version, "properties": without(version.get("properties"), hidden)}
        if not editors:
            version.update(changed_by=None, comment="")
        out.append(version)
    return out


def redact_diff(user, layer: Layer, diff: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """A layer's diff (layers.history.layer_diff) without the fields hidden from this user."""
    hidden = hidden_fields(user, layer)
    if not hidden:
        return diff
    return {change: [{**row, "properties": without(row.get("properties"), hidden) if row.get("properties") else None,
                      "properties_before": without(row.get("properties_before"), hidden)
                      if row.get("properties_before") else None} for row in rows]
            for change, rows in diff.items()}
