"""Signed `next` links: the server's own paging continuation, which fair use counts by features, not requests.

GDAL 3.6 and QGIS 3.22 read a collection by following `next` links, 10 features a page for GDAL: a
100,000-parcel copy is 10,000 requests, which a per-request budget cuts off after a few hundred. A keyset
next link (one carrying `after`, so each page costs the same however deep) therefore carries `sig`, an HMAC
keyed by SECRET_KEY over its own path and query: a request whose `sig` matches is one the server issued as
the continuation of a page it served, and counts the features it may return in the `features` bucket
instead of one request. Distinct requests (no `sig`, or a changed bbox, filter, limit or offset, which
break it) count as before, so a flood of them is still limited.

`sig` also carries the first page's numberMatched (`3000.<hmac>`), so a 10,000-page read counts the
collection once, not on every page.

A reader follows each link once (twice when it retries); the same link asked again and again is a flood of
one page, not a read: past REPLAYS uses by one caller in a window it counts as an ordinary request.
"""
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, QueryDict
from django.utils.crypto import constant_time_compare, salted_hmac

PARAM = "sig"
_SALT = "opendata.continuation"
# A continuation costs at least this many features, so replaying a limit=1 link is no cheap flood.
MIN_COST = 10
# Uses of one signed link per caller and window priced as a continuation (the first, and a retry).
REPLAYS = 2


@dataclass(frozen=True)
class Continuation:
    matched: int | None  # numberMatched when the sequence began (None: count again)
    link: str            # the link's own signature: tells a replay of the same page from the next page


def _mac(path: str, params, head: str) -> str:
    # The query's pairs but `sig`, sorted: the order a client re-encodes them in does not matter.
    pairs = sorted((key, value) for key, values in params.lists() for value in values if key != PARAM)
    return salted_hmac(_SALT, f"{path}?{urlencode(pairs)}#{head}", algorithm="sha256").hexdigest()[:32]


def signed_params(url: str, params: QueryDict, matched: int | None) -> QueryDict:
    """A copy of params with the `sig` of a link to url?params, carrying numberMatched."""
    signed = params.copy()
    signed.pop(PARAM, None)
    head = "" if matched is None else str(matched)
    signed[PARAM] = f"{head}.{_mac(urlsplit(url).path, signed, head)}"
    return signed


def read(request: HttpRequest) -> Continuation | None:
    """The continuation this request follows, when it is a next link this server signed; None otherwise."""
    given = request.GET.get(PARAM, "")
    head, _, mac = given.partition(".")
    if len(given) > 64 or len(mac) != 32 or not (head == "" or (head.isascii() and head.isdigit())):
        return None
    if not constant_time_compare(mac, _mac(request.path_info, request.GET, head)):
        return None
    return Continuation(matched=int(head) if head else None, link=mac[:16])


def cost(request: HttpRequest, default_limit: int, max_limit: int) -> int:
    """The features a continuation may return: its (signed, so server-chosen) limit, at least MIN_COST."""
    raw = request.GET.get("limit", "")
    limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else default_limit
    return max(MIN_COST, min(limit, max_limit))
