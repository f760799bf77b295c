"""The planning information sheet: issue it as a PDF, verify it by its code, re-issue it from its moment.

Views parse, call the services in portal/sheets.py (which read through layers/), and render. Issuing and
re-issuing cost a PDF each: they count in the fair-use 'sheet' bucket (gisportal/throttle.py), 429 past it.
"""
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from layers import core
from layers.errors import NotFound
from layers.lookup import parcel_by_key
from portal.language import english
from portal.lookup_views import MAX_PARCEL, MAX_SHEET, parcel_url, whole_number
from portal.sheet_codes import display, parse_code
from portal.sheet_pdf import sheet_context, sheet_pdf
from portal.sheet_text import moment, verify_words
from portal.sheets import sheet_by_code, sheet_issue, sheet_reissue, sheet_verify, visible_content

_WARD = re.compile(r"[0-9A-Za-z_-]{1,10}")


def _language() -> str:
    return "en" if english() else "vi"


def _public(request: HttpRequest, path: str) -> str:
    """An absolute URL: the portal's public address when configured, else the request's own."""
    base = (getattr(settings, "GISPORTAL_PUBLIC_URL", "") or "").rstrip("/")
    return base + path if base else request.build_absolute_uri(path)


def _pdf(pdf: bytes, *, name: str, code: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    response["Cache-Control"] = "private, no-store"  # each answer is a sheet of its own (code, time of issue)
    response["X-Sheet-Code"] = code
    return response


@require_GET
def sheet_pdf_view(request: HttpRequest, ward: str, sheet: int, number: int) -> HttpResponse:
    """Issues a planning information sheet of the parcel (what the visitor may see, as of now) as a PDF."""
    if not _WARD.fullmatch(ward) or whole_number(str(sheet), MAX_SHEET) is None \
            or whole_number(str(number), MAX_PARCEL) is None:
        raise NotFound("Không tìm thấy thửa đất.", "Parcel not found.")
    parcel = parcel_by_key(request.user, ward, sheet, number)
    issued, facts = sheet_issue(user=request.user, parcel=parcel, language=_language())
    url = _public(request, reverse("sheet-verify", kwargs={"code": issued.code}))
    pdf = sheet_pdf(facts.content, facts.drawing, language=issued.language, as_of=issued.as_of,
                    issued_at=issued.issued_at, code=issued.code, verify_url=url)
    return _pdf(pdf, name=f"phieu-{ward}-{sheet}-{number}-{issued.code}.pdf", code=issued.code)


@require_GET
def verify_form(request: HttpRequest) -> HttpResponse:
    """'/xac-minh/?code=…' → the code's page; without a code, the form."""
    text = request.GET.get("code", "")
    if text:
        return redirect("sheet-verify", code=parse_code(text))
    return render(request, "portal/verify.html", {"w": verify_words(_language()), "sheet": None})


@never_cache  # what it says depends on the visitor and on the data now
@require_GET
def verify_page(request: HttpRequest, code: str) -> HttpResponse:
    """What an issued sheet said, and whether the data has changed since (withheld parts named, not shown)."""
    sheet = sheet_by_code(parse_code(code))
    check = sheet_verify(user=request.user, sheet=sheet)
    lang = _language()
    shown = visible_content(sheet.content, check.withheld)
    context = {
        "w": verify_words(lang), "sheet": sheet, "check": check, "code": display(sheet.code),
        "said": None if core.PARCELS in check.withheld
        else sheet_context(shown, language=lang, as_of=sheet.as_of, issued_at=sheet.issued_at),
        "changed": [pair[1 if lang == "en" else 0] for pair in check.changed],
        "can_reissue": not check.withheld,
        "withheld_names": [verify_words(lang).get(f"layer_{slug}", slug) for slug in check.withheld],
        "current_url": parcel_url(sheet.ward_code, sheet.map_sheet, sheet.parcel_no) if not check.parcel_gone else "",
        "checked_at": moment(timezone.now(), lang),
    }
    return render(request, "portal/verify.html", context)


@require_GET
def reissue_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The same sheet again, from the data as of its moment: the same content, the same hash."""
    sheet = sheet_by_code(parse_code(code))
    facts = sheet_reissue(user=request.user, sheet=sheet)
    url = _public(request, reverse("sheet-verify", kwargs={"code": sheet.code}))
    pdf = sheet_pdf(facts.content, facts.drawing, language=sheet.language, as_of=sheet.as_of,
                    issued_at=sheet.issued_at, code=sheet.code, verify_url=url)
    return _pdf(pdf, name=f"phieu-{sheet.code}.pdf", code=sheet.code)
