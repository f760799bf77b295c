"""Vietnamese addresses as residents write them, parsed into their parts (the one address parser).

"1806/127/2/6 Đường số 14, P. Thảo Điền, TP. Thủ Đức", "hẻm 12 Lê Văn Việt, Q.9",
"12/3A đg Võ Văn Ngân, phuong Linh Chieu, Thu Duc", "số 5 kiệt 7 Nguyễn Duy Trinh", "số 10 ngõ 3 ngách 5 ...".
Matching is on folded text (layers.wards.fold: no diacritics, đ → d, lower case), so accents are optional;
the street keeps its spelling as typed for display. Bad input gives None, never an exception.
"""
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from layers.wards import Ward, fold

MAX_ADDRESS = 200  # characters; longer input is no address (the search box caps at 100 already)

ALLEY_KINDS = {"hem": "hẻm", "h": "hẻm", "kiet": "kiệt", "k": "kiệt", "ngo": "ngõ", "ngach": "ngách"}
_HOUSE = r"\d{1,5}(?!\d)[a-z]?(?![a-z])(?:\s*/\s*\d{1,5}(?!\d)[a-z]?(?![a-z]))*"  # 12, 5B, 12/3A, 1806/127/2/6
_NO = r"(?:so nha|nha so|so|sn|s\.)"  # "số nhà 12", "nhà số 12", "số 12", "SN 12", "s. 12"
_STREET_RE = re.compile(
    rf"^(?:{_NO}\s*(?=\d))?(?P<house>{_HOUSE})?[\s,]*"
    rf"(?P<alleys>(?:(?:hem|kiet|ngo|ngach|h\.|k\.)\s*(?:so\s*)?{_HOUSE}[\s,]*)*)"
    rf"(?:{_NO}\s*(?P<house_after>{_HOUSE})[\s,]+)?(?P<street>.*)$"
)
_ALLEY_RE = re.compile(rf"(?P<kind>hem|kiet|ngo|ngach|h\.|k\.)\s*(?:so\s*)?(?P<number>{_HOUSE})")
# Where a unit begins inside a part written without commas: "... Võ Văn Ngân phuong Linh Chieu Q.9".
_UNIT_START = re.compile(r"(?<=\s)(?=(?:phuong|quan|thanh pho|tp|tphcm)(?:\W|\d|$)|[pqf]\.|[pqf]\d|[pq]\s)")
# "F12", "f.12": how Saigon writes phường 12.
_WARD_RE = re.compile(r"^(?:phuong\b|p(?=[\s.\d]|$)|f(?=[.\d]))\.?\s*(?P<rest>.*)$")
_DISTRICT_RE = re.compile(r"^(?:quan\b|q(?=[\s.\d]|$))\.?\s*(?P<rest>.*)$")
_CITY_RE = re.compile(r"^(?:thanh pho\b|tp(?=[\s.]|$))\.?\s*(?P<rest>.*)$")
# "Đường"/"Đ."/"đg" before a street's name; "duong" without accents may be the name Dương (Dương Đình Hội).
_STREET_PREFIX = re.compile(r"^(?:duong|dg\.?|d\.)\s*(?=\S)")
_NUMBERED_STREET = re.compile(r"^(?:so\s*)?(?P<n>\d{1,4}[a-z]?)$|^d\s*\.?\s*(?P<d>\d{1,4}[a-z]?)$")
_HCM = {"hcm", "tphcm", "ho chi minh", "sai gon", "sg", "hcmc", "tp hcm"}
_LABEL = re.compile(r"^(?:dia chi\s*:?|d/c\s*:|dc\s*:)\s*")  # "Địa chỉ: ...", "Đ/c: ..."
_COUNTRY = {"viet nam", "vietnam", "vn"}
_THU_DUC = "thu duc"  # a district (to 2021), a city (2021-2025) and, since 2025, also a ward's name


# The districts that became Thủ Đức city in 2021, by their former wards' folded names. "Quận Thủ Đức" is
# left open: residents still write it for the whole city as well as for the old district.
FORMER_DISTRICTS = {
    "2": {"an khanh", "an loi dong", "an phu", "binh an", "binh khanh", "binh trung dong", "binh trung tay",
          "cat lai", "thanh my loi", "thao dien", "thu thiem"},
    "9": {"hiep phu", "long binh", "long phuoc", "long thanh my", "long truong", "phu huu", "phuoc binh",
          "phuoc long a", "phuoc long b", "tan phu", "tang nhon phu a", "tang nhon phu b", "truong thanh"},
}
OPEN_AREAS = {_THU_DUC, "hcm"}  # a district or city that allows every ward of the data


