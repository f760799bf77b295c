"""Reads: which layers a user may see, and features by place. Every way out goes through here."""
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from layers.errors import UnknownLayer
from layers.models import Layer
from layers.params import SLUG
from layers.permissions import can_view, visible_filter

__all__ = ["can_view", "layer_for", "layers_visible_to"]


def layers_visible_to(user) -> QuerySet[Layer]:
    """The catalog as this user may see it (public layers, and restricted ones they were granted)."""
    return Layer.objects.filter(visible_filter(user)).distinct()


def layer_for(user, slug: str, *, kind: str | None = None) -> Layer:
    """The layer with this slug if the user may see it; UnknownLayer (404) otherwise, revealing nothing."""
    user = user or AnonymousUser()
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):  # no slug can match: no query (NUL bytes break it)
        raise UnknownLayer()
    try:
        layer = Layer.objects.get(slug=slug)
    except Layer.DoesNotExist:
        raise UnknownLayer(slug) from None
    if not can_view(user, layer) or (kind and layer.kind != kind):
        raise UnknownLayer(slug)
    return layer
