"""The one way to reach the database: which alias a query goes to (the primary or a streaming replica).

Writes, ingest, history, editing and the editors' own reads use the primary (`write_alias()`, 'default').
Public reads (tiles, OGC API, downloads, search, click-to-see, lookup, catalog pages) use `read_alias()`:
the replica when one is configured, reachable, not lagging beyond GISPORTAL_REPLICA_MAX_LAG seconds, and
the request is not pinned to the primary. A request is pinned when it writes, when its user wrote in the
last few seconds (read-your-writes) or when it is an editor's page (gisportal/routing.py decides, once per
request, and keeps the decision in a context variable). Outside a request (commands, jobs, shells) every
read goes to the primary: only web requests are routed, so a job never reads what it has not yet seen.
Inside a transaction on the primary the reads stay there too: they must see what the transaction wrote.
"""
import contextvars
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction

log = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"


@dataclasses.dataclass
class Route:
    """One request's routing: pinned to the primary or not, and what it chose and met."""

    primary: bool = False  # pinned: every read of this request goes to the primary
    alias: str | None = None  # the read alias chosen at the request's first read (one server per request)
    replica_failed: bool = False  # a connection error met while the replica served this request


_route: contextvars.ContextVar[Route | None] = contextvars.ContextVar("gisportal_db_route", default=None)


def begin_request(route: Route) -> contextvars.Token:
    """Routes this request's reads by `route` (gisportal/routing.py; end with end_request)."""
    return _route.set(route)


def end_request(token: contextvars.Token) -> None:
    """Back to the routing outside any request (everything on the primary)."""
    _route.reset(token)


@contextmanager
def routed(route: Route) -> Iterator[None]:
    """Runs a block (a streamed body, read after the request's middleware returned) under `route`."""
    token = _route.set(route)
    try:
        yield
    finally:
        try:
            _route.reset(token)
        except ValueError:  # closed from another context (a generator collected elsewhere): nothing to undo there
            pass


def current_route() -> Route | None:
    """The routing of the request being served, or None outside a request."""
    return _route.get()


def write_alias() -> str:
    """The alias of every write (and of reads that must see the latest commit): the primary."""
    return PRIMARY


def replica_configured() -> bool:
    """True when settings name a replica (GISPORTAL_REPLICA_PORT or DATABASE_REPLICA_URL)."""
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The alias for a public read now: the replica when this request may use it and it is healthy."""
    route = _route.get()
    if route is None or route.primary or not replica_configured():
        return PRIMARY
    if connections[PRIMARY].in_atomic_block:
        return PRIMARY  # reads inside a write's transaction must see what it wrote
    if route.alias is None:
        route.alias = REPLICA if replica_usable() else PRIMARY
    return route.alias


def fresh_read_alias() -> str:
    """read_alias() for a read whose result is kept (a tile in the shared cache): the replica only once it has
    replayed everything the primary had committed when asked (waiting GISPORTAL_REPLICA_FRESH_WAIT at most),
    else the primary. So a result kept after a change's invalidation never shows the data from before it."""
    name = read_alias()
    if name != REPLICA:
        return name
    # The flushed position, not the inserted one: every commit is flushed before it is acknowledged, while WAL
    # still in the buffers (a reader's page pruning, work not yet committed) may wait up to wal_writer_delay
    # (200 ms) to be sent, which would send every render to the primary for nothing.
    with connections[PRIMARY].cursor() as c:
        c.execute("SELECT pg_current_wal_flush_lsn()::text")
        lsn = c.fetchone()[0]
    deadline = time.monotonic() + settings.GISPORTAL_REPLICA_FRESH_WAIT
    with connections[REPLICA].cursor() as c:
        while True:
            c.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if c.fetchone()[0]:
                return REPLICA
            if time.monotonic() >= deadline:
                return PRIMARY
            time.sleep(0.002)


def alias(*, read: bool) -> str:
    """read_alias() for a public read, write_alias() otherwise."""
    return read_alias() if read else write_alias()


@contextmanager
def cursor(*, read: bool = False) -> Iterator:
    """A cursor on the read alias (read=True: public reads) or on the primary (everything else)."""
    with connections[alias(read=read)].cursor() as c:
        yield c


@contextmanager
def lock_timeout(cursor, value: str) -> Iterator[None]:
    """A lock_timeout for the statements inside, then the one the transaction had before (SET LOCAL alone would
    outlive a released savepoint and leave a short time-out on the rest of a caller's transaction)."""
    cursor.execute("SELECT current_setting('lock_timeout')")
    before = cursor.fetchone()[0]
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [value])
    try:
        yield
    finally:  # after a failed statement the caller's rollback (to its savepoint) restores it instead
        if cursor.connection.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_INERROR:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])


