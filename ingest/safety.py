"""Checks made before GDAL sees a file: local paths only, content matching the extension, safe zips, no XML entities.

GDAL opens many formats and some open others (a VRT reads any local file, /vsicurl/ fetches URLs), so
every file is sniffed here first and refused unless its bytes are what its extension promises.
"""
import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings

from layers.errors import IngestRejected

MB = 1024 * 1024


def limit(name: str, default: int) -> int:
    """A size limit from settings (INGEST_<NAME>), or its default."""
    return int(getattr(settings, f"INGEST_{name}", default))


def max_upload_bytes() -> int:
    return limit("MAX_UPLOAD_BYTES", 1024 * MB)


def max_expanded_bytes() -> int:
    return limit("MAX_EXPANDED_BYTES", 4096 * MB)


MAX_ZIP_RATIO = 200  # deflate reaches ~10 on real GIS data; a bomb reaches thousands
MAX_ZIP_MEMBERS = 10_000


def reject_remote(text: str, parameter: str = "path") -> None:
    """Refuses URLs and GDAL virtual file system prefixes."""
    lowered = str(text).strip().lower()
    # Path() turns "http://h/x" into "http:/h/x": any "scheme:/" start is a URL too.
    if "://" in lowered or "/vsi" in lowered or re.match(r"^[a-z][a-z0-9+.-]*:/", lowered):
        raise IngestRejected(
            "Chỉ nhận tệp trên máy chủ, không nhận URL hay đường dẫn /vsi….",
            "Only local files are accepted, not URLs or /vsi… paths.",
            parameter=parameter,
        )


def check_size(path: Path) -> None:
    """Refuses files (or folders) larger than the upload limit."""
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    if size > max_upload_bytes():
        raise IngestRejected(
            f"Tệp quá lớn ({size // MB} MB; giới hạn {max_upload_bytes() // MB} MB).",
            f"The file is too large ({size // MB} MB; the limit is {max_upload_bytes() // MB} MB).",
            parameter="path",
        )


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _text_start(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def _looks_textual(head: bytes) -> bool:
    return b"\x00" not in head


# Extension -> test of the first bytes. Text formats must not start like XML unless they are KML.
_SNIFF = {
    ".shp": lambda h: h[:4] == b"\x00\x00\x27\x0a",
    ".gpkg": lambda h: h.startswith(b"SQLite format 3\x00"),
    ".geojson": lambda h: _text_start(h)[:1] in (b"{", b"["),
    ".json": lambda h: _text_start(h)[:1] in (b"{", b"["),
    ".geojsonl": lambda h: _text_start(h)[:1] in (b"{", b"\x1e"),
    ".geojsons": lambda h: _text_start(h)[:1] in (b"{", b"\x1e"),
    ".kml": lambda h: _text_start(h)[:1] == b"<" and b"<kml" in h.lower(),
    ".csv": lambda h: _looks_textual(h) and not _text_start(h).startswith(b"<"),
    ".zip": lambda h: h[:4] == b"PK\x03\x04",
    ".kmz": lambda h: h[:4] == b"PK\x03\x04",
    ".tif": lambda h: h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
    ".tiff": lambda h: h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
}


def check_content(path: Path) -> None:
    """Refuses a file whose first bytes are not what its extension says (e.g. a VRT renamed .tif)."""
    suffix = path.suffix.lower()
    if path.is_dir():
        if suffix == ".gdb" and any(p.suffix == ".gdbtable" for p in path.iterdir()):
            return
        raise IngestRejected(
            f"Thư mục {path.name} không phải File Geodatabase.", f"The folder {path.name} is not a File Geodatabase.",
            parameter="path",
        )
    test = _SNIFF.get(suffix)
    head = _head(path)
    if not head:
        raise IngestRejected(f"Tệp {path.name} rỗng.", f"The file {path.name} is empty.", parameter="path")
    if test is None or not test(head):
        raise IngestRejected(
            f"Nội dung tệp {path.name} không đúng định dạng {suffix or '(không có phần mở rộng)'}.",
            f"The content of {path.name} is not what its extension {suffix or '(none)'} says.",
            parameter="path",
        )
    if suffix == ".kml":
        check_xml(path)


_DTD = re.compile(rb"<!\s*(doctype|entity)", re.I)


def check_xml(path: Path) -> None:
    """Refuses XML declaring a DOCTYPE or ENTITY (external entities, entity-expansion bombs)."""
    with path.open("rb") as handle:
        tail = b""
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            if _DTD.search(tail + chunk):
                raise IngestRejected(
                    "Tệp KML chứa khai báo DOCTYPE/ENTITY; không được chấp nhận.",
                    "The KML declares a DOCTYPE or ENTITY, which is not accepted.",
                    parameter="path",
                )
            tail = chunk[-16:]


def _member_path(name: str) -> PurePosixPath:
    """The member's relative path, refusing absolute paths, drive letters and '..'."""
    clean = name.replace("\\", "/")
    member = PurePosixPath(clean)
    if member.is_absolute() or ".." in member.parts or re.match(r"^[A-Za-z]:", clean) or "\x00" in clean:
        raise IngestRejected(
            f"Tệp nén chứa đường dẫn không an toàn: {name[:100]}",
            f"The archive holds an unsafe path: {name[:100]}",
            parameter="path",
        )
    return member


def _bomb(name: str) -> IngestRejected:
    return IngestRejected(
        f"Tệp nén bung ra quá lớn hoặc tỉ lệ nén bất thường ({name[:100]}).",
        f"The archive expands beyond the limits (size or compression ratio) at {name[:100]}.",
        parameter="path",
    )


def extract_zip(path: Path, dest: Path) -> Path:
    """Extracts a zip into dest after checking every member; sizes are counted as bytes arrive, not trusted."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise IngestRejected("Tệp nén hỏng.", "The archive is damaged or not a zip file.", parameter="path") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise _bomb(f"{len(members)} members")
        declared = sum(m.file_size for m in members)
        if declared > max_expanded_bytes():
            raise _bomb(path.name)
        total = 0
        for info in members:
            member = _member_path(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise IngestRejected(f"Tệp nén chứa liên kết: {info.filename[:100]}",
                                     f"The archive holds a symbolic link: {info.filename[:100]}", parameter="path")
            if info.file_size > 1 * MB and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise _bomb(info.filename)
            target = dest.joinpath(*member.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, target.open("wb") as out:
                written = 0
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    written += len(chunk)
                    total += len(chunk)
                    if total > max_expanded_bytes() or written > max(info.file_size, 0) + MB:
                        raise _bomb(info.filename)
                    if written > 1 * MB and written > MAX_ZIP_RATIO * max(info.compress_size, 1):
                        raise _bomb(info.filename)
                    out.write(chunk)
    return dest


def remove_tree(path: Path | None) -> None:
    """Removes a temporary extraction folder, quietly."""
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
