"""CQL2 text (OGC API – Features Part 3): a small parser to an AST and a compiler to parameterised SQL.

Supported: comparisons (= <> < > <= >=), AND/OR/NOT, LIKE, IN, BETWEEN, IS [NOT] NULL,
S_INTERSECTS/S_WITHIN/S_CONTAINS/S_DISJOINT with WKT or BBOX(...), DATE('…')/TIMESTAMP('…').
Field names must be in the layer's allow-list; every literal reaches SQL as a parameter (the
GeoServer CVE-2023-25157 lesson), and WKT is parsed by GEOS (shapely), never by GDAL.
"""
import datetime as dt
import re
from dataclasses import dataclass

import shapely

from layers.errors import InvalidParameter
from layers.params import parse_number

GEOMETRY_NAMES = {"geometry", "geom", "the_geom"}
SPATIAL_FUNCTIONS = {"S_INTERSECTS": "ST_Intersects", "S_WITHIN": "ST_Within",
                     "S_CONTAINS": "ST_Contains", "S_DISJOINT": "ST_Disjoint"}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")+")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.:\-]*)
  | (?P<op><>|<=|>=|=|<|>)
  | (?P<punct>[(),])
""", re.X)
_WKT_START = re.compile(r"(MULTI)?(POINT|LINESTRING|POLYGON)|GEOMETRYCOLLECTION", re.I)
MAX_DEPTH = 40  # nesting of NOT, parentheses and function calls together: each costs Python frames
MAX_WKT_DEPTH = 8  # GEOMETRYCOLLECTION(MULTIPOLYGON(((…)))) is 4; GEOS's reader recurses per level
# ASCII digits only ([0-9], not \d): Python's \d also matches other scripts' digits.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})", re.I)
_DIMENSIONS = {"Z", "M", "ZM"}  # POINT Z (x y z): read, then the extra ordinates are dropped (force_2d)


def _error(vi: str, en: str) -> InvalidParameter:
    return InvalidParameter(f"Bộ lọc CQL2 không hợp lệ: {vi}", f"Invalid CQL2 filter: {en}", parameter="filter")


@dataclass
class Token:
    kind: str
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """The filter's tokens; 400 at the first character that starts none."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise _error(f"ký tự không hợp lệ ở vị trí {pos}.", f"unexpected character at position {pos}.")
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


