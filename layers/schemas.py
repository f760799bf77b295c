"""Attribute schemas: the three core layers' standard fields and validation of properties.

A schema is a list of fields: {name, type, label_vi, label_en, required, choices, display}, and optionally
max_length (text, code), min and max (integer, number). Types: text, integer, number, date, code (one of
`choices`); what values each type takes, and their limits, is in layers/values.py.
A `personal` field holds personal data (owners' names, ID card numbers, phones: Decree 13/2023/NĐ-CP):
it never leaves through a public door (see layers/personal.py for who may see it).
"""
import math
from dataclasses import dataclass

from layers.personal_names import name_looks_personal, value_looks_personal
from layers.values import (MAX_EXTRA, MAX_PROPERTIES, NAME_MAX_LENGTH, BadValue, case_clashes, check_name, coerce_value,
                           extra_value)

FIELD_TYPES = {"text", "integer", "number", "date", "code"}


def field(name, type_, label_vi, label_en, *, required=False, choices=None, display=False, personal=False) -> dict:
    """One schema field as stored in Layer.schema."""
    out = {"name": name, "type": type_, "label_vi": label_vi, "label_en": label_en,
           "required": required, "display": display}
    if choices is not None:
        out["choices"] = list(choices)
    if personal:
        out["personal"] = True
    return out


# National land-use codes (Luật Đất đai 2024 and its circulars), code -> (vi, en).
LAND_USE_CODES = {
    "ODT": ("Đất ở tại đô thị", "Urban residential land"),
    "ONT": ("Đất ở tại nông thôn", "Rural residential land"),
    "LUC": ("Đất chuyên trồng lúa", "Specialised rice land"),
    "LUK": ("Đất trồng lúa còn lại", "Other rice land"),
    "BHK": ("Đất bằng trồng cây hằng năm khác", "Other annual crop land"),
    "CLN": ("Đất trồng cây lâu năm", "Perennial crop land"),
    "NTS": ("Đất nuôi trồng thủy sản", "Aquaculture land"),
    "TMD": ("Đất thương mại, dịch vụ", "Commercial and service land"),
    "SKC": ("Đất cơ sở sản xuất phi nông nghiệp", "Non-agricultural production land"),
    "SKK": ("Đất khu công nghiệp", "Industrial park land"),
    "DGT": ("Đất giao thông", "Transport land"),
    "DTL": ("Đất thủy lợi", "Irrigation land"),
    "DGD": ("Đất xây dựng cơ sở giáo dục và đào tạo", "Education facility land"),
    "DYT": ("Đất xây dựng cơ sở y tế", "Health facility land"),
    "DVH": ("Đất xây dựng cơ sở văn hóa", "Cultural facility land"),
    "DTT": ("Đất xây dựng cơ sở thể dục thể thao", "Sports facility land"),
    "DKV": ("Đất khu vui chơi, giải trí công cộng", "Public recreation land"),
    "TSC": ("Đất xây dựng trụ sở cơ quan", "Government office land"),
    "TON": ("Đất tôn giáo", "Religious land"),
    "NTD": ("Đất nghĩa trang, nhà tang lễ", "Cemetery land"),
    "SON": ("Đất có mặt nước chuyên dùng", "Special-use water surface"),
    "BCS": ("Đất bằng chưa sử dụng", "Unused flat land"),
}

# Planning functions of zones in a 1/2000 zoning plan, code -> (vi, en).
ZONE_FUNCTIONS = {
    "residential-existing": ("Đất nhóm nhà ở hiện hữu", "Existing residential"),
    "residential-new": ("Đất nhóm nhà ở xây dựng mới", "New residential"),
    "mixed-use": ("Đất hỗn hợp", "Mixed use"),
    "commercial": ("Đất thương mại dịch vụ", "Commercial and services"),
    "public-service": ("Đất công trình công cộng", "Public services"),
    "education": ("Đất giáo dục", "Education"),
    "health": ("Đất y tế", "Health"),
    "green-park": ("Đất cây xanh công viên", "Parks and green space"),
    "industrial": ("Đất công nghiệp", "Industrial"),
    "water": ("Mặt nước", "Water"),
    "transport": ("Đất giao thông", "Transport"),
}

ADMIN_LEVELS = ["city", "ward", "neighbourhood"]

ADMIN_UNITS_SCHEMA = [
    field("level", "code", "Cấp", "Level", required=True, choices=ADMIN_LEVELS, display=True),
    field("code", "text", "Mã đơn vị", "Official code", required=True, display=True),
    field("name", "text", "Tên", "Name", required=True, display=True),
    field("parent_code", "text", "Mã đơn vị cấp trên", "Parent code"),
    field("valid_from", "date", "Hiệu lực từ", "Valid from"),
    field("valid_to", "date", "Hiệu lực đến", "Valid to", display=True),
]

PLANNING_ZONES_SCHEMA = [
    field("zone_code", "text", "Ký hiệu ô", "Zone code", required=True, display=True),
    field("function", "code", "Chức năng sử dụng đất", "Land-use function", required=True,
          choices=list(ZONE_FUNCTIONS), display=True),
    field("max_density", "number", "Mật độ xây dựng tối đa (%)", "Max building density (%)", display=True),
    field("max_floors", "integer", "Tầng cao tối đa", "Max floors", display=True),
    field("far", "number", "Hệ số sử dụng đất", "Floor-area ratio", display=True),
    field("plan_name", "text", "Tên đồ án quy hoạch", "Plan name", display=True),
    field("decision_no", "text", "Số quyết định phê duyệt", "Approving decision no."),
    field("decision_date", "date", "Ngày phê duyệt", "Decision date"),
]