@dataclass(frozen=True)
class Address:
    """An address in parts; folded keys for matching, the street as typed for display."""

    house: str = ""  # the house's own number: "12/3A", "1806/127/2/6", "5"
    alley_kind: str = ""  # hẻm | kiệt | ngõ | ngách ("" on the main street)
    alley: str = ""  # the alley's number path: "12", "3/5" (ngõ 3 ngách 5)
    street: str = ""  # as typed, without "đường"/"Đ."/"đg": "Võ Văn Ngân", "Đường số 14"
    street_key: str = ""  # folded: "vo van ngan", "so 14"
    ward: str = ""  # folded name ("thao dien") or number of an old numbered ward ("12")
    wards: tuple[Ward, ...] = ()  # the wards (former or current) of that name, when a wards list was given
    district: str = ""  # "2", "9", "thu duc"
    city: str = ""  # "hcm", "thu duc"

    @property
    def number(self) -> str:
        """The full number path on the street: 'số 5 hẻm 12' and '12/5' are both '12/5'."""
        return "/".join(part for part in (self.alley, self.house) if part)

    @property
    def area_wards(self) -> set[str] | None:
        """Folded names of the former wards the district and city allow (None: any; empty: none of ours)."""
        if self.city and self.city not in OPEN_AREAS:
            return set()
        if self.district and self.district not in OPEN_AREAS:
            return set(FORMER_DISTRICTS.get(self.district, ()))
        return None

    @property
    def structured(self) -> bool:
        """A street and a house or alley number: enough to point at a place."""
        return bool(self.street_key and self.number)


def _clean(text: str) -> str:
    """NFC, printable characters only, whitespace collapsed."""
    text = unicodedata.normalize("NFC", "".join(c if c.isprintable() else " " for c in text))
    return " ".join(text.split())


def _folded(text: str) -> str:
    """Fold character by character so positions match the original (fold() of a whole string may not)."""
    return "".join(fold(c) or " " for c in text)


def _number(text: str) -> str:
    """A number path without spaces, letters in capitals: '12 / 3a' -> '12/3A'."""
    return re.sub(r"\s+", "", text).upper()


def _split(original: str, folded: str) -> list[tuple[str, str]]:
    """The parts between commas, and before each unit word written without a comma, as (original, folded)."""
    cuts = sorted({0, len(folded)} | {m.start() for m in _UNIT_START.finditer(folded)}
                  | {m.start() for m in re.finditer(r"[,;]|\s-\s", folded)} | {m.end() for m in re.finditer(r"[,;]|\s-\s", folded)})
    parts = []
    for start, end in zip(cuts, cuts[1:]):
        piece_f = folded[start:end].strip(" ,;-")
        if piece_f:
            lead = len(folded[start:end]) - len(folded[start:end].lstrip(" ,;-"))
            parts.append((original[start + lead:start + lead + len(piece_f)], piece_f))
    return parts


def _ward_key(folded: str) -> str:
    """A ward's name as compared: without 'phường' and a number's leading zeros ('Phường 05' -> '5')."""
    name = folded.removeprefix("phuong ").removeprefix("so ")
    return name.lstrip("0") or name if name.isdigit() else name


def _trailing_unit(name: str, name_f: str, names: dict) -> tuple[str, str, str]:
    """A ward (or Thủ Đức) written after the street with no comma or prefix ('... Võ Văn Ngân Linh Chiểu'):
    (street, folded street, folded unit). A street whose whole name is a ward's (Thảo Điền) keeps it."""
    bare = name_f.rstrip(" .")
    for unit in sorted([*names, _THU_DUC], key=len, reverse=True):
        if bare.endswith(" " + unit) and bare[:-len(unit)].strip():
            cut = len(bare) - len(unit)
            return name[:cut].rstrip(), name_f[:cut].rstrip(), unit
    return name, name_f, ""


