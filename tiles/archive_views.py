"""/tiles/{layer}.pmtiles and /tiles/basemap.pmtiles: the archives of tiles/archives.py, read by HTTP range requests
(gisportal/ranges.py: 206, 416, If-Range) as pmtiles.js, MapLibre's pmtiles:// protocol and GDAL read them.

The file is opened once per request: a rebuild renaming a new archive into place meanwhile leaves this answer on
the old one (POSIX), and the next request gets the new one and its new ETag. Public and tagged for the front like
a tile (tiles.views.cache_headers), purged when a new archive lands.
"""
import os
import re

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from gisportal.cors import open_cors
from gisportal.ranges import file_etag, file_response
from layers.errors import NotFound, UnknownLayer
from tiles import archives
from tiles.views import _matches, cache_headers

_NAME = re.compile(r"[-a-zA-Z0-9_]{1,64}")


class NotBuilt(NotFound):
    """The archive is not written yet (its build is queued by the change, the publication or the release step that
    made it due; a public GET writes nothing): 404 that no cache keeps, with when to ask again."""

    retry_after = 60

    def __init__(self):
        super().__init__("Tệp PMTiles của lớp này chưa được tạo; hệ thống đang tạo, vui lòng thử lại sau ít phút.",
                         "This layer's PMTiles archive is not built yet; it is being built, please try again "
                         "in a few minutes.")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Cache-Control": "no-store"}


def _open(name: str):
    """The archive, open for reading; NotBuilt when there is none yet."""
    if not _NAME.fullmatch(name) or not archives.archive_layers(name):
        raise UnknownLayer()  # unknown, raster or restricted: the same 404 as every tile door
    try:
        return open(archives.archive_path(name), "rb")
    except FileNotFoundError:
        raise NotBuilt() from None


@open_cors
@require_safe
def archive_view(request: HttpRequest, name: str) -> HttpResponse:
    """/tiles/{layer}.pmtiles, /tiles/basemap.pmtiles — the whole archive (200), one byte range (206), 304, 416."""
    handle = _open(name)
    etag = file_etag(os.fstat(handle.fileno()))
    if _matches(request, (etag,)):
        handle.close()
        response = HttpResponse(status=304)
        response["ETag"], response["Accept-Ranges"] = etag, "bytes"
    else:
        response = file_response(request, handle, archives.MEDIA_TYPE)
    return cache_headers(response, restricted=False, tags=[archives.archive_tag(name)])
