"""Fair use for public endpoints: per-IP rate limits for anonymous callers, higher ones for tokens, CORS.

Counters live in Redis (layers.rate_window: a window per caller that opens at its first request), so the
limit holds across gunicorn workers and web nodes, where a per-process cache would multiply it, and a public
GET writes nothing to PostgreSQL. Redis down: the request is admitted (opendata.sharedstate fails open).
Doors that cost more per request (search, click-to-see, history and diff) count in their own bucket with
lower limits, never above the API's.
Following a next link the server signed (opendata.continuation) counts features, not requests, in the
`features` bucket: one client reads a whole collection page by page, while distinct requests (a flood)
are limited as before.
"""
import functools

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gisportal import cors
from gisportal.clientip import client_ip
from gisportal.env import env_int
from gisportal.errors import domain_error_response
from layers import rate_window
from layers.errors import DomainError, TooManyRequests
from opendata import continuation, sharedstate, tokenuse
from opendata.models import ApiToken, hash_key
from opendata.ogc import default_limit, max_limit


class InvalidToken(DomainError):
    status = 401
    code = "invalid-token"


class RateLimited(TooManyRequests):
    code = "rate-limited"

    def __init__(self, message_vi: str, message_en: str, *, limit: int, retry_after: int):
        super().__init__(message_vi, message_en, retry_after=retry_after)
        self.limit = limit


# bucket: (anonymous default, token/signed-in default); settings OPENDATA_RATE_<BUCKET>_ANON / _TOKEN
BUCKETS = {
    "search": (120, 1200),  # search box and click-to-see: 0.1-1 s of database time each
    "history": (60, 600),  # feature history, layer diff pages
    "sheet": (20, 200),  # planning information sheet PDFs: ~0.3-1 s of CPU each
}
# Features per window read by following signed next links: counted apart from requests, not capped by them.
# 100,000 is 10,000 of GDAL's 10-feature pages a minute, more than one sequential reader asks for.
FEATURE_BUCKET = "features"
FEATURE_LIMITS = (100_000, 1_000_000)
NAMESPACE = "rate"  # the counters' Redis keys: rate:<window seconds>:<bucket|caller>


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return int(value) if value is not None else env_int(name, default)


def limits(bucket: str = "api") -> tuple[int, int, int]:
    """(anonymous per window, token per window, window seconds) of a bucket, from settings or the environment."""
    anon, token, window = (_setting("OPENDATA_RATE_ANON", 300), _setting("OPENDATA_RATE_TOKEN", 3000),
                           _setting("OPENDATA_RATE_WINDOW", 60))
    if bucket == FEATURE_BUCKET:
        return (_setting("OPENDATA_RATE_FEATURES_ANON", FEATURE_LIMITS[0]),
                _setting("OPENDATA_RATE_FEATURES_TOKEN", FEATURE_LIMITS[1]), window)
    if bucket in BUCKETS:
        name, (anon_default, token_default) = f"OPENDATA_RATE_{bucket.upper()}", BUCKETS[bucket]
        anon = min(anon, _setting(f"{name}_ANON", anon_default))
        token = min(token, _setting(f"{name}_TOKEN", token_default))
    return anon, token, window


def _token_from(request: HttpRequest) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith(("bearer ", "token ")):
        return auth.split(None, 1)[1].strip()
    return request.headers.get("X-API-Key") or request.GET.get("api_key") or None


def caller_key(request: HttpRequest) -> tuple[str, bool]:
    """('t:…'|'u:…'|'ip:…', has_raised_limit); InvalidToken for a token that does not exist.
    Read once per request (a signed next link asks twice: its replay count, then its bucket)."""
    if not hasattr(request, "_fair_use_caller"):
        request._fair_use_caller = _identify(request)
    return request._fair_use_caller


