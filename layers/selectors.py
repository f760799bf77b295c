"""Reads: which layers a user may see, and features by place. Every way out goes through here."""
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from layers.errors import UnknownLayer
from layers.models import Layer


def can_view(user, layer: Layer) -> bool:
    """Public layers for everyone; restricted ones for staff (per-layer grants come with editing)."""
    if layer.is_public:
        return True
    return bool(user and user.is_authenticated and (user.is_superuser or user.is_staff))


def layers_visible_to(user) -> QuerySet[Layer]:
    """The catalog as this user may see it."""
    layers = Layer.objects.all()
    if user and user.is_authenticated and (user.is_superuser or user.is_staff):
        return layers
    return layers.filter(is_public=True)


def layer_for(user, slug: str, *, kind: str | None = None) -> Layer:
    """The layer with this slug if the user may see it; UnknownLayer (404) otherwise, revealing nothing."""
    user = user or AnonymousUser()
    try:
        layer = Layer.objects.get(slug=slug)
    except Layer.DoesNotExist:
        raise UnknownLayer(slug) from None
    if not can_view(user, layer) or (kind and layer.kind != kind):
        raise UnknownLayer(slug)
    return layer
