"""CQL2 text: any text parses to an AST or is refused with a 4xx; generated filters (any nesting up to the
limit) parse, compile to SQL, and run against PostGIS through the OGC API without a 500."""
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from layers.errors import DomainError
from layers.models import Layer
from layers.params import CRS84
from opendata import cql2, cql2_json
from opendata.query import FeatureQuery, compile_cql
from tests.factories import make_feature, make_parcel_layer, square
from tests.fuzz.test_params import refused

FIELDS = [{"name": "legal_area", "type": "number"}, {"name": "land_use", "type": "text"},
          {"name": "map_sheet", "type": "integer"}]
NUMBER = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=False).map(repr),
                   st.sampled_from(["1e999", "-1e999", "1e-999", "9" * 50, ".5", "1.", "-0"]))
STRING = st.text(alphabet="abcODT '%_x", max_size=8).map(lambda t: "'" + t.replace("'", "''") + "'")
TEMPORAL = st.sampled_from(["DATE('2025-07-01')", "DATE('not a date')", "DATE('2025-02-30')",
                            "TIMESTAMP('2025-07-01T08:00:00Z')", "TIMESTAMP('2025-07-01')", "TIMESTAMP('x')"])
VALUE = NUMBER | STRING | TEMPORAL | st.sampled_from(["TRUE", "FALSE"])
FIELD = st.sampled_from(["legal_area", "land_use", "map_sheet", '"legal_area"', "unknown_field"])
COORD = st.floats(allow_nan=False, width=32).map(repr) | st.sampled_from(["106.7", "10.8", "1e30", "-1e30"])
POINT = st.tuples(COORD, COORD).map(lambda c: f"POINT({c[0]} {c[1]})")
BBOX = st.lists(COORD, min_size=3, max_size=7).map(lambda c: f"BBOX({', '.join(c)})")
SPATIAL = st.tuples(st.sampled_from(sorted(cql2.SPATIAL_FUNCTIONS)), POINT | BBOX, st.booleans()).map(
    lambda t: f"{t[0]}(geometry, {t[1]})" if t[2] else f"{t[0]}({t[1]}, geometry)")
PREDICATE = st.one_of(
    st.tuples(FIELD, st.sampled_from(["=", "<>", "<", ">", "<=", ">="]), VALUE).map(" ".join),
    st.tuples(FIELD, STRING).map(lambda t: f"{t[0]} LIKE {t[1]}"),
    st.tuples(FIELD, st.lists(VALUE, min_size=1, max_size=4)).map(lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
    st.tuples(FIELD, VALUE, VALUE).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
    FIELD.map(lambda f: f"{f} IS NULL"), FIELD.map(lambda f: f"{f} IS NOT NULL"), SPATIAL,
)
FILTER = st.recursive(PREDICATE, lambda inner: st.one_of(
    inner.map(lambda f: f"NOT {f}"), inner.map(lambda f: f"({f})"),
    st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(" ".join)), max_leaves=12)
DEEP = st.tuples(st.integers(1, 1200), st.sampled_from(["NOT ", "(", "NOT ("])).map(
    lambda t: t[1] * t[0] + "legal_area > 1" + ")" * (t[0] * t[1].count("(")))
TOKENS = st.lists(st.sampled_from(["NOT", "AND", "OR", "(", ")", ",", "legal_area", "=", "<", "1", "1e999", "'a'",
                                   "BBOX", "POINT", "S_INTERSECTS", "geometry", "IN", "BETWEEN", "IS", "NULL",
                                   "DATE", "LIKE", '"', "'", "GEOMETRYCOLLECTION"]), max_size=40).map(" ".join)


def compiled(text: str):
    """The filter as SQL for a three-field layer, or None when refused (4xx)."""
    ast = refused(cql2.parse, text)
    if ast is None:
        return None
    q = FeatureQuery(layer=Layer(slug="fuzz"), fields=FIELDS, filter_crs=CRS84)
    return refused(compile_cql, q, ast)


@given(st.text(max_size=200) | TOKENS | DEEP)
def test_any_text_parses_or_is_refused(text):
    compiled(text)


@given(FILTER)
def test_generated_filters_compile_or_are_refused(text):
    compiled(text)


@given(st.integers(1, cql2.MAX_DEPTH - 1), st.sampled_from(["NOT ", "("]))
def test_nesting_up_to_the_limit_parses(depth, opener):
    text = opener * depth + "legal_area > 1" + (")" * depth if opener == "(" else "")
    assert cql2.parse(text)


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False))
def test_an_inverted_bbox_is_refused_and_an_ordered_one_kept(a, b):
    low, high = min(a, b), max(a, b)
    ordered = cql2.parse(f"S_INTERSECTS(geometry, BBOX({low!r}, {low!r}, {high!r}, {high!r}))")
    assert ordered[0] == "spatial"
    if low < high:
        with pytest.raises(DomainError):
            cql2.parse(f"S_INTERSECTS(geometry, BBOX({high!r}, {low!r}, {low!r}, {high!r}))")


