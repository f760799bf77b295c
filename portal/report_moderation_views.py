"""The planners' moderation queue (/phan-anh/quan-ly/): reports on a map with the list beside, and the answer
form of each. Who sees which report is decided in layers/permissions.py (can_moderate_reports)."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from layers.errors import DomainError, InvalidParameter
from portal import codes
from portal.report_input import parse_moderation
from portal.report_models import Category, Status
from portal.report_places import ward_outlines
from portal.report_texts import choice_label, texts
from portal.reports import MODERATION_STATUSES, contact_visible, moderated_report, moderation_queue, report_moderate

QUEUE_SIZE = 200
_NO_LAYER = type("NoLayer", (), {"slug": ""})()  # the newest first; older ones through the status filter


def _status_filter(request: HttpRequest) -> str:
    status = request.GET.get("status", "")
    if status and status not in Status.values:
        raise InvalidParameter("Trạng thái lọc không hợp lệ.", "Invalid status filter.", parameter="status")
    return status


@never_cache  # residents' contact details for some planners, and a list each moderation changes: kept by no cache
@login_required
@require_GET
def queue_page(request: HttpRequest) -> HttpResponse:
    """The reports this planner moderates, filtered by status, on a map and in a list."""
    status = _status_filter(request)
    reports = list(moderation_queue(request.user, status=status or None)[:QUEUE_SIZE])
    categories, statuses = dict(Category.choices), dict(Status.choices)
    # Every report listed is one this planner moderates, so only the personal-data grant varies: once per layer.
    personal = {}

    def shows_contact(report) -> bool:
        if report.moderation_layer_id not in personal:
            personal[report.moderation_layer_id] = contact_visible(request.user, report)
        return personal[report.moderation_layer_id]

    items = [{
        "report": r, "code_display": codes.display(r.code),
        "category_label": choice_label(categories[r.category]), "status_label": choice_label(statuses[r.status]),
        "contact": r.contact if r.contact and shows_contact(r) else "",
        "contact_hidden": bool(r.contact) and not shows_contact(r),
        "fixed_layer": (r.fixed_layer or r.layer or r.moderation_layer or _NO_LAYER).slug,
        "fixed_feature": r.fixed_feature_id or r.feature_id or "",
    } for r in reports]
    points = [{"code": r.code, "lon": r.point.x, "lat": r.point.y, "status": r.status,
               "label": f"{codes.display(r.code)} · {choice_label(categories[r.category])}"} for r in reports]
    return render(request, "portal/report_queue.html", {
        "t": texts(), "items": items, "points": points, "status": status, "wards": ward_outlines(),
        "statuses": [(value, choice_label(label)) for value, label in Status.choices],
        "actions": [(value, choice_label(statuses[value])) for value in MODERATION_STATUSES],
    })


@login_required
@require_POST
def moderate(request: HttpRequest, code: str) -> HttpResponse:
    """Answers, resolves or rejects one report (CSRF-checked by Django's middleware); back to the queue."""
    back = reverse("report-queue")
    try:
        report = moderated_report(request.user, code)
        answer = parse_moderation(request.POST)
        report_moderate(report=report, user=request.user, status=answer.status, answer=answer.answer,
                        text_public=answer.text_public, fixed_layer=answer.fixed_layer,
                        fixed_feature=answer.fixed_feature, fixed_version=answer.fixed_version)
    except DomainError as error:
        error.back_url = back  # a refusal page leading back to the queue
        raise
    return redirect(f"{back}#r-{report.code}")
