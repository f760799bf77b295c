"""The one parser of a resident's report, for every door (the form's fields, the app's JSON).

Form fields arrive as text, JSON as typed values: both are read here by the same rules (a JSON number may
also come as text; a JSON boolean or object where text belongs is refused), so the doors cannot differ.
"""
import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from layers.errors import BadRequest, InvalidParameter
from layers.params import check_lonlat, parse_int, parse_number, parse_slug
from portal.report_models import Category
from portal.report_photos import clean_photo, max_bytes, too_large

MAX_TEXT = 2000
MIN_TEXT = 1  # required, not judged: a short "sai diện tích" on a parcel says enough
MAX_CONTACT = 200
MAX_FEATURE_ID = 2**63 - 1
FIELDS = ("category", "text", "layer", "feature", "lon", "lat", "contact", "phone", "email", "photo", "website")
# Other names apps use for the same fields: read as the canonical one (given both, refused as ambiguous).
# Any other field is ignored, never stored.
ALIASES = {"feature_id": "feature", "lng": "lon", "longitude": "lon", "latitude": "lat", "description": "text"}
CATEGORY_ALIASES = {"landuse": "land_use", "planning_info": "planning", "address_name": "address", "name": "address"}
HONEYPOT = "website"  # hidden from people by the form's CSS; bots fill it
_PHONE = re.compile(r"\+?[0-9][0-9 .()-]{6,22}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class ReportInput:
    """A report as the resident sent it, checked (the place not yet resolved: portal/report_places.py)."""

    category: str
    text: str
    layer: str | None
    feature: int | None
    lon: float | None
    lat: float | None
    contact: str
    photo: bytes | None  # already re-encoded, metadata gone


class HoneypotFilled(BadRequest):
    """A bot filled the hidden field: refused with a plain 400 that tells it nothing."""

    code = "bad-request"


def _invalid(parameter: str, vi: str, en: str) -> InvalidParameter:
    return InvalidParameter(vi, en, parameter=parameter)


def _text(data: Mapping, name: str) -> str:
    """A text field ('' when absent); refused when it is not text."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(name, f"Trường {name} phải là chuỗi ký tự.", f"Field {name} must be text.")
    return value


def _number_text(data: Mapping, name: str) -> str | None:
    """A number given as a JSON number or as text, as text (None when absent or empty)."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _invalid(name, f"Trường {name} phải là số.", f"Field {name} must be a number.")
    return value if isinstance(value, str) else repr(value)


def parse_category(data: Mapping) -> str:
    value = _text(data, "category").strip().lower().replace("-", "_").replace(" ", "_").removeprefix("wrong_")
    value = CATEGORY_ALIASES.get(value, value)
    if value not in Category.values:
        names = ", ".join(Category.values)
        raise _invalid("category", f"Loại phản ánh không hợp lệ; chọn một trong: {names}.",
                       f"Unknown category; choose one of: {names}.")
    return value


def parse_report_text(data: Mapping, name: str = "text", *, required: bool = True) -> str:
    """Free text of bounded length: newlines allowed, other control characters refused."""
    value = _text(data, name)
    if len(value) > MAX_TEXT * 2:  # before any work on it
        value = value[:MAX_TEXT * 2]
    value = value.replace("\r\n", "\n").strip()
    if required and len(value) < MIN_TEXT:
        raise _invalid(name, "Hãy mô tả sai sót: nội dung không được để trống.",
                       "Please describe what is wrong: the text may not be empty.")
    if len(value) > MAX_TEXT:
        raise _invalid(name, f"Nội dung quá dài: tối đa {MAX_TEXT} ký tự.",
                       f"The text is too long: at most {MAX_TEXT} characters.")
    if _CONTROL.search(value):
        raise _invalid(name, "Nội dung chứa ký tự điều khiển.", "The text contains control characters.")
    return value


def _one_contact(value: str, parameter: str, *, kind: str | None = None) -> str:
    """A phone number or an e-mail address (`kind` 'phone' or 'email' to insist on one)."""
    if "@" in value and kind != "phone":
        try:
            validate_email(value)
        except ValidationError:
            raise _invalid(parameter, "Địa chỉ e-mail không hợp lệ.", "Invalid e-mail address.") from None
        return value
    digits = sum(c.isdigit() for c in value)
    if kind == "email" or not _PHONE.fullmatch(value) or not 8 <= digits <= 15:
        raise _invalid(parameter, "Liên hệ phải là số điện thoại hoặc địa chỉ e-mail.",
                       "Contact must be a phone number or an e-mail address.")
    return value


def parse_contact(data: Mapping) -> str:
    """Optional phone number and/or e-mail address ('contact', or 'phone' and 'email'), at most MAX_CONTACT."""
    parts = []
    for name, kind in (("contact", None), ("phone", "phone"), ("email", "email")):
        value = " ".join(_text(data, name).split())
        if value:
            if len(value) > MAX_CONTACT:
                raise _invalid(name, "Thông tin liên hệ quá dài.", "The contact details are too long.")
            parts.append(_one_contact(value, name, kind=kind))
    joined = " · ".join(dict.fromkeys(parts))
    if len(joined) > MAX_CONTACT:
        raise _invalid("contact", "Thông tin liên hệ quá dài.", "The contact details are too long.")
    return joined


def parse_place(data: Mapping) -> tuple[str | None, int | None, float | None, float | None]:
    """(layer, feature) for a feature, or (lon, lat) for a point; exactly one of them."""
    layer, feature = _text(data, "layer").strip(), _number_text(data, "feature")
    if layer or feature is not None:
        if not layer or feature is None:
            raise _invalid("feature", "Cần cả lớp dữ liệu và số hiệu đối tượng.", "Both layer and feature are needed.")
        return parse_slug(layer), parse_int(feature.strip(), parameter="feature", default=0, minimum=1,
                                            maximum=MAX_FEATURE_ID), None, None
    lon, lat = _number_text(data, "lon"), _number_text(data, "lat")
    if lon is None or lat is None:
        raise _invalid("lon", "Hãy chọn vị trí trên bản đồ, hoặc phản ánh từ trang thửa đất.",
                       "Choose a place on the map, or report from a parcel's page.")
    lon, lat = check_lonlat(parse_number(lon, parameter="lon"), parse_number(lat, parameter="lat"))
    return None, None, lon, lat


def decode_base64_photo(data: Mapping) -> bytes | None:
    """The JSON door's photo: base64 text (a data: URL prefix is allowed); None when absent."""
    value = _text(data, "photo").strip()
    if not value:
        return None
    if value.startswith("data:") and "," in value[:100]:
        value = value.split(",", 1)[1]
    if len(value) > (max_bytes() * 4) // 3 + 8:
        raise too_large()
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("photo", "Ảnh phải được mã hóa base64.", "The photo must be base64-encoded.") from None


def canonical_fields(data: Mapping) -> dict:
    """The known fields under their canonical names (aliases folded in); the rest dropped."""
    fields = {name: data.get(name) for name in FIELDS if name in data}
    for alias, name in ALIASES.items():
        if alias in data and data.get(alias) not in (None, ""):
            if fields.get(name) not in (None, "") and fields[name] != data.get(alias):
                raise _invalid(name, f"Trường {name} được gửi hai lần ({alias}).", f"Field {name} was sent twice ({alias}).")
            fields[name] = data.get(alias)
    return fields


def parse_report(data: Mapping, photo: bytes | None) -> ReportInput:
    """Every field checked, the photo re-encoded; the first error raised, nothing stored."""
    if not isinstance(data, Mapping):
        raise BadRequest("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")
    if data.get(HONEYPOT):  # anything at all in the hidden field
        raise HoneypotFilled()
    data = canonical_fields(data)
    category = parse_category(data)
    text = parse_report_text(data)
    layer, feature, lon, lat = parse_place(data)
    contact = parse_contact(data)
    cleaned = clean_photo(photo) if photo else None
    return ReportInput(category=category, text=text, layer=layer, feature=feature, lon=lon, lat=lat,
                       contact=contact, photo=cleaned)


@dataclass(frozen=True)
class ModerationInput:
    status: str
    answer: str
    text_public: bool
    fixed_layer: str | None
    fixed_feature: int | None
    fixed_version: int | None


def parse_moderation(data: Mapping) -> ModerationInput:
    """A planner's answer: status, public answer, whether the report's text is published, the fixing version."""
    status = _text(data, "status").strip()
    answer = parse_report_text(data, "answer", required=False)
    layer = _text(data, "fixed_layer").strip()
    feature, version = _number_text(data, "fixed_feature"), _number_text(data, "fixed_version")
    return ModerationInput(
        status=status, answer=answer, text_public=_text(data, "text_public") in ("1", "on", "true"),
        fixed_layer=parse_slug(layer, parameter="fixed_layer") if layer else None,
        fixed_feature=parse_int(feature.strip(), parameter="fixed_feature", default=0, minimum=1,
                                maximum=MAX_FEATURE_ID) if feature else None,
        fixed_version=parse_int(version.strip(), parameter="fixed_version", default=0, minimum=1,
                                maximum=2**31 - 1) if version else None,
    )