def _identify(request: HttpRequest) -> tuple[str, bool]:
    key = _token_from(request)
    if key:
        token_id = (ApiToken.objects.filter(key_hash=hash_key(key[:200]), revoked=False)
                    .values_list("id", flat=True).first())
        if token_id is None:
            raise InvalidToken("Mã API không hợp lệ hoặc đã bị thu hồi.", "Invalid or revoked API token.",
                               parameter="api_key")
        tokenuse.record(token_id=token_id)  # in Redis: a public GET writes nothing to PostgreSQL
        return f"t:{token_id}", True
    if request.user.is_authenticated:
        return f"u:{request.user.pk}", True
    return f"ip:{client_ip(request)}", False


def _hit(name: str, window: int, cost: int = 1) -> rate_window.Counted:
    return rate_window.hit(NAMESPACE, name, window, cost, logger=sharedstate.log)


def count_of(key: str, bucket: str = "api") -> int:
    """The count of a caller key (as caller_key, prefixed by the bucket but for 'api') in its open window."""
    return rate_window.peek(NAMESPACE, key, limits(bucket)[2], logger=sharedstate.log)


def public_api(view):
    """GET/HEAD/OPTIONS only; rate limit per caller (429 + Retry-After); CORS on every answer."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = cors.preflight()
        elif request.method not in ("GET", "HEAD"):
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD, OPTIONS"
        else:
            response = _limited(view, request, *args, **kwargs)
        return cors.add_headers(response)

    wrapper.allowed_methods = ("GET", "HEAD", "OPTIONS")  # read by gisportal.errors.MethodMiddleware
    return wrapper


def admit(request: HttpRequest, bucket: str = "api", cost: int = 1) -> tuple[int, int]:
    """Counts this request (cost units) in its bucket: (limit, remaining); RateLimited (429, Retry-After) past it."""
    key, raised = caller_key(request)
    anon, token, window = limits(bucket)
    limit = token if raised else anon
    counted = _hit(key if bucket == "api" else f"{bucket}|{key}", window, cost)
    count, reset = counted.count, counted.resets_in
    if count > limit:
        what_vi, what_en = (("đối tượng đọc theo trang", "features read page by page") if bucket == FEATURE_BUCKET
                            else ("yêu cầu", "requests"))
        raise RateLimited(
            f"Quá nhiều {what_vi}: tối đa {limit} mỗi {window} giây. Vui lòng thử lại sau {reset} giây"
            f"{'' if raised else ', hoặc dùng mã API để được hạn mức cao hơn'}.",
            f"Too many {what_en}: at most {limit} per {window} s. Please try again in {reset} s"
            f"{'' if raised else ', or use an API token for a higher limit'}.",
            limit=limit, retry_after=reset,
        )
    return limit, max(0, limit - count)


def admit_api(request: HttpRequest) -> tuple[int, int]:
    """A signed next link counts its features in the features bucket; any other request, and a signed link
    replayed past continuation.REPLAYS uses, counts one request."""
    follows = continuation.read(request)
    if follows is not None and _uses(request, follows.link) <= continuation.REPLAYS:
        return admit(request, FEATURE_BUCKET, continuation.cost(request, default_limit(), max_limit()))
    return admit(request)


def _uses(request: HttpRequest, link: str) -> int:
    """How many times this caller has followed this signed link in its open window (this time included)."""
    key, _ = caller_key(request)
    return _hit(f"link|{key}|{link}", limits(FEATURE_BUCKET)[2]).count


def _rate_headers(response: HttpResponse, limit: int, remaining: int) -> HttpResponse:
    response["X-RateLimit-Limit"] = str(limit)
    response["X-RateLimit-Remaining"] = str(remaining)
    return response


def _limited(view, request: HttpRequest, *args, **kwargs) -> HttpResponse:
    try:
        limit, remaining = admit_api(request)
    except RateLimited as error:
        return _rate_headers(domain_error_response(request, error), error.limit, 0)
    except DomainError as error:
        return domain_error_response(request, error)
    try:
        response = view(request, *args, **kwargs)
    except DomainError as error:  # answered here so the CORS headers are added too
        response = domain_error_response(request, error)
    return _rate_headers(response, limit, remaining)

