"""The change feed door: /data/{layer}/changes?since=&limit=&crs=&f= as GeoJSON pages or GeoJSONSeq (RFC 8142).

Read from the layer's history in feed order (layers/changes.py). Reads go to the read alias: a replica serves only
what its own snapshot calls settled (below its oldest running transaction, which on a hot standby includes every
transaction still open on the primary as of the WAL it replayed), so it may be behind the primary but never hands
out a position that a later commit could slip behind; a follower that moves between servers only sees changes
again, never misses one.
GeoJSONSeq streams from a server-side cursor and ends with a trailer record {"type": "next_cursor", …}: the cursor
to continue from is known only once the last change is out, so it cannot be a header.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, StreamingHttpResponse

from gisportal.vary import accept_header
from layers import changes
from layers.changes import Change, Position
from layers.compaction import check_position
from layers.personal import personal_fields
from layers.querystring import check_known_params, check_single_values, parse_choice
from layers.selectors import layer_for
from opendata.fairuse import public_api
from opendata.fields import hidden_to
from opendata.geojson import collection_head
from opendata.params import Crs, parse_crs, parse_int

FEED_PARAMS = ("since", "limit", "crs", "f")
DEFAULT_LIMIT = 1000
GEOJSON, SEQ = "application/geo+json", "application/geo+json-seq"
RS = "\x1e"  # RFC 8142 record separator
FULL_PAGE_MAX_AGE = 300  # a full page after a cursor never changes, but a layer made restricted or compacted must
# stop being served from shared caches soon: as long as a download (opendata/downloads.py)
HEAD_MAX_AGE = 10  # the head of the feed changes with every commit


@dataclass
class FeedRequest:
    """A parsed feed request: where to start, how many, in which CRS, hiding which fields, as what."""

    layer: object
    since: str | None
    position: Position
    limit: int
    crs: Crs
    hidden: list[str]
    seq: bool


def wants_seq(request: HttpRequest) -> bool:
    """?f=geojsonseq|json|geojson wins; otherwise the Accept header (the answer then varies on it)."""
    f = parse_choice(request.GET.get("f"), parameter="f", choices=("json", "geojson", "geojsonseq"))
    if f:
        return f == "geojsonseq"
    return SEQ in accept_header(request)


def parse_feed(request: HttpRequest, layer) -> FeedRequest:
    """The feed's parameters, each through the shared parsers: 400 when malformed, 410 when compacted away."""
    check_single_values(request.GET)
    check_known_params(request.GET, FEED_PARAMS)
    since = request.GET.get("since") or None
    position = changes.decode_cursor(layer, since) if since else changes.START
    check_position(layer, position)
    return FeedRequest(
        layer=layer, since=since, position=position,
        limit=parse_int(request.GET.get("limit"), parameter="limit", default=DEFAULT_LIMIT, minimum=1,
                        maximum=changes.MAX_PAGE),
        crs=parse_crs(request.GET.get("crs")), hidden=hidden_to(request.user, layer), seq=wants_seq(request))


def utc_text(moment: dt.datetime) -> str:
    """A moment as RFC 3339 text in UTC ('…Z')."""
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def feature_text(change: Change, token: str, hidden: list[str]) -> str:
    """One change as a GeoJSON Feature: the state after it (geometry and properties null for a delete)."""
    properties = None if change.kind == "delete" else {k: v for k, v in change.properties.items() if k not in hidden}
    meta = {"kind": change.kind, "version": change.version,
            "time": utc_text(change.time),
            "cursor": token}
    return (f'{{"type":"Feature","id":{int(change.feature_id)},"geometry":{change.geojson or "null"},'
            f'"properties":{json.dumps(properties, ensure_ascii=False)},"change":{json.dumps(meta)}}}')


