"""Whole-layer downloads: /data/{layer}.{geojson|gpkg|shp.zip|csv|kml|fgb|parquet}?crs=&bbox=&properties=&as_of=."""
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse

from gisportal.ranges import file_response
from layers.changes import encode_cursor, latest_position
from layers.personal import personal_fields
from layers.querystring import check_known_params, check_single_values
from layers.selectors import layer_for
from opendata.fairuse import public_api
from opendata.fields import hidden_to, layer_fields
from opendata.filecrs import EXACT_FORMATS, exact_links
from opendata.files import FORMATS, export_file
from opendata.geojson import stream_collection
from opendata.params import parse_bbox, parse_crs, parse_datetime_param, parse_field_list
from opendata.query import FeatureQuery

DOWNLOAD_FORMATS = ("geojson", *FORMATS)
DOWNLOAD_PARAMS = ("crs", "bbox", "properties", "as_of")  # no filter or limit: those are OGC API items'


def download_query(request: HttpRequest, layer) -> FeatureQuery:
    """Parses ?crs=, ?bbox= (WGS 84 lon/lat), ?properties= and ?as_of= into a FeatureQuery (400 on bad input)."""
    return query_for(request.GET, layer, request.user)


def query_for(params: QueryDict, layer, user) -> FeatureQuery:
    """The download's FeatureQuery for these parameters and this user (the prebuild job asks as the public)."""
    check_single_values(params)
    check_known_params(params, DOWNLOAD_PARAMS)
    fields = layer_fields(layer, user)
    return FeatureQuery(
        layer=layer,
        fields=fields,
        hidden=hidden_to(user, layer),
        crs=parse_crs(params.get("crs")),
        bbox=parse_bbox(params.get("bbox")),
        properties=parse_field_list(params.get("properties"), [spec["name"] for spec in fields]),
        as_of=parse_datetime_param(params.get("as_of"), parameter="as_of"),
    )


def _cache_control(layer, q: FeatureQuery) -> str:
    # A file that carries personal fields (the user may see them) never goes to a shared cache.
    shows_personal = any(name not in q.hidden for name in personal_fields(layer))
    return "public, max-age=300" if layer.is_public and not shows_personal else "private, no-store"


def _changes_cursor(layer, q: FeatureQuery) -> str | None:
    """Where a follower of this download continues in the change feed: the settled position now, read on the
    same server as the export, whose later snapshot holds at least every change up to it (changes after it that
    the file also holds come again in the feed; applying them again changes nothing). Only for today's whole
    layer, streamed now: a bbox or as_of is no state the feed leads to, and other formats may be a cached file."""
    if q.bbox or q.as_of:
        return None
    return encode_cursor(layer, latest_position(layer, read=True))


@public_api
def download(request: HttpRequest, layer: str, fmt: str):
    """A whole layer (or its bbox / fields) as a file; GeoJSON streamed, the rest cached on disk."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    q = download_query(request, catalog_layer)
    filename = f"{catalog_layer.slug}.{fmt}"
    if fmt == "geojson" and request.method == "HEAD":  # headers only: no query for a body nobody reads
        response = HttpResponse(content_type="application/geo+json")
    elif fmt == "geojson":
        follow = _changes_cursor(catalog_layer, q)  # read before the stream's own snapshot: at or before it
        response = StreamingHttpResponse(stream_collection(q), content_type="application/geo+json")
        if follow:
            response["X-Changes-Cursor"] = follow
    else:
        # Byte ranges too: GDAL's /vsicurl/ reads a FlatGeobuf's index, DuckDB a GeoParquet's row groups.
        response = file_response(request, export_file(q, fmt), FORMATS[fmt][1])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Crs"] = f"<{q.crs.uri}>"
    links = exact_links(catalog_layer.slug, q.crs.srid, request.build_absolute_uri)
    if fmt not in EXACT_FORMATS and links:
        # VN-2000 coordinates without the official shift: point to the formats that carry it.
        response["Link"] = ", ".join(links)
    response["Cache-Control"] = _cache_control(catalog_layer, q)
    return response