PARCELS_SCHEMA = [
    field("ward_code", "text", "Mã phường/xã", "Ward code", required=True, display=True),
    field("map_sheet", "integer", "Số tờ bản đồ", "Map sheet no.", required=True, display=True),
    field("parcel_no", "integer", "Số thửa", "Parcel no.", required=True, display=True),
    field("land_use", "code", "Loại đất", "Land-use code", required=True, choices=list(LAND_USE_CODES),
          display=True),
    field("legal_area", "number", "Diện tích pháp lý (m²)", "Legal area (m²)", required=True, display=True),
    field("address", "text", "Địa chỉ", "Address", display=True),
    # Land users' data: not released without consent (Decree 101/2024/NĐ-CP Art. 61).
    field("chu_su_dung", "text", "Chủ sử dụng đất", "Land user (owner)", personal=True),
    field("so_cccd", "text", "Số CCCD của chủ sử dụng", "Owner's citizen ID no.", personal=True),
]

ROAD_RESERVES_SCHEMA = [
    field("road_name", "text", "Tên đường", "Road name", required=True, display=True),
    field("width_m", "number", "Lộ giới (m)", "Right-of-way width (m)", required=True, display=True),
]

ROAD_CLASSES = ["main", "local"]

ROADS_SCHEMA = [
    field("road_name", "text", "Tên đường", "Road name", required=True, display=True),
    field("road_class", "code", "Cấp đường", "Road class", required=True, choices=ROAD_CLASSES, display=True),
    field("width_m", "number", "Lộ giới (m)", "Right-of-way width (m)", display=True),
]

WATER_TYPES = ["river", "canal", "lake"]

WATER_SCHEMA = [
    field("name", "text", "Tên", "Name", required=True, display=True),
    field("water_type", "code", "Loại", "Type", required=True, choices=WATER_TYPES, display=True),
]


@dataclass(frozen=True)
class FieldError:
    """One attribute that does not fit the schema."""

    field: str
    value: object
    message_vi: str
    message_en: str


PERSONAL_EXTRA_VI = ("Thuộc tính này không có trong lược đồ của lớp và trông như dữ liệu cá nhân (họ tên, số CCCD/CMND, "
                     "số điện thoại, e-mail); quản trị viên dữ liệu phải thêm trường này vào lược đồ của lớp và đánh "
                     "dấu là dữ liệu cá nhân trước khi lưu.")
PERSONAL_EXTRA_EN = ("This property is not in the layer's schema and looks like personal data (a name, a CCCD/CMND number, "
                     "a phone number, an e-mail); a data administrator must add the field to the layer's schema, marked "
                     "personal, before it can be saved.")


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _extra_errors(name, value) -> tuple[object, list[FieldError]]:
    """A property outside the schema: its name and value checked (layers/values.py), or why not."""
    try:
        check_name(name)
        value = extra_value(value)
    except BadValue as bad:
        return value, [FieldError(str(name)[:NAME_MAX_LENGTH], value, bad.message_vi, bad.message_en)]
    if name_looks_personal(name) or value_looks_personal(value):
        # An unmarked field would go out through every public door: only a marked schema field may hold it.
        # The value is not echoed back (it is the personal data).
        return value, [FieldError(name, None, PERSONAL_EXTRA_VI, PERSONAL_EXTRA_EN)]
    return value, []


def validate_properties(schema: list[dict], properties: dict) -> tuple[dict, list[FieldError]]:
    """Properties coerced to the schema's types within their limits (layers/values.py), and the fields that
    failed (empty list: valid). Every door that writes features calls this, or ingest's column form of it.

    Fields outside the schema are kept when they are few, well named and scalar: layers may carry extra attributes.
    """
    if not isinstance(properties, dict):
        return {}, [FieldError("properties", None, "Thuộc tính phải là một đối tượng.", "Properties must be an object.")]
    known = {spec["name"] for spec in schema}
    extra = [name for name in properties if name not in known]
    if len(properties) > MAX_PROPERTIES or len(extra) > MAX_EXTRA:
        return {}, [FieldError("properties", None, f"Quá nhiều thuộc tính ngoài lược đồ (tối đa {MAX_EXTRA}).",
                               f"Too many properties outside the schema (at most {MAX_EXTRA}).")]
    clean: dict = {}
    errors: list[FieldError] = [FieldError(name[:NAME_MAX_LENGTH], None, "Tên thuộc tính trùng với tên khác, chỉ khác chữ hoa/thường.",
                                           "A property name repeats another but for upper/lower case.")
                                for name in case_clashes(properties)]
    for name in extra:
        clean[name], problems = _extra_errors(name, properties[name])
        errors += problems
    for spec in schema:
        name = spec["name"]
        value = properties.get(name)
        if _empty(value):
            if spec.get("required"):
                errors.append(FieldError(name, value, "Thiếu giá trị bắt buộc.", "A required value is missing."))
            continue
        try:
            clean[name] = coerce_value(spec, value)
        except BadValue as bad:
            errors.append(FieldError(
                name, value,
                f"Giá trị không hợp lệ cho kiểu {spec['type']}: {bad.message_vi}",
                f"Not a valid {spec['type']} value: {bad.message_en}",
            ))
    return clean, errors


def is_personal(spec: dict) -> bool:
    """True for a field marked as personal data (any truthy mark: an unclear mark hides, never shows)."""
    return bool(spec.get("personal")) and spec.get("personal") not in ("false", "False", "0", "no")


def personal_field_names(schema: list[dict]) -> list[str]:
    """The names of a schema's personal fields."""
    return [spec["name"] for spec in schema if is_personal(spec)]


def display_fields(schema: list[dict]) -> list[dict]:
    """The fields a layer shows in tiles, popups and tables: never personal ones (tiles and popups are
    shared by every visitor, and cached for all of them)."""
    return [spec for spec in schema if spec.get("display") and not is_personal(spec)]
