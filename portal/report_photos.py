"""A resident's photo, made safe: size-limited, opened as a real image, pixel count capped, re-encoded as a
bounded JPEG with no metadata at all (EXIF, GPS, XMP, ICC, comments): only the pixels are copied."""
import io
import warnings

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from layers.errors import InvalidParameter, PayloadTooLarge

FORMATS = ("JPEG", "PNG", "WEBP")  # what phones take and send; anything else is refused
OUT_QUALITY = 82


def max_bytes() -> int:
    return int(getattr(settings, "GISPORTAL_REPORTS_PHOTO_MAX_BYTES", 5 * 1024 * 1024))


def max_pixels() -> int:
    return int(getattr(settings, "GISPORTAL_REPORTS_PHOTO_MAX_PIXELS", 40_000_000))


def max_side() -> int:
    return int(getattr(settings, "GISPORTAL_REPORTS_PHOTO_MAX_SIDE", 1600))


def too_large() -> PayloadTooLarge:
    """The refusal of a photo over the size limit."""
    mb = max_bytes() / (1024 * 1024)
    return PayloadTooLarge(f"Ảnh quá lớn: tối đa {mb:g} MB.", f"The photo is too large: at most {mb:g} MB.",
                           parameter="photo")


def _not_an_image() -> InvalidParameter:
    return InvalidParameter("Tệp đính kèm không phải ảnh JPEG, PNG hoặc WebP hợp lệ.",
                            "The attachment is not a valid JPEG, PNG or WebP image.", parameter="photo")


def _too_many_pixels() -> InvalidParameter:
    return InvalidParameter(f"Ảnh có quá nhiều điểm ảnh: tối đa {max_pixels() // 1_000_000} triệu.",
                            f"The photo has too many pixels: at most {max_pixels() // 1_000_000} million.",
                            parameter="photo")


def clean_photo(data: bytes) -> bytes:
    """The photo as a JPEG of at most max_side() pixels a side, oriented upright, with no metadata."""
    if len(data) > max_bytes():
        raise too_large()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                # The header gives the size: a bomb is refused before a single pixel is decoded.
                if image.width * image.height > max_pixels():
                    raise _too_many_pixels()
                if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that still covers max_side()
                    image.draft("RGB", (max_side(), max_side()))
                image.load()  # the first frame only (an animated PNG or WebP gives its first picture)
                upright = ImageOps.exif_transpose(image)  # the only use of EXIF: turn the pixels as the camera meant
                pixels = _rgb(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise _not_an_image() from None
    pixels.thumbnail((max_side(), max_side()), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", pixels.size)  # a fresh image: its .info is empty, so no metadata can follow
    clean.paste(pixels)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=OUT_QUALITY, optimize=True)
    return out.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency laid on white (a screenshot with alpha stays readable)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")
