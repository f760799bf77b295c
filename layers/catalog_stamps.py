"""A generation per layer in Redis, changed after every committed write to the layer's catalog row.

Nodes keep catalog rows in memory (tiles/catalog.py) and compare, on every use, the generations of the layers
they name (one MGET): a row is used only while its layer's generation is the one it was read under. So a
committed change — made on any node, by any door — is seen by the next request everywhere, and an edit to one
layer leaves the other layers' rows alone. Works on a replica and behind PgBouncer: no LISTEN, no session.

Every write to layers_layer reaches changed(): model saves and deletes (signals), QuerySet update, bulk_create
and bulk_update (LayerQuerySet below; a queryset's delete sends the signals), and the raw UPDATE of the editing
path (layers/editing.py calls it). The bump runs after the commit (rolled-back writes bump nothing). Redis
down when a bump is due, or a write by hand in psql: readers' rows still expire after CATALOG_ROW_SECONDS (the
safety net); Redis down when reading: readers cache nothing and read the catalog every time.
"""
import logging
import secrets
from collections.abc import Iterable, Sequence

import redis
from django.db import models, transaction

from layers import shared_store
from layers.db import PRIMARY

log = logging.getLogger(__name__)

CATALOG_ROW_SECONDS = 30.0  # the safety net: no catalog row is used longer than this after it was read


def _key(slug: str) -> str:
    return shared_store.key("catalog-gen", slug)


def _bump(slugs: set[str]) -> None:
    """Moves each layer's generation on by a random step (a key Redis lost starts anew, never at a value seen)."""
    try:
        pipe = shared_store.client().pipeline(transaction=False)
        for slug in slugs:
            pipe.incrby(_key(slug), secrets.randbelow(2 ** 31) + 1)
        pipe.execute()
    except redis.RedisError as error:
        log.warning("catalog generations not bumped for %s (rows expire within %s s): %s",
                    sorted(slugs), CATALOG_ROW_SECONDS, error)


def changed(slugs: Iterable[str]) -> None:
    """Tells every node that these layers' catalog rows changed, once the current transaction commits."""
    wanted = {slug for slug in slugs if slug}
    if wanted:
        transaction.on_commit(lambda: _bump(wanted), using=PRIMARY)


def current(slugs: Sequence[str]) -> list[str] | None:
    """The layers' generations now (one round trip; a layer never seen gets one), or None when Redis is down."""
    found = shared_store.attempt("catalog row caching", lambda client: _generations(client, slugs), None, logger=log)
    return None if found is None else [value.decode() if value is not None else None for value in found]


def _generations(client: redis.Redis, slugs: Sequence[str]) -> list:
    found = client.mget([_key(slug) for slug in slugs])
    missing = [slug for slug, value in zip(slugs, found) if value is None]
    if missing:
        pipe = client.pipeline(transaction=False)
        for slug in missing:
            pipe.set(_key(slug), secrets.randbelow(2 ** 62), nx=True)
        pipe.mget([_key(slug) for slug in slugs])
        found = pipe.execute()[-1]
    return found


class LayerQuerySet(models.QuerySet):
    """Layer's queryset: bulk writes bump the generations of every layer they touch (after commit)."""

    def update(self, **kwargs) -> int:
        slugs = set(self.using(self._db or PRIMARY).values_list("slug", flat=True))
        count = super().update(**kwargs)
        changed(slugs | ({kwargs["slug"]} if isinstance(kwargs.get("slug"), str) else set()))
        return count

    def bulk_create(self, objs, *args, **kwargs):
        made = super().bulk_create(objs, *args, **kwargs)
        changed(obj.slug for obj in made)
        return made


def remember_slug(sender, instance, **kwargs) -> None:
    """pre_save: the slug the row has now, when this save may change it (its old name's rows go stale too)."""
    fields = kwargs.get("update_fields")
    if instance.pk and (fields is None or "slug" in fields):
        rows = sender._base_manager.using(PRIMARY).filter(pk=instance.pk)
        instance._stamp_old_slug = rows.values_list("slug", flat=True).first()


def saved_or_deleted(sender, instance, **kwargs) -> None:
    """post_save / post_delete: the layer's generation (and its former name's) moves on after commit."""
    changed({instance.slug, instance.__dict__.pop("_stamp_old_slug", None) or ""})