@contextmanager
def read_transaction() -> Iterator[str]:
    """A transaction on the read alias (named cursors need one); yields the alias it runs on."""
    name = read_alias()
    with transaction.atomic(using=name):
        yield name


# --- the replica's health, checked at most once per GISPORTAL_REPLICA_CHECK_SECONDS per process -----------


class _Health:
    checked_at = float("-inf")
    usable = False
    lag: float | None = None  # seconds behind the primary when last checked (None: unreachable)
    lock = threading.Lock()


def replica_usable() -> bool:
    """True when the replica answered the last check (GISPORTAL_REPLICA_CHECK_SECONDS ago at most) within the lag
    bound. One thread checks; the others meanwhile use the last answer."""
    due = time.monotonic() - _Health.checked_at >= settings.GISPORTAL_REPLICA_CHECK_SECONDS
    if due and _Health.lock.acquire(blocking=False):
        try:
            _Health.lag = replica_lag()
            _Health.usable = _Health.lag is not None and _Health.lag <= settings.GISPORTAL_REPLICA_MAX_LAG
            _Health.checked_at = time.monotonic()
        finally:
            _Health.lock.release()
    return _Health.usable


def replica_state() -> dict:
    """For /healthz: is a replica configured, is it used now, how far behind it was at the last check."""
    if not replica_configured():
        return {"configured": False}
    usable = replica_usable()
    return {"configured": True, "in_use": usable, "lag_seconds": _Health.lag if _Health.lag != float("inf") else None}


def fail_over() -> bool:
    """After a connection error: True when this request was reading from the replica, whose reads now go to the
    primary (and the replica is left alone until its next check); False when there is nothing to fail over."""
    route = _route.get()
    if route is None or route.alias != REPLICA or replica_connection_alive():
        return False  # not on the replica, or its connection lives: the query's error (a time-out), not the server's
    mark_replica_down()
    route.alias = PRIMARY
    return True


def replica_connection_alive() -> bool:
    """True when this thread's replica connection is open (an error on it was the query's, not the server's)."""
    raw = connections[REPLICA].connection if replica_configured() else None
    return raw is not None and not raw.closed


# Connection-level errors: Django's wrappers, and psycopg2's own from raw (named) cursors.
CONNECTION_ERRORS = (OperationalError, InterfaceError, psycopg2.OperationalError, psycopg2.InterfaceError)


def mark_replica_down() -> None:
    """Stops using the replica until the next check (a request met a connection error on it)."""
    _Health.usable, _Health.lag, _Health.checked_at = False, None, time.monotonic()
    _close_quietly(REPLICA)


def forget_health() -> None:
    """The next read_alias() checks the replica again (tests; settings changes)."""
    _Health.checked_at = float("-inf")


# The replica has replayed everything the primary had written when we asked: no lag. Else the lag is the time
# since the last transaction it replayed. (An idle primary makes that timestamp old without any lag, hence the
# LSN comparison first; a primary that writes now after a long idle time is seen as lagging until the replica
# replays the write, a few milliseconds: the safe side.)
_LAG_SQL = ("SELECT CASE WHEN pg_last_wal_replay_lsn() >= %s::pg_lsn THEN 0 "
            "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END, pg_is_in_recovery()")


def replica_lag() -> float | None:
    """Seconds the replica is behind the primary, or None when it cannot be reached (or is not a replica)."""
    try:
        with connections[PRIMARY].cursor() as c:
            c.execute("SELECT pg_current_wal_flush_lsn()::text")
            primary_lsn = c.fetchone()[0]
        with connections[REPLICA].cursor() as c:
            c.execute(_LAG_SQL, [primary_lsn])
            lag, in_recovery = c.fetchone()
    except Exception as error:  # noqa: BLE001 — any failure means "not usable now", never a failed request
        log.warning("replica not used: %s", str(error).strip()[:200])
        _close_quietly(REPLICA)
        return None
    if not in_recovery:
        log.warning("replica not used: the server at the replica alias is not in recovery")
        return None
    return float(lag) if lag is not None else float("inf")


def _close_quietly(name: str) -> None:
    """Drops this thread's connection of `name` so the next use connects afresh."""
    try:
        connections[name].close()
    except Exception:  # noqa: BLE001 — a dead connection may fail to close; it is dropped all the same
        connections[name].connection = None


class Router:
    """Django's router: ORM reads of the public catalog (Layer, Feature) under read_alias(); everything else,
    every write and every migration on the primary."""

    PUBLIC_MODELS = frozenset({("layers", "layer"), ("layers", "feature")})

    def db_for_read(self, model, **hints) -> str:
        if (model._meta.app_label, model._meta.model_name) in self.PUBLIC_MODELS:
            return read_alias()
        return PRIMARY

    def db_for_write(self, model, **hints) -> str:
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # one database, two servers: rows from either may relate

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        return db == PRIMARY