class Parser:
    """Recursive descent over CQL2 text; produces nested tuples (the AST)."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        tok = self.peek(offset)
        return tok.value.upper() if tok and tok.kind == "ident" else ""

    def take(self, kind: str | None = None, value: str | None = None) -> Token:
        tok = self.peek()
        if tok is None or (kind and tok.kind != kind) or (value and tok.value.upper() != value):
            where = f"vị trí {tok.pos}" if tok else "cuối chuỗi"
            where_en = f"position {tok.pos}" if tok else "end of text"
            raise _error(f"cú pháp sai ở {where}.", f"syntax error at {where_en}.")
        self.i += 1
        return tok

    def parse(self) -> tuple:
        if not self.tokens:
            raise _error("bộ lọc rỗng.", "the filter is empty.")
        node = self.expr()
        if self.peek() is not None:
            self.take("end")  # raises: trailing tokens
        return node

    def enter(self) -> None:
        """One level deeper (NOT, parenthesis, function call): refused past MAX_DEPTH, before Python's own limit."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(f"lồng quá sâu (tối đa {MAX_DEPTH} cấp).", f"nested too deeply (at most {MAX_DEPTH} levels).")

    def expr(self) -> tuple:
        items = [self.term()]
        while self.word() == "OR":
            self.i += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else ("or", items)

    def term(self) -> tuple:
        items = [self.factor()]
        while self.word() == "AND":
            self.i += 1
            items.append(self.factor())
        return items[0] if len(items) == 1 else ("and", items)

    def factor(self) -> tuple:
        self.enter()
        if self.word() == "NOT":
            self.i += 1
            node = ("not", self.factor())
        elif (tok := self.peek()) and tok.value == "(":
            self.i += 1
            node = self.expr()
            self.take("punct", ")")
        elif self.word() in SPATIAL_FUNCTIONS:
            node = self.spatial()
        else:
            node = self.predicate()
        self.depth -= 1
        return node

    def spatial(self) -> tuple:
        name = self.take("ident").value.upper()
        self.take("punct", "(")
        first = self.spatial_arg()
        self.take("punct", ",")
        second = self.spatial_arg()
        self.take("punct", ")")
        kinds = {first[0], second[0]}
        if kinds != {"geomprop", "wkt"}:
            raise _error("hàm không gian cần một thuộc tính hình học và một hình WKT.",
                         "a spatial function needs the geometry property and one WKT geometry.")
        wkt = first if first[0] == "wkt" else second
        op = name
        if first[0] == "wkt":  # S_WITHIN(wkt, geom) == S_CONTAINS(geom, wkt)
            op = {"S_WITHIN": "S_CONTAINS", "S_CONTAINS": "S_WITHIN"}.get(name, name)
        return ("spatial", op, wkt[1])

    def spatial_arg(self) -> tuple:
        tok = self.peek()
        if tok and tok.kind == "qident":
            name = tok.value[1:-1].replace('""', '"')
        elif tok and tok.kind == "ident":
            name = tok.value
        else:
            raise _error("cần thuộc tính hình học hoặc WKT.", "expected the geometry property or WKT.")
        if name.lower() in GEOMETRY_NAMES:
            self.i += 1
            return ("geomprop",)
        if name.upper() == "BBOX":
            self.i += 1
            self.take("punct", "(")
            nums = [self.number()]
            while self.peek() and self.peek().value == ",":
                self.i += 1
                nums.append(self.number())
            self.take("punct", ")")
            return ("wkt", bbox_wkt(nums))
        if _WKT_START.fullmatch(name):
            return ("wkt", self.wkt())
        raise _error(f"không phải hình học: {name[:50]}.", f"not a geometry: {name[:50]}.")

    def wkt(self) -> str:
        start = self.take("ident").pos
        if self.word() in _DIMENSIONS:
            self.i += 1
        self.take("punct", "(")
        level = 1
        while level:
            tok = self.take()
            if tok.kind not in ("number", "punct", "ident"):
                raise _error("WKT không hợp lệ.", "invalid WKT.")
            if tok.kind == "number":
                parse_number(tok.value, parameter="filter")
            level += {"(": 1, ")": -1}.get(tok.value, 0)
            if level > MAX_WKT_DEPTH:
                raise _error("WKT lồng quá sâu.", "the WKT nests too deeply.")
        end = self.tokens[self.i - 1].pos + 1
        return self.text[start:end]

    def number(self) -> float:
        return float(self.numeric(self.take("number")))

    def numeric(self, tok: Token) -> int | float:
        """A number token's value: finite and representable, or 400 (1e999 would match everything)."""
        try:
            return parse_number(tok.value, parameter="filter")
        except InvalidParameter:
            raise _error(f"số ngoài phạm vi ở vị trí {tok.pos}.", f"number out of range at position {tok.pos}.") from None

    def temporal(self, word: str) -> str:
        """DATE('YYYY-MM-DD') or TIMESTAMP('…Z'): the text, once it names a real day or instant."""
        self.take("punct", "(")
        tok = self.take("string")
        self.take("punct", ")")
        return temporal_value(word, tok.value[1:-1], f"vị trí {tok.pos}", f"position {tok.pos}")

    def field(self) -> str:
        tok = self.take()
        if tok.kind == "qident":
            return tok.value[1:-1].replace('""', '"')
        if tok.kind == "ident" and tok.value.upper() not in _KEYWORDS:
            return tok.value
        raise _error(f"cần tên trường ở vị trí {tok.pos}.", f"expected a field name at position {tok.pos}.")

    def literal(self):
        tok = self.take()
        if tok.kind == "number":
            return self.numeric(tok)
        if tok.kind == "string":
            return tok.value[1:-1].replace("''", "'")
        word = tok.value.upper() if tok.kind == "ident" else ""
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if word in ("DATE", "TIMESTAMP"):
            return self.temporal(word)
        raise _error(f"cần một giá trị ở vị trí {tok.pos}.", f"expected a value at position {tok.pos}.")

    def predicate(self) -> tuple:
        name = self.field()
        negate = False
        if self.word() == "NOT":
            self.i += 1
            negate = True
        word = self.word()
        if word == "LIKE":
            self.i += 1
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise _error("LIKE cần một chuỗi.", "LIKE needs a string.")
            return ("like", name, pattern, negate)
        if word == "IN":
            self.i += 1
            self.take("punct", "(")
            values = [self.literal()]
            while self.peek() and self.peek().value == ",":
                self.i += 1
                values.append(self.literal())
            self.take("punct", ")")
            return ("in", name, values, negate)
        if word == "BETWEEN":
            self.i += 1
            low = self.literal()
            self.take("ident", "AND")
            return ("between", name, low, self.literal(), negate)
        if word == "IS" and not negate:
            self.i += 1
            if self.word() == "NOT":
                self.i += 1
                negate = True
            self.take("ident", "NULL")
            return ("isnull", name, negate)
        if negate:
            raise _error("NOT đặt sai chỗ.", "misplaced NOT.")
        op = self.take("op").value
        return ("cmp", op, name, self.literal())


def temporal_value(word: str, value: str, where_vi: str, where_en: str) -> str:
    """The text of a DATE ('YYYY-MM-DD') or TIMESTAMP ('…T…Z' or with an offset), once it names a real day
    or instant; 400 otherwise (CQL2 text and CQL2-JSON both read them here)."""
    pattern = _DATE if word == "DATE" else _TIMESTAMP
    try:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(value)
        dt.date.fromisoformat(value) if word == "DATE" else dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        example = "DATE('2025-07-01')" if word == "DATE" else "TIMESTAMP('2025-07-01T08:00:00Z')"
        raise _error(f"{word} không hợp lệ ở {where_vi}; ví dụ {example}.",
                     f"invalid {word} at {where_en}; e.g. {example}.") from None
    return value


def bbox_wkt(numbers: list[float]) -> str:
    """A BBOX's 4 or 6 numbers as WKT; an inverted box is refused like the bbox parameter (shapely would
    silently swap it). Whatever the axis order, the first corner is the lower one on both axes."""
    if len(numbers) not in (4, 6):
        raise _error("BBOX cần 4 hoặc 6 số.", "BBOX needs 4 or 6 numbers.")
    if len(numbers) == 6:  # 3D: drop the heights
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if numbers[0] > numbers[2] or numbers[1] > numbers[3]:
        raise _error("BBOX ngược: cực tiểu lớn hơn cực đại.", "inverted BBOX: a minimum is greater than its maximum.")
    return shapely.box(*numbers).wkt


def parse(text: str) -> tuple:
    """The AST of a CQL2 text filter; InvalidParameter(filter) when it does not parse."""
    return Parser(text).parse()
