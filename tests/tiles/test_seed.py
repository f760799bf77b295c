"""manage.py seed_tiles."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

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


def test_seed_queued_for_the_worker_renders_the_same_tiles(cache):
    """--queue defers a tiles.seed job with the parsed values; the job (as the worker runs it) fills the cache."""
    from layers.jobs import recent_jobs
    from tiles.tasks import seed

    make_feature(make_parcel_layer(slug="parcels"), square(106.77, 10.85, 0.01))
    out, before = StringIO(), {job.id for job in recent_jobs(queue="tiles")}  # (others' jobs outlive their tests)
    call_command("seed_tiles", "--layer", "parcels", "--zoom", "16,14-15", "--queue", stdout=out)
    assert list(cache.keys()) == []  # nothing rendered here
    [job] = [job for job in recent_jobs(queue="tiles") if job.id not in before]
    assert job.task == "tiles.seed" and job.status == "todo" and f"job #{job.id}" in out.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT args FROM procrastinate_jobs WHERE id = %s", [job.id])
        args = cursor.fetchone()[0]
    args = json.loads(args) if isinstance(args, str) else args
    assert args == {"layers": "parcels", "zooms": [14, 15, 16], "bbox": None}
    report = seed(**args)
    assert {k.z for k in cache.keys()} == {14, 15, 16} and report["rendered"] == len(list(cache.keys()))


def test_a_bad_seed_is_refused_before_it_is_queued():
    from layers.jobs import recent_jobs

    make_parcel_layer(slug="parcels")
    before = recent_jobs(queue="tiles")
    with pytest.raises(CommandError):
        call_command("seed_tiles", "--layer", "nope", "--zoom", "12", "--queue", stdout=StringIO())
    assert recent_jobs(queue="tiles") == before
