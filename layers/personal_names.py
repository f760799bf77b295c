"""What looks like personal data, by a field's name and by its values (no Django, no catalog).

layers/schemas.py (single writes), ingest (columns) and layers/personal.py (the doors) all ask these two
questions; they live here so that the schema module can ask them without an import cycle.
"""
import math
import re
import unicodedata
from collections.abc import Iterable

# Folded (accent-free, lower case, '_' between words) names that hold personal data, as whole words
# of a column name: "chu_su_dung", "ten_chu_su_dung", "owner_name", "so_cccd", "sdt_lien_he".
PERSONAL_WORDS = (
    # owners, users, holders, representatives
    "chu_su_dung", "chu_sd", "chu_sdd", "csd", "ten_csd", "nguoi_su_dung", "nguoi_sd", "ten_chu", "chu_ho",
    "chu_so_huu", "nguoi_so_huu", "chu_dat", "chu_nha", "chu_dau_tu_ca_nhan", "nguoi_dai_dien", "dai_dien_phap_luat",
    "nguoi_lien_he", "ten_nguoi", "ho_ten", "ho_va_ten", "owner", "owners", "owner_name", "landowner", "land_owner",
    "holder_name", "full_name", "fullname", "person_name", "first_name", "last_name", "surname", "given_name",
    "representative", "legal_representative", "contact_person", "contact_name",
    # identity documents and tax ids
    "cccd", "cmnd", "cmt", "so_cccd", "so_cmnd", "can_cuoc", "dinh_danh", "so_dinh_danh", "id_number", "national_id",
    "passport", "ho_chieu", "so_ho_chieu", "ma_so_thue", "mst", "ma_so_thue_ca_nhan", "tax_id", "tax_code",
    "tax_number", "ssn",
    # phones, e-mail
    "so_dien_thoai", "dien_thoai", "dt_lien_he", "sdt", "so_dt", "dtdd", "di_dong", "phone", "phone_number",
    "mobile", "telephone", "tel", "email", "e_mail", "thu_dien_tu",
    # birth, residence, sex
    "ngay_sinh", "nam_sinh", "ngay_thang_nam_sinh", "date_of_birth", "dob", "birth_date", "birthday", "birth_year",
    "dia_chi_chu", "dia_chi_chu_su_dung", "dia_chi_thuong_tru", "thuong_tru", "dia_chi_thuong_chu", "tam_tru",
    "noi_thuong_tru", "home_address", "owner_address", "gioi_tinh",
)
_WORDS_RE = re.compile(r"(?:^|_)(?:" + "|".join(sorted(map(re.escape, PERSONAL_WORDS), key=len, reverse=True))
                       + r")(?:_|$)")
# Written joined up ("hoten", "CHUSUDUNG", "tenchusd"): a Vietnamese word of two syllables or more (or an ID
# card's initials) at the start or end of a word of the name. Single English words are not matched inside
# others ("automobile", "microphone" are not personal).
_JOINED = tuple(sorted({w.replace("_", "") for w in PERSONAL_WORDS if "_" in w and len(w.replace("_", "")) >= 5}
                       | {"cccd", "cmnd", "sdt", "sodt"}, key=len, reverse=True))
_JOINED_EXACT = frozenset(w.replace("_", "") for w in PERSONAL_WORDS)

# Second signal, from values: citizen ID (CCCD, 12 digits), old ID card (CMND, 9 digits), Vietnamese
# mobile and landline numbers, e-mail addresses.
_CCCD = re.compile(r"^0\d{11}$")
_CMND = re.compile(r"^\d{9}$")
_PHONE = re.compile(r"^(?:\+?84|0)(?:3|5|7|8|9|2\d)\d{7,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_EMAIL_IN = re.compile(r"[^@\s,;:<>()\"']+@[^@\s,;:<>()\"']+\.[a-z]{2,}", re.I)
_DIGITS_IN = re.compile(r"(?<![\d.,])\+?\d[\d .\-()]{7,16}\d(?![\d.,])")
VALUE_SHARE = 0.8  # at least this share of a column's sampled non-empty values must look personal


def fold_name(name: str) -> str:
    """'Họ_Tên Chủ' -> 'ho_ten_chu', 'TenChuSD' -> 'ten_chu_sd': no accents, CamelCase split, lower case,
    words joined by '_'."""
    text = str(name).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", text).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _words(name: str) -> list[str]:
    """The folded name's words, trailing digits dropped ('cccd1' -> 'cccd', 'so_dt_2' -> 'so', 'dt')."""
    return [w for w in (re.sub(r"\d+$", "", w) for w in fold_name(name).split("_")) if w]


def _one_looks_personal(name: str) -> bool:
    words = _words(name)
    if not words:
        return False
    if _WORDS_RE.search("_".join(words)):
        return True
    joined = "".join(words)
    if joined in _JOINED_EXACT:
        return True
    return any(w.startswith(j) or w.endswith(j) for w in words + [joined] for j in _JOINED)


def name_looks_personal(*names: str) -> bool:
    """True when any of the names (a column's original and mapped names, its labels) is a personal one."""
    return any(_one_looks_personal(name) for name in names if name)


def _as_text(value) -> str | None:
    """A value as the text a person typed: numbers that lost their leading zero (a CCCD read as a number, or
    stored as text by a spreadsheet) get it back."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = re.sub(r"[\s.\-()]", "", value.strip())
    if len(text) == 11 and text.isdigit() and not text.startswith("0"):
        return "0" + text  # a CCCD (12 digits, first 0) without its leading zero
    return text


def _value_kind(value) -> str | None:
    text = _as_text(value)
    if not text:
        return None
    if _CCCD.match(text):
        return "cccd"
    if _CMND.match(text):
        return "cmnd"
    if _PHONE.match(text):
        return "phone"
    return "email" if isinstance(value, str) and _EMAIL.match(value.strip()) else None


def values_look_personal(values: Iterable) -> str | None:
    """'cccd', 'cmnd', 'phone' or 'email' when most sampled values look like that; None otherwise."""
    kinds = [_value_kind(v) for v in values if v is not None and str(v).strip() != ""]
    if not kinds:
        return None
    best = max(set(kinds), key=kinds.count)
    return best if best is not None and kinds.count(best) >= VALUE_SHARE * len(kinds) else None


def value_looks_personal(value) -> str | None:
    """One value (an attribute sent by the editor, a rejected row's value): the kind of personal data it is,
    or holds within its text ('Liên hệ 0901 234 567', 'a@b.vn; ...'), or None."""
    kind = _value_kind(value)
    if kind or not isinstance(value, str):
        return kind
    if _EMAIL_IN.search(value):
        return "email"
    for match in _DIGITS_IN.finditer(value):
        kind = _value_kind(match.group(0))
        if kind in ("cccd", "phone"):  # nine digits inside a text are too often something else (a CMND is not sure)
            return kind
    return None


def scrub_text(text: str) -> str:
    """A message without the e-mails, phone and CCCD numbers it may quote (a unique-key conflict's DETAIL)."""
    text = _EMAIL_IN.sub("***", text)
    return _DIGITS_IN.sub(lambda m: "***" if value_looks_personal(m.group(0)) else m.group(0), text)
