"""Who may see and edit which layer, and where: grants to users or groups, optionally limited to an area."""
from collections.abc import Iterable

from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Q, QuerySet

from layers import db
from layers.errors import DomainError, UnknownLayer
from layers.loadgate import enter_for_edit
from layers.models import Layer, LayerGrant

# Slack around an edit area (degrees, about 1 cm): a vertex snapped onto the area's edge stays inside.
AREA_SLACK = 1e-7


class EditForbidden(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self, message_vi: str = "Bạn không có quyền chỉnh sửa lớp này.",
                 message_en: str = "You may not edit this layer."):
        super().__init__(message_vi, message_en)


class OutsideEditArea(EditForbidden):
    """The user may edit the layer, but this change reaches outside the area their grant covers."""

    code = "outside-edit-area"

    def __init__(self):
        super().__init__("Thay đổi này chạm tới đối tượng nằm ngoài khu vực bạn được phép chỉnh sửa; không có gì thay đổi.",
                         "This change touches a feature outside the area you may edit; nothing was changed.")


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


def authorize_edit(user, layer: Layer) -> GEOSGeometry | None:
    """The area the user may edit in (None: anywhere); EditForbidden when they may not edit the layer at all."""
    if layer.kind != "vector" or not can_edit(user, layer):
        raise EditForbidden()
    return edit_area(user, layer)


def authorize_change(*, user, layer: Layer, geoms: Iterable[GEOSGeometry | None]) -> GEOSGeometry | None:
    """The one rule for every write: the user may edit the layer, and every geometry the change touches
    (each feature's state before and after) lies inside their edit area; else the whole change is refused.
    Returns the area, for writes that check more states later (None: anywhere). Refused (409) while an
    ingest loads the layer."""
    area = authorize_edit(user, layer)
    enter_for_edit(layer.pk)
    if area is not None:
        slack = area.buffer(AREA_SLACK)
        if not all(slack.covers(g) for g in geoms if g is not None and not g.empty):
            raise OutsideEditArea()
    return area


def authorize_change_sql(*, user, layer: Layer, geometries_sql: str, params: list) -> None:
    """authorize_change for a change too big to bring into Python (a run revert): `geometries_sql` is a
    query whose column `geom` lists every state touched; the same rule, decided in PostGIS."""
    area = authorize_edit(user, layer)
    enter_for_edit(layer.pk)
    if area is None:
        return
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM ({geometries_sql}) g WHERE g.geom IS NOT NULL "
            "AND NOT ST_CoveredBy(g.geom, ST_Buffer(ST_GeomFromEWKB(%s), %s)))",
            [*params, bytes(area.ewkb), AREA_SLACK],
        )
        if cursor.fetchone()[0]:
            raise OutsideEditArea()


def may_load(user, layer: Layer | None) -> bool:
    """authorize_load without the error: for showing the upload form's choices."""
    try:
        authorize_load(user, layer)
    except DomainError:
        return False
    return True


def authorize_load(user, layer: Layer | None) -> None:
    """A file load (ingest) can add, replace or delete any feature of a layer, so it is for data administrators
    and for editors of the layer whose grant has no area limit; a new layer is for data administrators only.
    `user` None is the command line (the machine's administrator). A layer the user may not see is 404."""
    if user is None:
        return
    if layer is None:
        if not is_data_admin(user):
            raise EditForbidden("Chỉ quản trị viên dữ liệu được tạo lớp mới.", "Only data administrators create new layers.")
        return
    if not can_view(user, layer):
        raise UnknownLayer(layer.slug)
    if not can_edit(user, layer):
        raise EditForbidden()
    if edit_area(user, layer) is not None:
        raise EditForbidden(
            "Nạp tệp có thể thay đổi mọi đối tượng của lớp, nên chỉ dành cho người được sửa toàn bộ lớp; "
            "quyền của bạn giới hạn trong một khu vực.",
            "Loading a file can change any feature of the layer, so it is only for editors of the whole layer; "
            "your grant is limited to an area.")


def report_moderation_areas(user) -> dict[int, GEOSGeometry | None] | None:
    """Where the user moderates residents' reports, per layer id (None as an area: anywhere in that layer);
    None for data administrators (every report). Editors of a layer moderate the reports on it, inside
    their grant's area when it has one: whoever may fix the data answers the report about it."""
    if is_data_admin(user):
        return None
    areas: dict[int, GEOSGeometry | None] = {}
    for grant in grants_of(user).filter(can_edit=True):
        if grant.layer_id in areas and areas[grant.layer_id] is None:
            continue
        if grant.area is None or grant.layer_id not in areas:
            areas[grant.layer_id] = grant.area
        else:
            areas[grant.layer_id] = areas[grant.layer_id].union(grant.area)
    # With the same slack as edits: a report on a parcel at the area's edge belongs to its editors.
    return {layer_id: None if area is None else area.buffer(AREA_SLACK) for layer_id, area in areas.items()}


def can_moderate_reports(user, layer: Layer | None, point: GEOSGeometry | None) -> bool:
    """The one decision for every moderation door: may this user answer a report on `layer` at `point`?"""
    if is_data_admin(user):
        return True
    if layer is None or point is None:
        return False
    areas = report_moderation_areas(user) or {}
    if layer.pk not in areas:
        return False
    area = areas[layer.pk]
    return area is None or area.covers(point)
