"""A layer being loaded takes no edit: the ingest holds the layer's write gate, every write path asks for it.

Edits hold the gate shared for their short transaction; an ingest takes it exclusively for its whole load
(waiting for edits already under way to finish). An edit arriving during a load is refused at once with a
409 that says why, instead of waiting on the load's locks for minutes, deadlocking with its final statements,
or (a bulk load swaps the layer's whole partition) being overwritten by rows read before it.
"""

from layers import db
from layers.errors import LayerBeingLoaded

GATE_NAMESPACE = 74_653  # beside ingest's own (loader 74_650, liveness 74_651 and 74_652); second key: the layer id


def enter_for_edit(layer_id: int) -> None:
    """For a write path, inside its transaction: refused (409) while an ingest loads the layer."""
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock_shared(%s, %s::integer)", [GATE_NAMESPACE, int(layer_id)])
        if not cursor.fetchone()[0]:
            raise LayerBeingLoaded()


def close_for_load(layer_id: int) -> None:
    """For an ingest, inside its transaction: waits for edits under way, then refuses new ones until it ends."""
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s::integer)", [GATE_NAMESPACE, int(layer_id)])
