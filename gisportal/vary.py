"""Vary: Accept on every answer whose format followed the Accept header, so a shared cache keeps them apart.

Whoever chooses a format from Accept reads it through accept_header(), which marks the request; the
middleware then adds `Vary: Accept` to whatever answer comes back (the page, the JSON, or an error).
Answers that ignore Accept (tiles, downloads, machine paths) stay without it and are cached once.
The language follows the cookie or ?lang=, never Accept-Language: VietnameseFirstLocaleMiddleware's
`Vary: Cookie` covers it.
"""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

_MARK = "_gisportal_varies_on_accept"


def accept_header(request: HttpRequest) -> str:
    """The Accept header, noting that this request's answer depends on it."""
    setattr(request, _MARK, True)
    return request.headers.get("Accept", "")


class VaryOnAcceptMiddleware:
    """Adds Accept to Vary when the answer was chosen by accept_header()."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _MARK, False):
            patch_vary_headers(response, ("Accept",))
        return response
