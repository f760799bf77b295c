"""Tile arithmetic against brute force."""
import itertools
import random

import pytest

from layers.errors import InvalidTile
from tiles.coords import Tile, boxes_meet, parse_tile, tile_range


def test_parse_tile():
    assert parse_tile("3", "7", "0") == Tile(3, 7, 0)
    for bad in [("3", "8", "0"), ("-1", "0", "0"), ("25", "0", "0"), ("1.0", "0", "0"), ("", "0", "0"), ("١", "0", "0")]:
        with pytest.raises(InvalidTile):
            parse_tile(*bad)


def test_tile_bounds_round_trip():
    tile = Tile(16, 52210, 30579)
    west, south, east, north = tile.bounds_4326()
    assert west < 106.8 < east or west < 106.77 < east
    assert Tile(16, 52211, 30579).bounds_4326()[0] == pytest.approx(east)


@pytest.mark.parametrize("margin", [0.0, 64 / 4096])
def test_tile_range_matches_brute_force(margin):
    rng = random.Random(4)
    for _ in range(200):
        z = rng.randint(0, 12)
        west, south = rng.uniform(-179, 179), rng.uniform(-80, 80)
        box = (west, south, min(180, west + rng.uniform(0, 5)), min(85, south + rng.uniform(0, 5)))
        xmin, xmax, ymin, ymax = tile_range(box, z, margin)
        n = 1 << z
        for x, y in itertools.product(range(max(0, xmin - 2), min(n, xmax + 3)), range(max(0, ymin - 2), min(n, ymax + 3))):
            meets = boxes_meet(Tile(z, x, y).bounds_4326(margin), box)
            assert meets == (xmin <= x <= xmax and ymin <= y <= ymax), (box, z, x, y)
