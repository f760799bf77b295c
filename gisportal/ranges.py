"""HTTP range requests (RFC 9110 §14) on files the platform built: the one Range parser and ranged answer, for the
PMTiles archives (tiles/archive_views.py) and the download files (opendata/downloads.py), as pmtiles.js, MapLibre,
GDAL's /vsicurl/ (FlatGeobuf's spatial index, GeoPackage) and DuckDB (GeoParquet) read them.

One byte range per request (what those clients send) is a 206 with Content-Range; several ranges in one request
are served simply, as the whole file (200: a server may ignore Range); a bytes range that does not parse or does
not fit is a 416 with `Content-Range: bytes */size` and a vi/en message. If-Range with the current ETag (or
Last-Modified date) keeps the range; any other value gets the whole file, so a client never mixes two versions.
The caller opens the file once: a new version renamed into place meanwhile leaves this answer on the old one.
"""
import os
import re
from collections.abc import Iterator
from typing import BinaryIO

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import http_date

from layers.errors import DomainError

_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")  # ASCII digits only (RFC 9110 DIGIT)
_CHUNK = 256 * 1024
MAX_RANGE_HEADER = 1000


class RangeNotSatisfiable(DomainError):
    status = 416
    code = "range-not-satisfiable"

    def __init__(self, size: int):
        super().__init__(f"Khoảng byte yêu cầu không hợp lệ hoặc vượt quá kích thước tệp ({size} byte).",
                         f"The requested byte range is malformed or outside the file ({size} bytes).",
                         parameter="Range")
        self.size = size

    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}", "Accept-Ranges": "bytes", "Cache-Control": "no-store"}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=` range; None to serve the whole file (no Range, another unit,
    several ranges); RangeNotSatisfiable for a bytes range that does not parse or does not fit."""
    if not header:
        return None
    header = header.strip()
    if not header.lower().startswith("bytes="):
        return None  # another unit: ignored (RFC 9110 §14.2)
    if len(header) > MAX_RANGE_HEADER or "," in header:
        return None  # several ranges: the whole file, served simply
    found = _RANGE.fullmatch(header.replace(" ", "").lower())
    if found is None or not (found[1] or found[2]):
        raise RangeNotSatisfiable(size)
    if not found[1]:  # bytes=-N: the last N bytes
        length = int(found[2])
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - length), size - 1
    first = int(found[1])
    if first >= size or (found[2] and int(found[2]) < first):
        raise RangeNotSatisfiable(size)
    return first, min(int(found[2]), size - 1) if found[2] else size - 1


def file_etag(info: os.stat_result) -> str:
    """A strong ETag of one written file (size and modification time; a new version is a new file): the same on
    every node of a shared volume."""
    return f'"f-{info.st_size:x}-{info.st_mtime_ns:x}"'


def _slice(handle: BinaryIO, first: int, length: int) -> Iterator[bytes]:
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


def file_response(request: HttpRequest, handle: BinaryIO, content_type: str) -> HttpResponse:
    """The open file as 200 (whole) or 206 (the one range asked), with Accept-Ranges, ETag and Last-Modified;
    RangeNotSatisfiable (416) for a bad range. The handle is closed with the response, or here on an error."""
    try:
        info = os.fstat(handle.fileno())
        etag, modified = file_etag(info), http_date(info.st_mtime)
        if_range = request.META.get("HTTP_IF_RANGE")
        keep = if_range is None or if_range.strip() in (etag, modified)
        wanted = parse_range(request.META.get("HTTP_RANGE"), info.st_size) if keep else None
    except BaseException:
        handle.close()
        raise
    if wanted is None:
        response = FileResponse(handle, content_type=content_type)
        response["Content-Length"] = str(info.st_size)
    else:
        first, last = wanted
        response = StreamingHttpResponse(_slice(handle, first, last - first + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(last - first + 1)
        response["Content-Range"] = f"bytes {first}-{last}/{info.st_size}"
    response["ETag"], response["Last-Modified"], response["Accept-Ranges"] = etag, modified, "bytes"
    return response
