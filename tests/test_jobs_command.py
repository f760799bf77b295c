"""manage.py jobs: the queue as every node sees it (counts, live workers, newest jobs); bad options refused."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from layers.jobs import queue_counts
from tiles.tasks import seed

pytestmark = pytest.mark.django_db


def _todo(queue: str) -> int:
    return dict(((name, state), count) for name, state, count in queue_counts()).get((queue, "todo"), 0)


def test_lists_counts_workers_and_the_newest_jobs():
    waiting = _todo("tiles")  # (transactional tests elsewhere leave jobs behind: the queue is not flushed)
    job_id = seed.defer(layers="parcels", zooms=[12], bbox=None)
    out = StringIO()
    call_command("jobs", "--queue", "tiles", stdout=out)
    text = out.getvalue()
    assert f"tiles      todo       {waiting + 1}\n" in text and "workers    alive      0" in text
    assert f"#{job_id}" in text and "tiles.seed" in text and "waiting for a worker" in text
    other = StringIO()
    call_command("jobs", "--queue", "ingest", stdout=other)
    assert f"#{job_id} " not in other.getvalue()


@pytest.mark.parametrize("args", [["--status", "nope"], ["--status", "todo'; --"], ["--limit", "-1"],
                                  ["--limit", "99999999"]])
def test_bad_options_are_refused_in_both_languages(args):
    with pytest.raises(CommandError) as refused:
        call_command("jobs", *args, stdout=StringIO())
    assert " / " in str(refused.value)