def _street(original: str, folded: str, names: dict) -> dict:
    """House number, alleys and street name of the first part (empty values where absent)."""
    match = _STREET_RE.match(folded)
    house = _number(match["house"] or match["house_after"] or "")
    alleys = [(ALLEY_KINDS[m["kind"].rstrip(".")], _number(m["number"])) for m in _ALLEY_RE.finditer(match["alleys"])]
    name_f, name = folded[match.start("street"):], original[match.start("street"):]
    prefix = _STREET_PREFIX.match(name_f)
    if prefix and not (name_f.startswith("duong") and not name.lower().startswith("đường")):
        name_f, name = name_f[prefix.end():], name[prefix.end():]
    units = []
    while (house or alleys) and len(units) < 2 and (found := _trailing_unit(name, name_f, names))[2]:
        name, name_f, unit = found
        units.append(unit)
    key = " ".join(re.sub(r"[^\w/]+", " ", name_f).split())
    numbered = _NUMBERED_STREET.match(key.removeprefix("duong "))
    if numbered:
        key = f"so {(numbered['n'] or numbered['d'])}"
        name = "Đường số " + key[3:].upper()
    if not re.search(r"[a-z]", key):  # "12/3" alone: a number with no street
        key = name = ""
    return {"house": house, "alley_kind": alleys[-1][0] if alleys else "", "alley": "/".join(a for _k, a in alleys),
            "street": name.strip(" ,.") if key else "", "street_key": key,
            **{("city" if unit == _THU_DUC else "ward"): unit for unit in reversed(units)}}


def _unit(folded: str, found: dict, names: dict[str, list[Ward]]) -> None:
    """Record a later part as ward, district or city (the first of each kind wins)."""
    folded = re.sub(r"\([^)]*\)?", " ", folded).strip()  # "Quận Thủ Đức (cũ)", "phường An Khánh (mới)"
    bare = " ".join(re.sub(r"[^\w]+", " ", folded).split())
    if (m := _WARD_RE.match(folded)) and (rest := " ".join(re.sub(r"[^\w]+", " ", m["rest"]).split())):
        for old_or_new in (" cu", " moi"):  # "phường Linh Chiểu cũ"
            if rest not in names and rest.endswith(old_or_new) and rest.removesuffix(old_or_new) in names:
                rest = rest.removesuffix(old_or_new)
        found.setdefault("ward", _ward_key(rest))
    elif (m := _DISTRICT_RE.match(folded)) and (rest := " ".join(re.sub(r"[^\w]+", " ", m["rest"]).split())):
        found.setdefault("district", rest.lstrip("0") or rest)
    elif bare in _HCM or bare.replace(" ", "") in _HCM:
        found.setdefault("city", "hcm")
    elif (m := _CITY_RE.match(folded)) and (rest := " ".join(re.sub(r"[^\w]+", " ", m["rest"]).split())):
        found.setdefault("city", "hcm" if rest in _HCM or rest.replace(" ", "") in _HCM else rest)
    elif bare == _THU_DUC:  # bare "Thủ Đức": the city (or old district) residents still write, not the new ward
        found.setdefault("city", _THU_DUC)
    elif bare in names and "ward" not in found:
        found["ward"] = bare


def parse_address(text: str, wards: Iterable[Ward] = ()) -> Address | None:
    """The address's parts, or None for empty, over-long or shapeless input; wards: names to recognise."""
    if not isinstance(text, str) or len(text) > MAX_ADDRESS:
        return None
    original = _clean(text)
    folded = _folded(original)
    if len(folded) != len(original) or not folded:  # never expected after NFC; refuse rather than misalign
        return None
    names: dict[str, list[Ward]] = {}
    for ward in wards:
        names.setdefault(_ward_key(fold(ward.name)), []).append(ward)
    if (label := _LABEL.match(folded)) and label.end() < len(folded):
        original, folded = original[label.end():], folded[label.end():]
    parts = _split(original, folded)
    if len(parts) > 1 and not _is_unit(parts[0][1], names) and not _is_unit(parts[1][1], names) \
            and not _street(*parts[0], names)["street_key"]:  # "12/3A, Võ Văn Ngân": the number, then its street
        parts = [(parts[0][0] + " " + parts[1][0], parts[0][1] + " " + parts[1][1])] + parts[2:]
    found: dict = {}
    if parts and not _is_unit(parts[0][1], names):
        found = {k: v for k, v in _street(*parts[0], names).items() if v}
        parts = parts[1:]
    for _original, part in parts:
        if part not in _COUNTRY:
            _unit(part, found, names)
    if not found:
        return None
    return Address(**found, wards=tuple(names.get(found.get("ward", ""), ())))


def _is_unit(folded: str, names: dict) -> bool:
    """Whether a part names a unit (ward, district, city) rather than a street."""
    bare = " ".join(re.sub(r"[^\w]+", " ", folded).split())
    return bool(_WARD_RE.match(folded) or _DISTRICT_RE.match(folded) or _CITY_RE.match(folded)) \
        or bare.replace(" ", "") in _HCM or bare == _THU_DUC or bare in names
