"""Properties of the one parser per kind of input (layers.params, tiles.coords): every input gives a valid
value or a DomainError with a 4xx status, never another exception; round trips where they exist."""
import datetime as dt
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from layers.errors import DomainError
from layers.params import (CRS84, GEOGRAPHIC_SRIDS, MAX_MOMENT_LENGTH, SUPPORTED_SRIDS, Crs, crs_limits, parse_bbox,
                           parse_crs, parse_int, parse_json, parse_lonlat, parse_moment, parse_number, parse_slug)
from tiles.coords import MAX_ZOOM, Tile, parse_tile

NUMBERISH = st.text(alphabet="0123456789+-.eEinfaINFx ,²١", max_size=30)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.floats(min_value=-1e7, max_value=1e7)
ALL_CRS = [CRS84] + [Crs(s, f"http://www.opengis.net/def/crs/EPSG/0/{s}", False) for s in SUPPORTED_SRIDS] + \
    [Crs(s, f"http://www.opengis.net/def/crs/EPSG/0/{s}", True) for s in GEOGRAPHIC_SRIDS]


def refused(call, *args, **kwargs):
    """The call's value, or None when it raised a 4xx DomainError (any other exception fails the test)."""
    try:
        return call(*args, **kwargs)
    except DomainError as error:
        assert 400 <= error.status < 500 and error.message_vi and error.message_en
        return None


@pytest.mark.parametrize("crs", ALL_CRS, ids=lambda c: f"{c.srid}{'-latfirst' if c.lat_first else ''}")
@settings(max_examples=25)
@given(numbers=st.lists(FLOATS, min_size=3, max_size=7), text=NUMBERISH)
def test_bbox_in_every_crs_is_valid_or_refused(crs, numbers, text):
    for raw in (",".join(repr(n) for n in numbers), text):
        box = refused(parse_bbox, raw, crs)
        if box is None:
            continue
        minx, miny, maxx, maxy = crs_limits(crs.srid)
        assert all(math.isfinite(v) for v in box)
        assert minx <= min(box[0], box[2]) and max(box[0], box[2]) <= maxx
        assert miny <= box[1] <= box[3] <= maxy
        assert box[0] <= box[2] or crs.srid in GEOGRAPHIC_SRIDS  # only geographic boxes cross the antimeridian


@pytest.mark.parametrize("crs", ALL_CRS, ids=lambda c: f"{c.srid}{'-latfirst' if c.lat_first else ''}")
@settings(max_examples=25)
@given(data=st.data())
def test_bbox_round_trip_inside_the_crs(crs, data):
    minx, miny, maxx, maxy = crs_limits(crs.srid)
    xs = sorted(data.draw(st.lists(st.floats(minx, maxx), min_size=2, max_size=2)))
    ys = sorted(data.draw(st.lists(st.floats(miny, maxy), min_size=2, max_size=2)))
    written = [ys[0], xs[0], ys[1], xs[1]] if crs.lat_first else [xs[0], ys[0], xs[1], ys[1]]
    assert parse_bbox(",".join(repr(v) for v in written), crs) == (xs[0], ys[0], xs[1], ys[1])
    if ys[0] < ys[1]:  # the same box upside down is refused
        flipped = [ys[1], xs[0], ys[0], xs[1]] if crs.lat_first else [xs[0], ys[1], xs[1], ys[0]]
        assert refused(parse_bbox, ",".join(repr(v) for v in flipped), crs) is None


@given(st.text(max_size=80) | st.sampled_from(["EPSG:9210", "9210", "CRS84", "urn:ogc:def:crs:EPSG::4326"]))
def test_crs_is_supported_or_refused(text):
    crs = refused(parse_crs, text, ogc_axis_order=True)
    assert crs is None or crs.srid in SUPPORTED_SRIDS


@given(NUMBERISH | st.text(max_size=60))
def test_numbers_are_finite_or_refused(text):
    value = refused(parse_number, text, parameter="n")
    assert value is None or math.isfinite(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_round_trip(value):
    assert parse_number(repr(value), parameter="n") == value


@given(st.text(max_size=30), st.integers(0, 10**6), st.integers(0, 10**6))
def test_int_is_in_range_or_refused(text, low, span):
    value = refused(parse_int, text, parameter="n", default=low, minimum=low, maximum=low + span)
    assert value is None or low <= value <= low + span


@given(lon=NUMBERISH | st.none() | st.text(max_size=50), lat=NUMBERISH | st.none())
def test_lonlat_is_in_range_or_refused(lon, lat):
    point = refused(parse_lonlat, lon, lat)
    assert point is None or (abs(point[0]) <= 180 and abs(point[1]) <= 90)


@given(st.text(max_size=70) | st.text(alphabet="0123456789-:T.Z+ ", max_size=60))
def test_as_of_is_aware_or_refused(text):
    value = refused(parse_moment, text)
    if value is not None:
        assert value.tzinfo is not None and len(text) <= MAX_MOMENT_LENGTH


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@given(st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9000, 1, 1), timezones=OFFSETS))
def test_as_of_round_trip_keeps_the_offset(moment):
    text = moment.isoformat()
    assume(len(text) <= MAX_MOMENT_LENGTH)
    assert parse_moment(text) == moment


@given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12))
def test_tile_coordinates_name_a_tile_or_are_refused(z, x, y):
    tile = refused(parse_tile, z, x, y)
    if tile is not None:
        assert 0 <= tile.z <= MAX_ZOOM and 0 <= tile.x < 2 ** tile.z and 0 <= tile.y < 2 ** tile.z


@given(st.integers(0, MAX_ZOOM).flatmap(lambda z: st.tuples(st.just(z), st.integers(0, 2**z - 1), st.integers(0, 2**z - 1))))
def test_tile_round_trip_and_ordered_bounds(zxy):
    tile = Tile(*zxy)
    assert parse_tile(*str(tile).split("/")) == tile
    xmin, ymin, xmax, ymax = tile.bounds_3857()
    assert xmin < xmax and ymin < ymax


@given(st.text(max_size=80))
def test_slugs_are_slugs_or_refused(text):
    slug = refused(parse_slug, text)
    assert slug is None or ("/" not in slug and "." not in slug and len(slug) <= 64)


JSON_TEXT = st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                         max_leaves=20)


@given(st.binary(max_size=200) | st.text(alphabet='[]{}"\\:,1 a', max_size=300).map(str.encode)
       | st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n))
def test_json_bodies_parse_or_are_refused(raw):
    refused(parse_json, raw)
