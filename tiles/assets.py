"""Glyphs and sprite for MapLibre styles, served from the vendored files under static/vendor/ through a view
(not the static files handler) so that they carry CORS headers like the tiles and styles that name them."""
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from layers.errors import NotFound
from gisportal.cors import open_cors

FONT = "DejaVu Sans"  # the one fontstack the styles use (DejaVu fonts licence, see static/vendor/VERSIONS.md)
GLYPHS_DIR = Path(settings.BASE_DIR) / "static" / "vendor" / "glyphs-dejavu-sans-2.37"
FONT_DIRS = {FONT: "DejaVuSans"}
SPRITE_DIR = Path(settings.BASE_DIR) / "static" / "vendor" / "gisportal-sprite-1"
_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")
_SPRITE_FILES = {"sprite.json", "sprite.png", "sprite@2x.json", "sprite@2x.png"}
_TYPES = {".pbf": "application/x-protobuf", ".json": "application/json", ".png": "image/png"}


def _missing(what_vi: str, what_en: str) -> NotFound:
    return NotFound(f"Không có {what_vi} này.", f"No such {what_en}.")


def glyph_path(fontstack: str, glyph_range: str) -> Path:
    """The vendored file of a 256-codepoint range of the font; NotFound (404) for another font or range."""
    folder = FONT_DIRS.get(fontstack.split(",")[0].strip())  # a stack: its first font is the one we have
    match = _RANGE.fullmatch(glyph_range)
    if folder is None:
        raise _missing("phông chữ", "font")
    if match is None or int(match[1]) % 256 or int(match[2]) != int(match[1]) + 255:
        raise _missing("dải ký tự", "glyph range")
    path = GLYPHS_DIR / folder / f"{glyph_range}.pbf"
    if not path.is_file():  # ranges the map never needs (e.g. CJK) are not vendored
        raise _missing("dải ký tự", "glyph range")
    return path


def _file(path: Path) -> HttpResponse:
    response = FileResponse(path.open("rb"), content_type=_TYPES[path.suffix])
    response["Cache-Control"] = "public, max-age=86400"
    return response


@open_cors
@require_safe
def glyphs_view(request: HttpRequest, fontstack: str, glyph_range: str) -> HttpResponse:
    """/tiles/fonts/{fontstack}/{start}-{end}.pbf — SDF glyphs (protobuf) for MapLibre's labels."""
    return _file(glyph_path(fontstack, glyph_range))


@open_cors
@require_safe
def sprite_view(request: HttpRequest, name: str) -> HttpResponse:
    """/tiles/sprite/sprite[@2x].json|png — the style's icons and their index."""
    if name not in _SPRITE_FILES:
        raise _missing("biểu tượng", "sprite file")
    return _file(SPRITE_DIR / name)

