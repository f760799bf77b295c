"""'Tra cứu thông tin quy hoạch': ward + map sheet + parcel number → the parcel's page.

Views parse and check input, call one selector in layers/, and render. Bad input answers 4xx with a
message in the page's language (DomainError for the APIs, the form itself for pages).
"""
import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from layers.errors import NotFound
from layers.lookup import parcel_by_key
from layers.search import clean_query
from layers.wards import (
    Ward, all_wards, current_ward_at, current_ward_by_code, former_wards_of, is_exact, resolve_ward, ward_by_code,
)
from portal.address_lookup import address_lookup, is_address

MAX_SHEET = 9999
MAX_PARCEL = 999999


def whole_number(text: str, limit: int) -> int | None:
    """A positive whole number up to limit, or None (sheet and parcel numbers as typed)."""
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text) and 0 < int(text) <= limit else None


def parcel_url(ward_code: str, sheet: int, number: int) -> str:
    return reverse("parcel", kwargs={"ward": ward_code, "sheet": sheet, "number": number})


def _parcel(user, ward_code: str, sheet: int, number: int):
    try:
        return parcel_by_key(user, ward_code, sheet, number)
    except NotFound:
        return None


def _find_in_wards(user, wards: list[Ward], sheet: int, number: int) -> list[dict]:
    """Parcels with this sheet and number in each candidate ward, with the current ward each lies in. A current
    ward searches its former ones (and its own code) and keeps only the parcels that lie in it: a split former
    ward's parcels belong to one of its two successors, and every new code is also a former ward's."""
    found: dict[int, dict] = {}
    for ward in wards:
        for keyed in ([ward] if ward.former else former_wards_of(user, ward.code) + [ward]):
            parcel = _parcel(user, keyed.code, sheet, number)
            if parcel is None or parcel.pk in found:
                continue
            now = current_ward_at(user, parcel.geom)
            if not ward.former and (now is None or now.code != ward.code):
                continue
            label = keyed if keyed.former else (ward_by_code(user, keyed.code) or keyed)
            found[parcel.pk] = {"ward": label, "current": now, "url": parcel_url(keyed.code, sheet, number)}
    return list(found.values())


@require_GET
def lookup_page(request: HttpRequest) -> HttpResponse:
    """'Tra cứu thông tin quy hoạch': ward + map sheet + parcel number → the parcel's page."""
    ward_text = clean_query(request.GET.get("ward", ""))
    sheet_text, number_text = request.GET.get("sheet", "")[:20], request.GET.get("parcel", "")[:20]
    if not (sheet_text or number_text) and ("address" in request.GET or is_address(ward_text)):
        return address_lookup(request, clean_query(request.GET.get("address") or ward_text))  # an address in either box
    context = {"ward_text": ward_text, "sheet_text": sheet_text, "number_text": number_text,
               "wards": all_wards(request.user), "errors": {}, "choices": []}
    if not (ward_text or sheet_text or number_text):
        return render(request, "portal/lookup.html", context)
    errors = context["errors"]
    sheet, number = whole_number(sheet_text, MAX_SHEET), whole_number(number_text, MAX_PARCEL)
    if sheet is None:
        errors["sheet"] = _("Enter the map sheet number as a whole number from 1 to %(max)s.") % {"max": MAX_SHEET}
    if number is None:
        errors["parcel"] = _("Enter the parcel number as a whole number from 1 to %(max)s.") % {"max": MAX_PARCEL}
    wards = resolve_ward(request.user, ward_text) if ward_text else []
    if not wards:
        errors["ward"] = _("No ward is called “%(name)s”. Choose one from the list.") % {"name": ward_text} if ward_text \
            else _("Enter the ward (phường).")
    if errors:
        return render(request, "portal/lookup.html", context, status=400)
    exact = [w for w in wards if is_exact(w, ward_text)]
    # Only a name that is the ward's (however folded) leads straight to a parcel; a near spelling offers choices.
    found = _find_in_wards(request.user, exact or wards, sheet, number)
    if len(found) == 1 and exact:
        return redirect(found[0]["url"])
    if found:
        context["choices"] = found
        return render(request, "portal/lookup.html", context)
    errors["not_found"] = _("No parcel number %(number)s on map sheet %(sheet)s in %(ward)s.") % {
        "number": number, "sheet": sheet, "ward": " / ".join(w.name for w in exact) if exact else ward_text}
    context["suggestions"] = _suggestions(request.user, wards, exact)
    return render(request, "portal/lookup.html", context, status=404)


def _suggestions(user, wards: list[Ward], exact: list[Ward]) -> list[Ward]:
    """Other wards to try: near spellings, and a split former ward's two current wards."""
    successors = [current_ward_by_code(user, s.code) for w in exact if w.split for s in w.successors]
    out: list[Ward] = []
    for ward in [w for w in successors if w is not None] + [w for w in wards if w not in exact]:
        if ward not in out:
            out.append(ward)
    return out
