"""/tiles/{layer}.pmtiles and /tiles/basemap.pmtiles: the archives of tiles/archives.py, with HTTP range requests
(RFC 9110 §14), as pmtiles.js, MapLibre's pmtiles:// protocol and GDAL's /vsicurl/ read them.

One byte range per request (what those clients send) is a 206 with Content-Range; several ranges in one request
are served simply, as the whole archive (200: a server may ignore Range); a range that does not fit the archive,
or a bytes range that does not parse, is a 416 with `Content-Range: bytes */size` and a vi/en message. If-Range
with the current ETag (or Last-Modified date) keeps the range, any other value gets the whole archive, so a client
never mixes bytes of two builds. The file is opened once per request: a rebuild renaming a new archive into place
meanwhile leaves this answer on the old one (POSIX), and the next request gets the new one and its new ETag.
"""
import os
import re
from collections.abc import Iterator

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from gisportal.cors import open_cors
from layers.errors import DomainError, NotFound, UnknownLayer
from tiles import archives
from tiles.views import _matches, cache_headers

_NAME = re.compile(r"[-a-zA-Z0-9_]{1,64}")
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")
_CHUNK = 256 * 1024
MAX_RANGE_HEADER = 1000
# What a cross-origin pmtiles.js reads besides the policy's headers (gisportal.cors).
EXPOSE = ("ETag, Content-Encoding, Content-Length, Content-Range, Accept-Ranges, Last-Modified, Content-Disposition, "
          "Retry-After")


class NotBuilt(NotFound):
    """The archive is queued but not written yet: 404 that no cache keeps, with when to ask again."""

    retry_after = 60

    def __init__(self):
        super().__init__("Tệp PMTiles của lớp này chưa được tạo; hệ thống đang tạo, vui lòng thử lại sau ít phút.",
                         "This layer's PMTiles archive is not built yet; it is being built, please try again "
                         "in a few minutes.")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Cache-Control": "no-store"}


class RangeNotSatisfiable(DomainError):
    status = 416
    code = "range-not-satisfiable"

    def __init__(self, size: int):
        super().__init__(f"Khoảng byte yêu cầu không hợp lệ hoặc vượt quá kích thước tệp ({size} byte).",
                         f"The requested byte range is malformed or outside the archive ({size} bytes).",
                         parameter="Range")
        self.size = size

    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}", "Accept-Ranges": "bytes", "Cache-Control": "no-store"}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range; None to serve the whole archive (no Range, another unit,
    several ranges); RangeNotSatisfiable for a bytes range that does not parse or does not fit."""
    if not header:
        return None
    header = header.strip()
    if not header.lower().startswith("bytes="):
        return None  # another unit: ignored (RFC 9110 §14.2)
    if "," in header[:MAX_RANGE_HEADER] or len(header) > MAX_RANGE_HEADER:
        return None  # several ranges: the whole archive, served simply
    found = _RANGE.fullmatch(header.replace(" ", "").lower())
    if found is None or not (found[1] or found[2]):
        raise RangeNotSatisfiable(size)
    if not found[1]:  # bytes=-N: the last N bytes
        length = int(found[2])
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - length), size - 1
    first = int(found[1])
    last = min(int(found[2]), size - 1) if found[2] else size - 1
    if first >= size or (found[2] and int(found[2]) < first):
        raise RangeNotSatisfiable(size)
    return first, last


def _etag(info: os.stat_result) -> str:
    # Size and modification time of this build (a rebuild is a new file): the same on every node of a shared volume.
    return f'"pm-{info.st_size:x}-{info.st_mtime_ns:x}"'


def _range_applies(request: HttpRequest, etag: str, modified: str) -> bool:
    """If-Range: the range holds only for the current archive (a strong ETag or its exact Last-Modified date)."""
    value = request.META.get("HTTP_IF_RANGE")
    return value is None or value.strip() in (etag, modified)


def _slice(handle, first: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(first)
        left = length
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _open(name: str):
    """The archive, open for reading, and its stat; NotBuilt (with a build queued) when there is none yet."""
    if not _NAME.fullmatch(name) or not archives.archive_layers(name):
        raise UnknownLayer()  # unknown, raster or restricted: the same 404 as every tile door
    try:
        handle = open(archives.archive_path(name), "rb")
    except FileNotFoundError:
        archives.request_build(name)
        raise NotBuilt() from None
    return handle, os.fstat(handle.fileno())


@open_cors
@require_safe
def archive_view(request: HttpRequest, name: str) -> HttpResponse:
    """/tiles/{layer}.pmtiles, /tiles/basemap.pmtiles — the whole archive (200), one byte range (206), 304, 416."""
    handle, info = _open(name)
    etag, modified = _etag(info), http_date(info.st_mtime)
    try:
        if _matches(request, (etag,)):
            handle.close()
            response = HttpResponse(status=304)
        else:
            wanted = parse_range(request.META.get("HTTP_RANGE"), info.st_size) if _range_applies(
                request, etag, modified) else None
            response = _body(handle, info.st_size, wanted)
    except BaseException:
        handle.close()
        raise
    response["ETag"], response["Last-Modified"], response["Accept-Ranges"] = etag, modified, "bytes"
    response["Access-Control-Expose-Headers"] = EXPOSE
    return cache_headers(response, restricted=False, tags=[archives.archive_tag(name)])


def _body(handle, size: int, wanted: tuple[int, int] | None) -> HttpResponse:
    if wanted is None:
        response = FileResponse(handle, content_type=archives.MEDIA_TYPE)
        response["Content-Length"] = str(size)
        return response
    first, last = wanted
    response = StreamingHttpResponse(_slice(handle, first, last - first + 1), status=206,
                                     content_type=archives.MEDIA_TYPE)
    response["Content-Length"] = str(last - first + 1)
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    return response
