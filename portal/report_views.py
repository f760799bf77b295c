"""Residents' doors for reports: the form (/phan-anh/), the app's API (POST /api/reports), the status page
(/phan-anh/{code}/, also as JSON), the photo, and the public counts. All of them file through one parser
(portal/report_input.py) and one service (portal/reports.py)."""
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from layers.errors import BadRequest, DomainError
from layers.models import Feature
from layers.params import parse_json
from layers.permissions import can_moderate_reports
from portal import codes
from portal.language import english
from portal.lookup_views import parcel_url
from portal.report_input import HoneypotFilled, ReportInput, decode_base64_photo, parse_report
from portal.report_limits import admit_report, give_device_cookie
from portal.report_models import Category, Report, Status
from portal.report_photos import max_bytes, too_large
from portal.report_texts import choice_label, texts
from portal.report_places import ward_outlines
from portal.reports import ReportNotFound, public_counts, report_by_code, report_create

PREFILL = ("layer", "feature", "lon", "lat", "category")


def _categories() -> list[tuple[str, str]]:
    return [(value, choice_label(label)) for value, label in Category.choices]


def _uploaded_photo(request: HttpRequest) -> bytes | None:
    """The form's (or multipart API's) photo, read no further than the size limit."""
    upload = request.FILES.get("photo")
    if upload is None:
        return None
    if upload.size > max_bytes():
        raise too_large()
    return upload.read(max_bytes() + 1) or None


def _form(request: HttpRequest, values: dict, error: DomainError | None = None) -> HttpResponse:
    response = render(request, "portal/report_form.html", {
        "t": texts(), "values": values, "categories": _categories(), "wards": ward_outlines(),
        "error": error.message("en" if english() else "vi") if error else None,
        "error_field": error.parameter if error else None,
    }, status=error.status if error else 200)
    for name, value in (error.headers() if error else {}).items():
        response[name] = value
    return give_device_cookie(request, response)


@require_http_methods(["GET", "HEAD", "POST"])
def report_form(request: HttpRequest) -> HttpResponse:
    """The form: prefilled from the query (?layer=&feature= or ?lon=&lat=); files the report on POST."""
    if request.method != "POST":
        values = {name: request.GET.get(name, "")[:40] for name in PREFILL}
        return _form(request, values)
    values = {name: request.POST.get(name, "")[:40] for name in PREFILL}
    values.update(text=request.POST.get("text", "")[:4000], contact=request.POST.get("contact", "")[:200])
    try:
        admit_report(request)
        report = report_create(report=parse_report(request.POST, _uploaded_photo(request)))
    except HoneypotFilled:
        raise
    except DomainError as error:
        return _form(request, values, error)
    return redirect(f"{reverse('report-status', args=[report.code])}?moi=1", permanent=False)


def _api_input(request: HttpRequest) -> ReportInput:
    """JSON (photo as base64) or multipart form data (photo as a file): the same parser for both."""
    content_type = request.content_type or ""
    if content_type == "application/json":
        data = parse_json(request.body)
        if not isinstance(data, dict):
            raise BadRequest("Nội dung phải là một đối tượng JSON.", "The body must be a JSON object.")
        return parse_report(data, decode_base64_photo(data))
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return parse_report(request.POST, _uploaded_photo(request))
    raise BadRequest("Hãy gửi JSON (application/json) hoặc biểu mẫu (multipart/form-data).",
                     "Send JSON (application/json) or a form (multipart/form-data).")


@csrf_exempt  # the citizens' app has no session or cookie to forge: a report needs no account
@require_http_methods(["POST"])
def reports_api(request: HttpRequest) -> JsonResponse:
    """POST /api/reports: files a report; 201 with its receipt code and status page.

    Body, either `application/json` {"category", "text", "layer" + "feature" | "lon" + "lat", "contact"?,
    "photo"? (base64, a data: URL prefix allowed)} or `multipart/form-data` with the same fields and the photo as
    a file part named "photo". Categories: boundary, area, land_use, planning, address, other. Header
    `X-Device-Id` (16-64 of A-Z a-z 0-9 _ -) identifies the app's install for the abuse limits. Answer:
    {"code", "code_display", "status", "status_url"}; GET /api/reports/{code} follows it. Refusals are the
    platform's JSON errors {code, description, description_vi, parameter}: 400, 413 (photo), 429 (Retry-After)."""
    admit_report(request)
    report = report_create(report=_api_input(request))
    url = reverse("report-status", args=[report.code])
    return JsonResponse({"code": report.code, "code_display": codes.display(report.code),
                         "status": report.status, "status_url": request.build_absolute_uri(url)},
                        status=201, headers={"Location": url})


