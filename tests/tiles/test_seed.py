"""manage.py seed_tiles."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_feature, make_parcel_layer, make_layer, square
from tiles.seed import parse_zooms

pytestmark = pytest.mark.django_db


def test_seed_renders_every_tile_of_the_extent_into_the_cache(client, cache, capsys):
    layer = make_parcel_layer(slug="parcels")
    make_feature(layer, square(106.77, 10.85, 0.01))
    out = StringIO()

    call_command("seed_tiles", "--layer", "parcels", "--zoom", "14-16", stdout=out)

    keys = list(cache.keys())
    assert {k.z for k in keys} == {14, 15, 16}
    assert "rendered" in out.getvalue()
    assert "tiles" in capsys.readouterr().err  # the progress bar
    again = StringIO()
    call_command("seed_tiles", "--layer", "parcels", "--zoom", "14-16", "--no-progress", stdout=again)
    assert f"{len(keys)} already cached" in again.getvalue() or "0 rendered" in again.getvalue()


def test_seed_a_layer_list_and_a_bbox(cache):
    make_feature(make_parcel_layer(slug="parcels"), square(106.77, 10.85))
    make_feature(make_layer(slug="zones"), square(106.77, 10.85))

    call_command("seed_tiles", "--layer", "parcels,zones", "--zoom", "16", "--bbox", "106.77,10.85,106.7701,10.8501",
                 "--no-progress", stdout=StringIO())

    assert [k.z for k in cache.keys()] == [16]


@pytest.mark.parametrize("args", [["--layer", "nope", "--zoom", "12"], ["--layer", "parcels", "--zoom", "30"],
                                  ["--layer", "parcels", "--zoom", "x"], ["--layer", "parcels", "--zoom", "3",
                                                                          "--bbox", "1,2,3"]])
def test_seed_rejects_bad_options(args):
    make_parcel_layer(slug="parcels")

    with pytest.raises(CommandError):
        call_command("seed_tiles", *args, stdout=StringIO())


def test_parse_zooms():
    assert parse_zooms("12-14") == [12, 13, 14]
    assert parse_zooms("16,12") == [12, 16]
