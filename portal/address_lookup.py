"""The lookup's address path: an address as residents write it → the parcel at it, the choices, or a clear no."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from layers.addresses import parse_address
from layers.search import address_matches
from layers.wards import all_wards
from portal.language import english


def _parcel_url(ward_code: str, sheet: int, number: int) -> str:
    return reverse("parcel", kwargs={"ward": ward_code, "sheet": sheet, "number": number})


# The address path's answers, Vietnamese first (one pair each, chosen by the page's language).
ADDRESS_TEXTS = {
    "shape": ("Hãy nhập số nhà và tên đường, ví dụ “12/3A Võ Văn Ngân, phường Linh Chiểu”.",
              "Enter a house number and a street, e.g. “12/3A Võ Văn Ngân, phường Linh Chiểu”."),
    "none": ("Không có thửa đất nào có địa chỉ “%(address)s”. Hãy kiểm tra số nhà, tên đường và phường, "
             "hoặc tra cứu theo tờ bản đồ và số thửa.",
             "No parcel has the address “%(address)s”. Check the house number, street and ward, "
             "or look up by map sheet and parcel number."),
    "several": ("Nhiều thửa đất khớp với địa chỉ “%(address)s”. Hãy chọn thửa của bạn:",
                "Several parcels match the address “%(address)s”. Choose yours:"),
}


def is_address(text: str) -> bool:
    """Whether the text is an address with a number and a street (no ward name is)."""
    address = parse_address(text) if text else None
    return bool(address and address.structured)


def _address_text(key: str, **values) -> str:
    vi, en = ADDRESS_TEXTS[key]
    return (en if english() else vi) % values


def address_lookup(request: HttpRequest, address_text: str) -> HttpResponse:
    """An address as residents write it → the parcel when exactly one matches its structure; several → the
    choices; none → says so (never a guess)."""
    context = {"address_text": address_text, "wards": all_wards(request.user), "errors": {}, "choices": []}
    matches = address_matches(request.user, address_text, limit=50) if address_text else None
    if matches is None:
        context["errors"]["address"] = _address_text("shape")
        return render(request, "portal/lookup.html", context, status=400)
    if len(matches) == 1:
        return redirect(_parcel_url(matches[0].ward_code, matches[0].sheet, matches[0].number))
    if not matches:
        context["errors"]["address_not_found"] = _address_text("none", address=address_text)
        return render(request, "portal/lookup.html", context, status=404)
    context["address_intro"] = _address_text("several", address=address_text)
    context["address_choices"] = [{"label": h.label, "detail": h.detail, "url": _parcel_url(h.ward_code, h.sheet, h.number)}
                                  for h in matches]
    return render(request, "portal/lookup.html", context)