@pytest.mark.django_db
@settings(max_examples=60)
@given(text=FILTER | DEEP)
def test_filters_never_make_the_ogc_api_answer_500(client, fuzz_parcels, text):
    response = client.get(f"/ogc/collections/{fuzz_parcels.slug}/items", {"filter": text},
                          HTTP_ACCEPT="application/geo+json")
    assert response.status_code in (200, 400), (text, response.content[:300])
    if response.status_code == 400:
        assert response.json()["description_vi"]


@pytest.fixture
def fuzz_parcels(db, settings):
    settings.OPENDATA_RATE_ANON = 10**9
    layer = make_parcel_layer(slug="fuzz-parcels")
    make_feature(layer, square(106.7, 10.8), {"legal_area": 100.0, "land_use": "ODT", "map_sheet": 3})
    return layer


# CQL2-JSON: the same filters written both ways read into the same AST.
JSON_FIELD = st.sampled_from(["legal_area", "land_use", "map_sheet"])
JSON_VALUE = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                       st.text(alphabet="abcODT %_", max_size=6))


def _text_literal(value) -> str:
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)


PAIR_PREDICATE = st.one_of(
    st.tuples(JSON_FIELD, st.sampled_from(["=", "<>", "<", ">", "<=", ">="]), JSON_VALUE).map(
        lambda t: (f"{t[0]} {t[1]} {_text_literal(t[2])}", {"op": t[1], "args": [{"property": t[0]}, t[2]]})),
    st.tuples(JSON_FIELD, st.lists(JSON_VALUE, min_size=1, max_size=3)).map(
        lambda t: (f"{t[0]} IN ({', '.join(map(_text_literal, t[1]))})", {"op": "in", "args": [{"property": t[0]}, t[1]]})),
    JSON_FIELD.map(lambda f: (f"{f} IS NULL", {"op": "isNull", "args": [{"property": f}]})),
    st.lists(st.floats(-1e6, 1e6), min_size=4, max_size=4).map(sorted).map(lambda b: [b[0], b[1], b[2], b[3]]).map(
        lambda b: (f"S_INTERSECTS(geometry, BBOX({', '.join(map(repr, b))}))",
                   {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": b}]})),
)
PAIRS = st.recursive(PAIR_PREDICATE, lambda inner: st.one_of(
    inner.map(lambda p: (f"NOT ({p[0]})", {"op": "not", "args": [p[1]]})),
    st.tuples(inner, inner, st.sampled_from(["AND", "OR"])).map(
        lambda t: (f"({t[0][0]}) {t[2]} ({t[1][0]})", {"op": t[2].lower(), "args": [t[0][1], t[1][1]]}))), max_leaves=8)
JSON_SOUP = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=4)
    | st.sampled_from(["and", "or", "not", "=", "in", "between", "like", "isNull", "s_intersects", "geometry"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["op", "args", "property", "bbox", "date", "timestamp", "type", "coordinates"]), inner, max_size=3),
    max_leaves=25)


def _flat(ast):
    """The AST with and/or runs flattened (text reads 'a AND (b AND c)' as one run, JSON keeps the nesting)."""
    if isinstance(ast, tuple) and ast and ast[0] in ("and", "or"):
        items = []
        for child in ast[1]:
            child = _flat(child)
            items += child[1] if isinstance(child, tuple) and child[0] == ast[0] else [child]
        return (ast[0], items)
    if isinstance(ast, tuple) and ast and ast[0] == "not":
        return ("not", _flat(ast[1]))
    return ast


@given(PAIRS)
def test_cql2_json_reads_as_the_same_ast_as_text(pair):
    text, document = pair
    from_text = refused(cql2.parse, text)
    assume(from_text is not None)  # a text too deep for the limit
    from_json = cql2_json.parse(json.dumps(document))
    if from_text[0] != "spatial":
        assert _flat(from_json) == _flat(from_text)


@given(JSON_SOUP.map(json.dumps) | st.text(max_size=100) | st.integers(1, 3000).map(
    lambda n: '{"op": "not", "args": [' * n + '{"op": "isNull", "args": [{"property": "x"}]}' + "]}" * n))
def test_any_cql2_json_parses_or_is_refused(text):
    ast = refused(cql2_json.parse, text)
    if ast is not None:
        q = FeatureQuery(layer=Layer(slug="fuzz"), fields=FIELDS, filter_crs=CRS84)
        refused(compile_cql, q, ast)


@pytest.mark.django_db
@settings(max_examples=30)
@given(document=JSON_SOUP | PAIRS.map(lambda p: p[1]))
def test_cql2_json_never_makes_the_ogc_api_answer_500(client, fuzz_parcels, document):
    response = client.get(f"/ogc/collections/{fuzz_parcels.slug}/items",
                          {"filter": json.dumps(document), "filter-lang": "cql2-json"}, HTTP_ACCEPT="application/geo+json")
    assert response.status_code in (200, 400), (document, response.content[:300])
