"""Builds the vendored MapLibre glyphs (SDF protobuf ranges) and sprite under static/vendor/, offline.

Run with the system Python (Debian's python3-pil and python3-numpy; the project's virtualenv has neither):
    /usr/bin/python3 scripts/make_map_assets.py
Glyphs: DejaVu Sans (Debian's fonts-dejavu-core) rendered at 24 px with a 3 px buffer and an 8 px SDF
radius, as MapLibre expects (the layout of node-fontnik/tiny-sdf); only the ranges Vietnamese text needs.
The output is committed; its sha256 sums are recorded in static/vendor/VERSIONS.md.
"""
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FONT_FILE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_NAME = "DejaVu Sans"
GLYPHS_OUT = ROOT / "static" / "vendor" / "glyphs-dejavu-sans-2.37" / "DejaVuSans"
SPRITE_OUT = ROOT / "static" / "vendor" / "gisportal-sprite-1"
# Basic Latin + Latin-1, Latin Extended-A/B, IPA/spacing modifiers, combining marks (U+0300-036F),
# Latin Extended Additional (U+1E00-1EFF: ạ ả ấ … ỹ), general punctuation (– “ ” …).
RANGES = (0, 256, 512, 768, 7680, 8192)
SIZE, BUFFER, RADIUS, CUTOFF = 24, 3, 8.0, 0.25


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(payload)
    return key + _varint(len(payload)) + payload


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 31)


def sdf(alpha: np.ndarray) -> np.ndarray:
    """A signed distance field of a glyph's coverage, padded by BUFFER, as MapLibre's bytes (edge at 191)."""
    padded = np.pad(alpha, BUFFER)
    inside = padded > 127
    ys, xs = np.indices(padded.shape)
    points = np.stack([ys.ravel(), xs.ravel()], axis=1).astype(np.float32)
    ins, outs = points[inside.ravel()], points[~inside.ravel()]
    dist = np.zeros(points.shape[0], dtype=np.float32)
    if len(ins) and len(outs):
        to_in = np.sqrt(((points[:, None, :] - ins[None, :, :]) ** 2).sum(-1)).min(1)
        to_out = np.sqrt(((points[:, None, :] - outs[None, :, :]) ** 2).sum(-1)).min(1)
        dist = np.where(inside.ravel(), -(to_out - 0.5), to_in - 0.5)
    values = np.clip(np.round(255 - 255 * (dist / RADIUS + CUTOFF)), 0, 255).astype(np.uint8)
    return values.reshape(padded.shape)


def glyph(font: ImageFont.FreeTypeFont, code: int, notdef: bytes) -> bytes | None:
    """One glyph message, or None when the font has no glyph for the code point."""
    char = chr(code)
    mask, (left, top) = font.getmask2(char, mode="L")
    width, height = mask.size
    alpha = np.array(mask, dtype=np.uint8).reshape(height, width) if width and height else np.zeros((0, 0), np.uint8)
    if code > 32 and alpha.tobytes() == notdef:
        return None
    advance = round(font.getlength(char))
    message = _field(1, 0, code)
    if width and height:
        message += _field(2, 2, sdf(alpha).tobytes())
    message += _field(3, 0, width) + _field(4, 0, height)
    message += _field(5, 0, _zigzag(left)) + _field(6, 0, _zigzag(-top)) + _field(7, 0, advance)
    return message


def write_glyphs() -> None:
    font = ImageFont.truetype(FONT_FILE, SIZE)
    notdef_mask, _ = font.getmask2("\U0010fffd", mode="L")
    notdef = np.array(notdef_mask, dtype=np.uint8).tobytes()
    folder = GLYPHS_OUT
    folder.mkdir(parents=True, exist_ok=True)
    for start in RANGES:
        name = f"{start}-{start + 255}"
        stack = _field(1, 2, FONT_NAME.encode()) + _field(2, 2, name.encode())
        for code in range(start, start + 256):
            message = glyph(font, code, notdef) if not 0xD800 <= code <= 0xDFFF else None
            if message is not None:
                stack += _field(3, 2, message)
        (folder / f"{name}.pbf").write_bytes(_field(1, 2, stack))
        print(name, file=sys.stderr)


def _marker(scale: int) -> Image.Image:
    """A map pin, 20x28 at 1x: red drop with a white dot."""
    width, height = 20 * scale, 28 * scale
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    r = 9 * scale
    cx, cy = width // 2, r + scale
    draw.polygon([(cx - r * 0.8, cy + r * 0.5), (cx + r * 0.8, cy + r * 0.5), (cx, height - scale)], fill="#c0392b")
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill="#c0392b", outline="#7b241c", width=scale)
    draw.ellipse([cx - r // 3, cy - r // 3, cx + r // 3, cy + r // 3], fill="#ffffff")
    return image


def _dot(scale: int) -> Image.Image:
    size = 12 * scale
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse([scale, scale, size - scale, size - scale], fill="#2c7fb8", outline="#ffffff",
                                  width=scale)
    return image


def write_sprite() -> None:
    SPRITE_OUT.mkdir(parents=True, exist_ok=True)
    for scale, suffix in ((1, ""), (2, "@2x")):
        icons = {"marker": _marker(scale), "dot": _dot(scale)}
        sheet = Image.new("RGBA", (sum(i.width for i in icons.values()), max(i.height for i in icons.values())))
        index, x = {}, 0
        for name, icon in icons.items():
            sheet.paste(icon, (x, 0))
            index[name] = {"x": x, "y": 0, "width": icon.width, "height": icon.height, "pixelRatio": scale}
            x += icon.width
        sheet.save(SPRITE_OUT / f"sprite{suffix}.png", optimize=True)
        (SPRITE_OUT / f"sprite{suffix}.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_sprite()
    write_glyphs()
