"""Residents' reports: the one service that files a report, the one that moderates it, and their reads."""
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from layers.errors import DomainError, InvalidParameter, NotFound
from layers.models import FeatureVersion, Layer
from layers.permissions import can_moderate_reports, can_see_personal, report_moderation_areas
from layers.selectors import layer_for
from portal import codes
from portal.report_input import ReportInput
from portal.report_models import Category, Report, ReportModeration, Status
from portal.report_places import resolve_place

PHOTO_FOLDER = "reports"  # under the default storage; never served directly (portal/report_views.py serves it)
MODERATION_STATUSES = (Status.ANSWERED, Status.RESOLVED, Status.REJECTED)


class ReportNotFound(NotFound):
    def __init__(self):
        super().__init__("Không tìm thấy phản ánh với mã này.", "No report with this code.")


def report_create(*, report: ReportInput) -> Report:
    """Files a checked report: its place resolved, a receipt code given, its photo stored. All or nothing:
    a failure after the photo was written removes it again."""
    place = resolve_place(layer_slug=report.layer, feature_id=report.feature, lon=report.lon, lat=report.lat)
    row = Report(target_kind=place.kind, layer=place.layer, feature_id=place.feature_id,
                 moderation_layer=place.moderation_layer, point=place.point, ward_code=place.ward_code,
                 ward_name=place.ward_name, category=report.category, text=report.text, contact=report.contact)
    stored = None
    try:
        with transaction.atomic():
            _save_with_new_code(row)
            if report.photo:
                stored = f"{PHOTO_FOLDER}/{row.code}.jpg"  # the code is unique: so is the name, and ours to remove
                stored = default_storage.save(stored, ContentFile(report.photo))
                row.photo = stored
                row.save(update_fields=["photo"])
    except BaseException:
        # A disk that fills mid-write leaves a partial file behind (and becomes a 507 in gisportal/middleware.py).
        if stored and default_storage.exists(stored):
            default_storage.delete(stored)
        raise
    return row


def _save_with_new_code(row: Report) -> None:
    for _ in range(5):  # 40 random bits: a collision is rare, five in a row impossible in practice
        row.code = codes.new_code()
        try:
            with transaction.atomic():
                row.save()
            return
        except IntegrityError:
            continue
    raise DomainError("Không tạo được mã phản ánh; hãy thử lại.", "Could not make a receipt code; try again.")


def report_by_code(typed: str) -> Report:
    """The report with this receipt code (as typed: dashes, spaces, case forgiven); 404 for unknown or tampered."""
    code = codes.normalize(typed)
    report = Report.objects.filter(code=code).select_related("layer", "fixed_layer").first() if code else None
    if report is None:
        raise ReportNotFound()
    return report


# ---- moderation ---------------------------------------------------------------------------------------

def moderation_scope(user) -> Q | None:
    """A Report filter for what the user moderates; None when they moderate nothing (layers/permissions.py decides)."""
    areas = report_moderation_areas(user)
    if areas is None:
        return Q()
    if not areas:
        return None
    scope = Q(pk__in=[])
    for layer_id, area in areas.items():
        part = Q(moderation_layer_id=layer_id)
        scope |= part if area is None else part & Q(point__intersects=area)
    return scope


def moderation_queue(user, *, status: str | None = None) -> QuerySet[Report]:
    """The reports this user moderates (newest first), optionally of one status."""
    scope = moderation_scope(user)
    if scope is None:
        return Report.objects.none()
    reports = Report.objects.filter(scope).select_related("layer", "moderation_layer", "fixed_layer")
    return reports.filter(status=status) if status else reports


def moderated_report(user, typed_code: str) -> Report:
    """A report this user may moderate; the same 404 as an unknown code otherwise (nothing revealed)."""
    report = report_by_code(typed_code)
    if not can_moderate_reports(user, report.moderation_layer, report.point):
        raise ReportNotFound()
    return report


def contact_visible(user, report: Report) -> bool:
    """Contact details are personal data: only for moderators with a personal-data grant on the layer."""
    layer = report.moderation_layer
    return layer is not None and can_see_personal(user, layer) and can_moderate_reports(user, layer, report.point)


def _fixed_version(user, report: Report, layer_slug: str | None, feature_id: int | None,
                   version: int | None) -> tuple[Layer, int, int]:
    """The edit that fixed a report: a version that exists in the feature's history, on a layer the user sees."""
    layer = layer_for(user, layer_slug) if layer_slug else (report.layer or report.moderation_layer)
    feature_id = feature_id or report.feature_id
    if layer is None or feature_id is None or version is None:
        raise InvalidParameter("Hãy nêu phiên bản đối tượng đã sửa (lớp, số hiệu đối tượng, phiên bản).",
                               "Name the feature version that fixed it (layer, feature, version).",
                               parameter="fixed_version")
    if not FeatureVersion.objects.filter(layer=layer, feature_id=feature_id, version=version).exists():
        raise InvalidParameter(f"Không có phiên bản {version} của đối tượng {feature_id} trong lịch sử lớp {layer.slug}.",
                               f"Feature {feature_id} of layer {layer.slug} has no version {version} in its history.",
                               parameter="fixed_version")
    return layer, feature_id, version


@transaction.atomic
def report_moderate(*, report: Report, user, status: str, answer: str, text_public: bool,
                    fixed_layer: str | None = None, fixed_feature: int | None = None,
                    fixed_version: int | None = None) -> Report:
    """Answers, resolves (naming the edit that fixed it) or rejects a report; recorded with who and when."""
    if not can_moderate_reports(user, report.moderation_layer, report.point):
        raise ReportNotFound()
    if status not in MODERATION_STATUSES:
        raise InvalidParameter("Trạng thái không hợp lệ.", "Invalid status.", parameter="status")
    if status == Status.ANSWERED and not answer:
        raise InvalidParameter("Hãy viết câu trả lời.", "Write an answer.", parameter="answer")
    report = Report.objects.select_for_update().get(pk=report.pk)
    if status == Status.RESOLVED:
        report.fixed_layer, report.fixed_feature_id, report.fixed_version = _fixed_version(
            user, report, fixed_layer, fixed_feature, fixed_version)
    report.status, report.answer = status, answer
    report.text_public = text_public and status != Status.REJECTED
    report.answered_at = timezone.now()
    report.save()
    ReportModeration.objects.create(report=report, by=user, status=status, answer=answer,
                                    text_public=report.text_public)
    return report


# ---- public reads ---------------------------------------------------------------------------------------

def public_counts() -> list[dict]:
    """Reports per ward and category (no text, no contact): [{ward_code, ward_name, category, status, count}]."""
    rows = (Report.objects.values("ward_code", "ward_name", "category", "status")
            .annotate(count=Count("id")).order_by("ward_name", "category", "status"))
    return [dict(row) for row in rows]


def category_label(value: str, english: bool) -> str:
    """A category's label in one language."""
    vi, _, en = dict(Category.choices).get(value, value).partition(" / ")
    return (en or vi) if english else vi

