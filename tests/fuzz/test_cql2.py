"""CQL2 text: any text parses to an AST or is refused with a 4xx; generated filters (any nesting up to the
limit) parse, compile to SQL, and run against PostGIS through the OGC API without a 500."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.errors import DomainError
from layers.models import Layer
from layers.params import CRS84
from opendata import cql2
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
