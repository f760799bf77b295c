"""Which server a request reads from (layers/db.py routes the queries): read-your-writes and the replica's faults.

A request is pinned to the primary when it writes (any method but GET/HEAD/OPTIONS), when it is an editor's,
uploader's or administrator's page, or when its user wrote in the last GISPORTAL_READ_YOUR_WRITES_SECONDS:
a successful write sets a short signed cookie, so the writer's next reads — on any node — see the change.
Anyone else's reads may go to the replica. A safe request that met a connection error on the replica is
answered again from the primary (and the replica left alone until its next health check): no failed request.
"""
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse

from gisportal.middleware import is_database_outage
from layers import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE = "gp_wrote"
_SALT = "gisportal.routing.read-your-writes"
# The editors' own pages and APIs, uploads, accounts and the admin read what they (or their colleagues) just wrote.
PRIMARY_PREFIXES = ("/edit/", "/history/", "/audit/", "/api/layers/", "/ingest/", "/admin/", "/accounts/")


def wrote_recently(request: HttpRequest) -> bool:
    """True when this client's signed write stamp is younger than the read-your-writes window."""
    window = settings.GISPORTAL_READ_YOUR_WRITES_SECONDS
    return window > 0 and request.get_signed_cookie(COOKIE, default=None, salt=_SALT, max_age=window) is not None


def pinned_to_primary(request: HttpRequest) -> bool:
    """True when every read of this request must see the latest commit."""
    return (request.method not in SAFE_METHODS or request.path_info.startswith(PRIMARY_PREFIXES)
            or wrote_recently(request))


def _routed(content: Iterator, route: db.Route) -> Iterator:
    """A streamed body whose queries (a download's named cursor) run under the request's route."""
    with db.routed(route):
        yield from content


class DatabaseRouteMiddleware:
    """Sets the request's route for layers/db.py, retries a replica fault on the primary, stamps writers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route = db.Route(primary=pinned_to_primary(request))
        token = db.begin_request(route)
        try:
            response = self.get_response(request)
            if route.replica_failed and request.method in SAFE_METHODS:
                db.fail_over()
                db.end_request(token)
                route = db.Route(primary=True)
                token = db.begin_request(route)
                response = self.get_response(request)
        finally:
            db.end_request(token)
        if response.streaming and not isinstance(response, FileResponse):
            # The body is read after this returns: its queries keep the request's route.
            response.streaming_content = _routed(response.streaming_content, route)
        window = settings.GISPORTAL_READ_YOUR_WRITES_SECONDS
        if request.method not in SAFE_METHODS and response.status_code < 400 and window > 0:
            response.set_signed_cookie(COOKIE, "1", salt=_SALT, max_age=window, httponly=True, samesite="Lax",
                                       secure=settings.SESSION_COOKIE_SECURE)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Notes a connection error met while this request read from the replica (answered again above)."""
        route = db.current_route()
        if (route is not None and route.alias == db.REPLICA and is_database_outage(exception)
                and not db.replica_connection_alive()):
            route.replica_failed = True
