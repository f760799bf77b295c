"""Who may see and edit which layer, and where: grants to users or groups, optionally limited to an area."""
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Q, QuerySet

from layers.models import Layer, LayerGrant


def is_data_admin(user) -> bool:
    """Data administrators ingest, create and retire layers and grant rights: they see and edit everything."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_perm("layers.add_layer")))


def grants_of(user, layer: Layer | None = None) -> QuerySet[LayerGrant]:
    """The user's grants, directly or through a group (none for anonymous users)."""
    if not (user and user.is_authenticated):
        return LayerGrant.objects.none()
    grants = LayerGrant.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
    return grants.filter(layer=layer) if layer is not None else grants


def can_view(user, layer: Layer) -> bool:
    """Public layers for everyone; restricted ones only for data administrators and those granted."""
    return layer.is_public or is_data_admin(user) or grants_of(user, layer).exists()


def visible_filter(user) -> Q:
    """A Layer filter for what the user may see (for querysets)."""
    if is_data_admin(user):
        return Q()
    if not (user and user.is_authenticated):
        return Q(is_public=True)
    return Q(is_public=True) | Q(grants__user=user) | Q(grants__group__in=user.groups.all())


def can_edit(user, layer: Layer) -> bool:
    """Data administrators, or users with an edit grant on the layer."""
    return is_data_admin(user) or grants_of(user, layer).filter(can_edit=True).exists()


def can_see_personal(user, layer: Layer) -> bool:
    """Data administrators, or users with a grant that includes personal data (an edit grant alone does not)."""
    return is_data_admin(user) or grants_of(user, layer).filter(can_see_personal=True).exists()


def can_see_editors(user, layer: Layer) -> bool:
    """Who changed a feature (username, comment) is shown to staff and the layer's editors only."""
    return bool(user and user.is_authenticated and user.is_staff) or can_edit(user, layer)


def edit_area(user, layer: Layer) -> GEOSGeometry | None:
    """Where the user may edit: None for anywhere; else the union of their grants' areas."""
    if is_data_admin(user):
        return None
    grants = list(grants_of(user, layer).filter(can_edit=True))
    if not grants or any(g.area is None for g in grants):
        return None
    area = grants[0].area
    for grant in grants[1:]:
        area = area.union(grant.area)
    return area
