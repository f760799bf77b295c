"""Photos come out as plain JPEGs with no metadata; bombs and non-images are refused; receipt codes check themselves."""
import io
import struct
import zlib

import pytest
from PIL import Image

from layers.errors import DomainError
from portal import codes
from portal.report_photos import clean_photo
from tests.portal.conftest import jpeg_bytes


def test_a_photo_with_gps_exif_comes_out_without_any_metadata():
    raw = jpeg_bytes((80, 60), gps=True)
    with Image.open(io.BytesIO(raw)) as original:
        assert original.getexif().get_ifd(0x8825)  # the fixture really carries GPS
        assert original.info.get("icc_profile")
    cleaned = clean_photo(raw)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == "JPEG" and image.size == (80, 60)
        assert len(image.getexif()) == 0 and not image.getexif().get_ifd(0x8825)
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment"} & set(image.info)
    assert b"Exif" not in cleaned and b"PhoneMaker" not in cleaned and b"ICC_PROFILE" not in cleaned


def test_xmp_and_png_text_are_dropped_too():
    image = Image.new("RGBA", (30, 20), (0, 0, 255, 0))
    out = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", "<x:xmpmeta><GPSLatitude>10.78</GPSLatitude></x:xmpmeta>")
    image.save(out, "PNG", pnginfo=info)
    cleaned = clean_photo(out.getvalue())
    assert b"xmpmeta" not in cleaned and b"GPSLatitude" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as result:
        assert result.mode == "RGB" and min(result.getpixel((5, 5))) > 245  # transparency laid on white


def test_a_large_photo_is_scaled_down(settings):
    settings.GISPORTAL_REPORTS_PHOTO_MAX_SIDE = 100
    with Image.open(io.BytesIO(clean_photo(jpeg_bytes((400, 200))))) as image:
        assert image.size == (100, 50)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size in a few bytes (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data", [
    _png_header_only(100_000, 100_000),  # 10 gigapixels claimed
    _png_header_only(50_000, 1_000),  # over the 40 Mpx cap
])
def test_decompression_bombs_are_refused_before_decoding(data):
    with pytest.raises(DomainError) as refused:
        clean_photo(data)
    assert refused.value.status == 400 and "điểm ảnh" in refused.value.message_vi and "pixels" in refused.value.message_en


@pytest.mark.parametrize("data", [b"", b"GIF89a" + b"\0" * 40, b"%PDF-1.7\n", jpeg_bytes()[:200],
                                  b"<svg xmlns='http://www.w3.org/2000/svg'/>"])
def test_non_images_and_truncated_images_are_refused(data):
    with pytest.raises(DomainError) as refused:
        clean_photo(data) if data else clean_photo(b"\0")
    assert refused.value.status == 400 and refused.value.parameter == "photo"


def test_codes_check_themselves():
    fresh = {codes.new_code() for _ in range(200)} | {"MXVZ0SJ82"[:8] + (codes.check_character("MXVZ0SJ8") or "")}
    fresh = {c for c in fresh if len(c) == codes.LENGTH}
    assert len(fresh) >= 200
    for code in fresh:
        assert codes.normalize(code) == code
        assert codes.normalize(codes.display(code).lower()) == code  # typed with a dash, lower case
        assert all(c not in code for c in "ILOU")
        for i in range(len(code)):  # every single wrong character is caught
            for other in codes.ALPHABET:
                if other != code[i]:
                    assert codes.normalize(code[:i] + other + code[i + 1:]) is None
        for i in range(len(code) - 1):  # and every swap of two neighbours
            if code[i] != code[i + 1]:
                assert codes.normalize(code[:i] + code[i + 1] + code[i] + code[i + 2:]) is None


@pytest.mark.parametrize("typed", ["", "ABC", "0" * 9 + "0", "x" * 40, "ABCD-EFGH!", None, 12345])
def test_malformed_codes_are_none(typed):
    assert codes.normalize(typed) is None


@pytest.mark.parametrize("mode,fmt", [("CMYK", "JPEG"), ("LA", "PNG"), ("P", "PNG"), ("1", "PNG"), ("I;16", "PNG"),
                                      ("RGBA", "WEBP")])
def test_every_colour_mode_phones_send_comes_out_rgb_jpeg(mode, fmt):
    out = io.BytesIO()
    Image.new(mode, (20, 10)).save(out, fmt)
    with Image.open(io.BytesIO(clean_photo(out.getvalue()))) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (20, 10))


def test_an_animated_image_gives_its_first_frame():
    frames = [Image.new("RGB", (20, 10), (250 - 100 * i, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    with Image.open(io.BytesIO(clean_photo(out.getvalue()))) as image:
        assert image.getpixel((5, 5))[0] > 230
