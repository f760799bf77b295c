"""Signed `next` links: the server's own paging continuation, which fair use counts by features, not requests.

GDAL 3.6 and QGIS 3.22 read a collection by following `next` links, 10 features a page for GDAL: a
100,000-parcel copy is 10,000 requests, which a per-request budget cuts off after a few hundred. A next
link therefore carries `sig`, an HMAC (keyed by SECRET_KEY) of its own path and query: a request whose
`sig` matches is one the server itself issued as the continuation of a page it served, so it counts the
features it may return in the `features` bucket instead of one request. Distinct requests (no or a wrong
`sig`: a changed bbox, filter or limit breaks it) count as before, so a flood of them is still limited.
"""
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, QueryDict
from django.utils.crypto import constant_time_compare, salted_hmac

PARAM = "sig"
_SALT = "opendata.continuation"
# A continuation costs at least this many features, so replaying a limit=1 link is no cheap flood.
MIN_COST = 10


def _canonical(path: str, params) -> str:
    """The path and the query's pairs but `sig`, sorted, so the order a client re-encodes them in does not matter."""
    pairs = sorted((key, value) for key, values in params.lists() for value in values if key != PARAM)
    return f"{path}?{urlencode(pairs)}"


def sign(path: str, params: QueryDict) -> str:
    """The `sig` value of a link to path?params."""
    return salted_hmac(_SALT, _canonical(path, params), algorithm="sha256").hexdigest()[:32]


def signed_params(url: str, params: QueryDict) -> QueryDict:
    """A copy of params with the `sig` of a link to url?params."""
    signed = params.copy()
    signed.pop(PARAM, None)
    signed[PARAM] = sign(urlsplit(url).path, signed)
    return signed


def is_continuation(request: HttpRequest) -> bool:
    """True when the request is a next link this server issued (its `sig` matches its path and query)."""
    given = request.GET.get(PARAM)
    if not given or len(given) > 64:
        return False
    return constant_time_compare(given, sign(request.path_info, request.GET))


def cost(request: HttpRequest, default_limit: int, max_limit: int) -> int:
    """The features a continuation may return: its (signed, so server-chosen) limit, at least MIN_COST."""
    raw = request.GET.get("limit", "")
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else default_limit
    return max(MIN_COST, min(limit, max_limit))
