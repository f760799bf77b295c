"""Redirects that every client can follow, and machine APIs that answer with or without a trailing slash.

QGIS 3.22 cannot follow a relative `Location` ("Protocol "" is unknown"), and Django writes relative ones
(APPEND_SLASH, login, the language switch, views' redirect()). So every redirect the site issues is made
absolute here, once, from the request's own scheme and host: the proxy settings Django already honours
(ALLOWED_HOSTS, USE_X_FORWARDED_HOST, SECURE_PROXY_SSL_HEADER, gunicorn's forwarded_allow_ips) decide them.
"""
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

# Machine APIs whose clients build paths by string concatenation (`{root}/collections`, `{root}/`): each of
# their paths is served as it is, with or without the trailing slash, instead of a redirect (a path routed
# neither way stays a 404).
SLASH_AGNOSTIC_PREFIXES = ("/ogc", "/ows")


class AbsoluteRedirectMiddleware:
    """Rewrites a relative Location header of any 3xx answer into an absolute URL (scheme and host)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        location = response.get("Location") if 300 <= response.status_code < 400 else None
        if location and not location.startswith(("http://", "https://")):
            try:
                response["Location"] = request.build_absolute_uri(location)
            except DisallowedHost:  # a host Django refuses is answered with 400 elsewhere; keep the path
                pass
        return response


def _resolves(path: str, urlconf) -> bool:
    try:
        resolve(path, urlconf)
    except Resolver404:
        return False
    return True


class SlashAgnosticMiddleware:
    """Under SLASH_AGNOSTIC_PREFIXES, /path and /path/ reach the same view when only one of them is routed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if any(path == prefix or path.startswith(prefix + "/") for prefix in SLASH_AGNOSTIC_PREFIXES):
            urlconf = getattr(request, "urlconf", None)
            other = path[:-1] if path.endswith("/") else path + "/"
            if len(other) > 1 and not _resolves(path, urlconf) and _resolves(other, urlconf):
                request.path_info = other
                request.path = request.path[: len(request.path) - len(path)] + other
        return self.get_response(request)
