"""layers/changes.py: the feed hands out only settled transactions, in an order no later commit can slip into,
and its cursors are signed and bound to their layer. Transactional: the feed never shows a running transaction,
and a test's own wrapping transaction would be one."""
import psycopg2
import pytest
from django.db import connection

from layers import changes
from layers.changes import START, InvalidCursor, Position
from tests.factories import make_feature, make_layer, square
from tests.opendata.feed_helpers import settle

pytestmark = pytest.mark.django_db(transaction=True)


def _other_connection():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    return psycopg2.connect(**params)


def test_a_transaction_still_running_holds_back_the_changes_committed_after_it_began():
    layer = make_layer()
    first = make_feature(layer, square(106.7, 10.8))
    settle()  # other sessions on the shared cluster may hold an older transaction open
    other = _other_connection()
    try:
        with other.cursor() as cur:  # begins first, writes a row of the layer, commits last
            cur.execute("BEGIN")
            cur.execute("INSERT INTO layers_feature (layer_id, geom, properties, version, updated_at) "
                        "VALUES (%s, ST_GeomFromText('POINT(106.71 10.81)', 4326), '{}', 1, now()) RETURNING id", [layer.pk])
            slow_id = cur.fetchone()[0]
        later = make_feature(layer, square(106.72, 10.82))  # commits while the other is still open
        seen = [c.feature_id for c in changes.changes_after(layer, START, limit=100, read=False)]
        assert seen == [first.pk], "a change committed after an open transaction began must wait for it"
        other.commit()
    finally:
        other.close()
    settle()
    handed = changes.changes_after(layer, START, limit=100, read=False)
    assert [c.feature_id for c in handed] == [first.pk, slow_id, later.pk]
    assert handed == sorted(handed, key=lambda c: c.position)
    after_first = changes.changes_after(layer, handed[0].position, limit=100, read=False)
    assert [c.feature_id for c in after_first] == [slow_id, later.pk]
    assert changes.latest_position(layer) == handed[-1].position
    summary = changes.transactions_after(layer, START)
    assert [t.counts["insert"] for t in summary] == [1, 1, 1] and summary[-1].last == handed[-1].position


def test_cursors_round_trip_and_refuse_edits_and_other_layers():
    layer, other = make_layer(), make_layer()
    token = changes.encode_cursor(layer, Position(12345, 678))
    assert changes.decode_cursor(layer, token) == Position(12345, 678)
    with pytest.raises(InvalidCursor, match="another layer"):
        changes.decode_cursor(other, token)
    body, mac = token.split(".")
    forged = changes.encode_cursor(layer, Position(99999, 1)).split(".")[0] + "." + mac
    for bad in ("", "abc", "a.b.c", forged, token + "x", "x" * 500, body + ".", "%%%%.%%%%"):
        with pytest.raises(InvalidCursor) as refused:
            changes.decode_cursor(layer, bad)
        assert refused.value.status == 400 and refused.value.message_vi