def _history_url(report: Report) -> str:
    layer = report.fixed_layer
    if layer is None or not layer.is_public or report.fixed_feature_id is None:
        return ""
    try:
        return reverse("feature-history", args=[layer.slug, report.fixed_feature_id])
    except NoReverseMatch:
        return ""


def _parcel_link(report: Report) -> str:
    """The parcel page of a report on a public parcel ('' otherwise, or when the parcel is gone)."""
    if report.target_kind != "parcel" or report.layer is None or not report.layer.is_public:
        return ""
    props = Feature.objects.filter(layer=report.layer, pk=report.feature_id).values_list("properties", flat=True).first()
    try:
        return parcel_url(str(props["ward_code"]), int(props["map_sheet"]), int(props["parcel_no"]))
    except (TypeError, KeyError, ValueError, NoReverseMatch):
        return ""


def public_view(report: Report) -> dict:
    """What anyone may read about a report: never the contact, never who moderated, the text once published."""
    status_labels = dict(Status.choices)
    return {
        "code": report.code, "code_display": codes.display(report.code),
        "status": report.status, "status_label": choice_label(status_labels[report.status]),
        "category": report.category, "category_label": choice_label(dict(Category.choices)[report.category]),
        "target": report.target_kind, "layer": report.layer.slug if report.layer and report.layer.is_public else None,
        "feature": report.feature_id if report.layer and report.layer.is_public else None,
        "ward_code": report.ward_code, "ward_name": report.ward_name, "parcel_url": _parcel_link(report),
        "created_at": report.created_at.isoformat(), "answered_at": report.answered_at.isoformat() if report.answered_at else None,
        "text": report.text if report.text_public else None,
        "answer": report.answer or None,
        "photo_url": reverse("report-photo", args=[report.code]) if report.photo and report.text_public else None,
        "fixed": {"layer": report.fixed_layer.slug, "feature": report.fixed_feature_id, "version": report.fixed_version,
                  "history_url": _history_url(report)} if report.status == Status.RESOLVED and report.fixed_layer
        and report.fixed_layer.is_public else None,
    }


@require_GET
def report_status(request: HttpRequest, code: str) -> HttpResponse:
    """The status page of a report: 404 for an unknown or mistyped code."""
    report = report_by_code(code)
    if code != report.code:  # typed with dashes or lower case: one address per report
        return redirect("report-status", report.code)
    return render(request, "portal/report_status.html", {
        "t": texts(), "r": public_view(report), "report": report, "new": request.GET.get("moi") == "1"})


@require_GET
def report_status_api(request: HttpRequest, code: str) -> JsonResponse:
    """GET /api/reports/{code}: the status page as JSON, for the citizens' app."""
    return JsonResponse(public_view(report_by_code(code)), json_dumps_params={"ensure_ascii": False})


@require_GET
def report_lookup(request: HttpRequest) -> HttpResponse:
    """The 'follow a report' box: ?ma=CODE to its page."""
    return redirect("report-status", report_by_code(request.GET.get("ma", "")).code)


@require_GET
def report_photo(request: HttpRequest, code: str) -> FileResponse:
    """A report's photo: public with its text, else only to its moderators."""
    report = report_by_code(code)
    if not report.photo or not (report.text_public or can_moderate_reports(
            request.user, report.moderation_layer, report.point)):
        raise ReportNotFound()
    response = FileResponse(default_storage.open(report.photo, "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store" if not report.text_public else "private, max-age=60"
    return response


def _counts_table() -> dict:
    rows = public_counts()
    categories = [value for value, _ in Category.choices]
    wards: dict[tuple[str, str], dict] = {}
    for row in rows:
        ward = wards.setdefault((row["ward_code"], row["ward_name"]), {
            "ward_code": row["ward_code"], "ward_name": row["ward_name"], "counts": dict.fromkeys(categories, 0),
            "total": 0})
        ward["counts"][row["category"]] += row["count"]
        ward["total"] += row["count"]
    return {"categories": categories, "wards": list(wards.values())}


@require_GET
def report_stats(request: HttpRequest) -> HttpResponse:
    """Public counts by ward and category."""
    table = _counts_table()
    labels = dict(_categories())
    return render(request, "portal/report_stats.html", {
        "t": texts(), "categories": [(c, labels[c]) for c in table["categories"]],
        "wards": [{**w, "row": [w["counts"][c] for c in table["categories"]]} for w in table["wards"]]})


@require_GET
def report_stats_api(request: HttpRequest) -> JsonResponse:
    """GET /api/reports/stats: counts by ward and category (and status), no text."""
    return JsonResponse({"counts": public_counts()}, json_dumps_params={"ensure_ascii": False})