def absolute_url(request: HttpRequest, path: str, **params) -> str:
    """The absolute URL of a path with these query parameters (empty ones left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return request.build_absolute_uri(path) + (f"?{query}" if query else "")


def _links(request: HttpRequest, feed: FeedRequest, next_cursor: str) -> list[dict]:
    slug = feed.layer.slug
    crs = request.GET.get("crs")
    base = f"/data/{slug}/changes"
    return [
        {"rel": "self", "type": GEOJSON, "href": absolute_url(request, base, since=feed.since, limit=feed.limit, crs=crs)},
        {"rel": "next", "type": GEOJSON, "href": absolute_url(request, base, since=next_cursor, limit=feed.limit, crs=crs)},
        {"rel": "alternate", "type": "application/atom+xml", "href": absolute_url(request, f"{base}.atom")},
        {"rel": "collection", "type": "application/json", "href": absolute_url(request, f"/ogc/collections/{slug}")},
        {"rel": "describedby", "type": "text/html", "href": absolute_url(request, f"/data/{slug}/")},
        {"rel": "enclosure", "type": GEOJSON, "title": "Tải cả lớp / whole-layer download",
         "href": absolute_url(request, f"/data/{slug}.geojson", crs=crs)},
    ]


def _shows_personal(feed: FeedRequest) -> bool:
    return any(name not in feed.hidden for name in personal_fields(feed.layer))


def _cache_control(feed: FeedRequest, full: bool) -> str:
    # Restricted layers and answers carrying personal fields never go to a shared cache. A full page after a
    # cursor is fixed; the head (and a page from the start, which compaction rewrites) changes.
    if not feed.layer.is_public or _shows_personal(feed):
        return "private, no-store"
    if full and feed.since:
        return f"public, max-age={FULL_PAGE_MAX_AGE}"
    return f"public, max-age={HEAD_MAX_AGE}"


def _page(request: HttpRequest, feed: FeedRequest) -> HttpResponse:
    found = changes.changes_after(feed.layer, feed.position, limit=feed.limit, srid=feed.crs.srid, hidden=feed.hidden)
    # The cursor moves past changes the reader could not see (only hidden fields changed), without showing them.
    next_cursor = changes.encode_cursor(feed.layer, found[-1].position) if found else (
        feed.since or changes.encode_cursor(feed.layer, changes.START))
    full = len(found) == feed.limit
    found = [change for change in found if not change.unseen]
    tokens = [changes.encode_cursor(feed.layer, change.position) for change in found]
    tag = hashlib.sha1(json.dumps([feed.layer.pk, feed.since, feed.limit, feed.crs.srid, sorted(feed.hidden),
                                   tokens, next_cursor]).encode()).hexdigest()[:24]
    etag = f'"{tag}"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        head = collection_head(feed.crs, {"numberReturned": len(found), "more": full, "next_cursor": next_cursor,
                                          "links": _links(request, feed, next_cursor)})
        body = head + ",\n".join(feature_text(c, t, feed.hidden) for c, t in zip(found, tokens)) + "]}\n"
        response = HttpResponse(body.encode(), content_type=GEOJSON)
        response["Content-Crs"] = f"<{feed.crs.uri}>"
    response["ETag"] = etag
    response["Link"] = f'<{_links(request, feed, next_cursor)[1]["href"]}>; rel="next"; type="{GEOJSON}"'
    response["X-Changes-Cursor"] = next_cursor
    response["Cache-Control"] = _cache_control(feed, full)
    return response


def stream_seq(feed: FeedRequest) -> Iterator[bytes]:
    """RFC 8142 records, one change each, then the trailer {"type": "next_cursor", "next_cursor", "more", …}."""
    read, returned, token = 0, 0, feed.since or changes.encode_cursor(feed.layer, changes.START)
    for change in changes.stream_changes(feed.layer, feed.position, limit=feed.limit, srid=feed.crs.srid,
                                         hidden=feed.hidden):
        token = changes.encode_cursor(feed.layer, change.position)
        read += 1
        if change.unseen:  # only fields hidden from this reader changed: the cursor moves on, nothing is shown
            continue
        returned += 1
        yield (RS + feature_text(change, token, feed.hidden) + "\n").encode()
    trailer = {"type": "next_cursor", "next_cursor": token, "more": read == feed.limit,
               "numberReturned": returned}
    yield (RS + json.dumps(trailer) + "\n").encode()


def _seq(request: HttpRequest, feed: FeedRequest) -> HttpResponse:
    if request.method == "HEAD":
        response = HttpResponse(content_type=SEQ)
    else:
        response = StreamingHttpResponse(stream_seq(feed), content_type=SEQ)
    response["Content-Crs"] = f"<{feed.crs.uri}>"
    response["Cache-Control"] = _cache_control(feed, False)
    return response


@public_api
def changes_view(request: HttpRequest, layer: str) -> HttpResponse:
    """GET /data/{layer}/changes: the changes after ?since= (from the start without it), in feed order."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    feed = parse_feed(request, catalog_layer)
    return _seq(request, feed) if feed.seq else _page(request, feed)
