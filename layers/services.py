"""Writes to the catalog, and the hook through which other apps hear of feature changes."""
from collections.abc import Callable, Sequence

from django.db import transaction
from django.utils import timezone

from layers import db
from layers.errors import InvalidParameter
from layers.models import RESERVED_SLUGS, Layer

# Listeners called with (layer, changed_bounds) inside the writing transaction, before commit:
# tiles/ registers its cache invalidation here, so a change is never visible with stale tiles.
ChangeListener = Callable[[Layer, Sequence[tuple[float, float, float, float]]], None]
_change_listeners: list[ChangeListener] = []


def register_change_listener(listener: ChangeListener) -> None:
    """Called by other apps at start-up (AppConfig.ready) to hear of feature changes."""
    if listener not in _change_listeners:
        _change_listeners.append(listener)


def features_changed(*, layer: Layer, bounds: Sequence[tuple[float, float, float, float]]) -> None:
    """Tells the listeners which areas of a layer changed (WGS 84 boxes: west, south, east, north)."""
    for listener in _change_listeners:
        listener(layer, bounds)


def layer_create(*, slug: str, title_vi: str, title_en: str, **fields) -> Layer:
    """A new catalog entry; fields are Layer's own (category, schema, style, is_public, …)."""
    if slug in RESERVED_SLUGS:  # every loading door ends here: refused with a reason, not a model error
        raise InvalidParameter(f"«{slug}» là tên dành riêng của nền tảng, hãy chọn tên lớp khác.",
                               f"“{slug}” is a name the platform reserves: choose another layer name.", parameter="layer")
    layer = Layer(slug=slug, title_vi=title_vi, title_en=title_en, **fields)
    layer.full_clean(exclude=["extent"])
    layer.save()
    return layer


@transaction.atomic
def layer_refresh_stats(*, layer: Layer) -> Layer:
    """Recomputes a vector layer's extent and feature count from its features, and stamps the change."""
    with db.cursor() as cursor:
        # The layer's row first: an edit that counted itself in (editing._touch) has then committed, and
        # one that has not yet will add itself after this count, never on top of it (statements read
        # what was committed before they began).
        cursor.execute("SELECT id FROM layers_layer WHERE id = %s FOR UPDATE", [layer.pk])
        cursor.execute(
            "SELECT count(*), ST_AsText(ST_Envelope(ST_Extent(geom)::geometry)) "
            "FROM layers_feature WHERE layer_id = %s",
            [layer.pk],
        )
        count, envelope_wkt = cursor.fetchone()
    from django.contrib.gis.geos import GEOSGeometry, Polygon

    extent = None
    if envelope_wkt:
        geom = GEOSGeometry(envelope_wkt, srid=4326)
        # A single point or a line along an axis has a degenerate envelope: keep a polygon anyway.
        xmin, ymin, xmax, ymax = geom.extent
        extent = Polygon.from_bbox((xmin, ymin, max(xmax, xmin + 1e-9), max(ymax, ymin + 1e-9)))
        extent.srid = 4326
    layer.feature_count = count
    layer.extent = extent
    layer.last_changed = timezone.now()
    layer.save(update_fields=["feature_count", "extent", "last_changed"])
    return layer


def _subject(grant) -> str:
    return f"user:{grant.user.username}" if grant.user_id else f"group:{grant.group.name}"


@transaction.atomic
def grant_create(*, layer: Layer, by, user=None, group=None, can_edit: bool = False, area=None, area_label: str = "",
                 can_see_personal: bool = False):
    """Gives a user or a group a right on a layer (optionally an edit area, optionally its personal fields),
    and records it."""
    from layers.models import LayerGrant, PermissionChange

    grant = LayerGrant(layer=layer, user=user, group=group, can_edit=can_edit, area=area, area_label=area_label,
                       can_see_personal=can_see_personal, granted_by=by)
    grant.full_clean()
    grant.save()
    PermissionChange.objects.create(by=by, action="grant", layer_slug=layer.slug, subject=_subject(grant),
                                    can_edit=can_edit, can_see_personal=can_see_personal, area_label=area_label)
    return grant


@transaction.atomic
def grant_revoke(*, grant, by) -> None:
    """Takes a right back, and records it."""
    from layers.models import PermissionChange

    PermissionChange.objects.create(by=by, action="revoke", layer_slug=grant.layer.slug, subject=_subject(grant),
                                    can_edit=grant.can_edit, can_see_personal=grant.can_see_personal,
                                    area_label=grant.area_label)
    grant.delete()
