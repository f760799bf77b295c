"""Fair use for the costly doors outside the open-data API: one table of which URL counts in which bucket.

The open-data API counts itself (opendata.fairuse.public_api); search, click-to-see and the history
and diff pages cost 0.1-1 s of database time per request, so they count here, per caller, in the
same shared counters in Redis (429 with Retry-After and a vi/en message past the limit).
"""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gisportal.errors import domain_error_response
from layers.errors import DomainError
from opendata.fairuse import RateLimited, admit

BUCKET_OF_URL = {
    "search-api": "search",  # the map's search box
    "search": "search",  # the search page
    "features-at": "search",  # click-to-see
    "feature-history": "history",
    "feature-history-revert": "history",
    "layer-diff": "history",
    "parcel-sheet": "sheet",  # a PDF made per request (portal/sheet_views.py)
    "sheet-reissue": "sheet",
    "sheet-verify": "history",  # recomputes the sheet's content from the history
}


class FairUseMiddleware:
    """Counts requests to the URLs in BUCKET_OF_URL before their view runs; adds X-RateLimit-* to the answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        counted = getattr(request, "_fair_use", None)
        if counted is not None:
            response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"] = str(counted[0]), str(counted[1])
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        bucket = BUCKET_OF_URL.get(getattr(request.resolver_match, "url_name", None))
        if bucket is None:
            return None
        try:
            request._fair_use = admit(request, bucket)
        except RateLimited as error:
            request._fair_use = (error.limit, 0)
            return domain_error_response(request, error)
        except DomainError as error:  # an unknown API token
            return domain_error_response(request, error)
        return None
