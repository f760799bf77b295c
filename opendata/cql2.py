"""CQL2 text (OGC API – Features Part 3): a small parser to an AST and a compiler to parameterised SQL.

Supported: comparisons (= <> < > <= >=), AND/OR/NOT, LIKE, IN, BETWEEN, IS [NOT] NULL,
S_INTERSECTS/S_WITHIN/S_CONTAINS/S_DISJOINT with WKT or BBOX(...), DATE('…')/TIMESTAMP('…').
Field names must be in the layer's allow-list; every literal reaches SQL as a parameter (the
GeoServer CVE-2023-25157 lesson), and WKT is parsed by GEOS (shapely), never by GDAL.
"""
import re
from dataclasses import dataclass

import shapely

from layers.errors import InvalidParameter

GEOMETRY_NAMES = {"geometry", "geom", "the_geom"}
SPATIAL_FUNCTIONS = {"S_INTERSECTS": "ST_Intersects", "S_WITHIN": "ST_Within",
                     "S_CONTAINS": "ST_Contains", "S_DISJOINT": "ST_Disjoint"}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")+")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.:\-]*)
  | (?P<op><>|<=|>=|=|<|>)
  | (?P<punct>[(),])
""", re.X)
_WKT_START = re.compile(r"(MULTI)?(POINT|LINESTRING|POLYGON)|GEOMETRYCOLLECTION", re.I)
MAX_DEPTH = 40


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

    def expr(self) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error("lồng quá sâu.", "nested too deeply.")
        items = [self.term()]
        while self.word() == "OR":
            self.i += 1
            items.append(self.term())
        self.depth -= 1
        return items[0] if len(items) == 1 else ("or", items)

    def term(self) -> tuple:
        items = [self.factor()]
        while self.word() == "AND":
            self.i += 1
            items.append(self.factor())
        return items[0] if len(items) == 1 else ("and", items)

    def factor(self) -> tuple:
        if self.word() == "NOT":
            self.i += 1
            return ("not", self.factor())
        tok = self.peek()
        if tok and tok.value == "(":
            self.i += 1
            node = self.expr()
            self.take("punct", ")")
            return node
        if self.word() in SPATIAL_FUNCTIONS:
            return self.spatial()
        return self.predicate()

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
            if len(nums) != 4:
                raise _error("BBOX cần 4 số.", "BBOX needs 4 numbers.")
            return ("wkt", shapely.box(*nums).wkt)
        if _WKT_START.fullmatch(name):
            return ("wkt", self.wkt())
        raise _error(f"không phải hình học: {name[:50]}.", f"not a geometry: {name[:50]}.")

    def wkt(self) -> str:
        start = self.take("ident").pos
        self.take("punct", "(")
        level = 1
        while level:
            tok = self.take()
            if tok.kind not in ("number", "punct", "ident"):
                raise _error("WKT không hợp lệ.", "invalid WKT.")
            level += {"(": 1, ")": -1}.get(tok.value, 0)
        end = self.tokens[self.i - 1].pos + 1
        return self.text[start:end]

    def number(self) -> float:
        return float(self.take("number").value)

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
            return float(tok.value) if any(c in tok.value for c in ".eE") else int(tok.value)
        if tok.kind == "string":
            return tok.value[1:-1].replace("''", "'")
        word = tok.value.upper() if tok.kind == "ident" else ""
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if word in ("DATE", "TIMESTAMP"):
            self.take("punct", "(")
            value = self.take("string").value[1:-1]
            self.take("punct", ")")
            return value
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


def parse(text: str) -> tuple:
    """The AST of a CQL2 text filter; InvalidParameter(filter) when it does not parse."""
    return Parser(text).parse()
