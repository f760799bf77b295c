"""The sheet's map, drawn on the server as SVG: the parcel, its neighbours, the zones and road reserves it meets,
numbered corners, a scale bar and a north arrow. Coordinates are VN-2000 / TM-3 105-45 metres (x east, y north),
so the map is true to scale; grid north is within a fraction of a degree of true north in the city.
"""
from xml.sax.saxutils import escape

WIDTH, HEIGHT, PAD = 640.0, 420.0, 24.0
MARGIN_M = 30.0  # metres of surroundings shown around the parcel (layers/sheet_facts.py reads ~40 m around it)
ZONE_FILLS = ("#fde9c8", "#dcefd6", "#d8e6f6", "#f3dced", "#eeeeca", "#d9f0ef")
NICE_LENGTHS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)


class _Frame:
    """Metres → SVG pixels for an extent fitted into the drawing area, aspect kept, y pointing down."""

    def __init__(self, west: float, south: float, east: float, north: float):
        self.scale = min((WIDTH - 2 * PAD) / max(east - west, 1.0), (HEIGHT - 2 * PAD) / max(north - south, 1.0))
        self.x0 = west - ((WIDTH - 2 * PAD) / self.scale - (east - west)) / 2
        self.y0 = north + ((HEIGHT - 2 * PAD) / self.scale - (north - south)) / 2

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return PAD + (x - self.x0) * self.scale, PAD + (self.y0 - y) * self.scale


def _rings(geometry: dict | None) -> list[tuple[list, bool]]:
    """(coordinates, closed) of every ring and line in a GeoJSON geometry (points are not drawn)."""
    if not geometry:
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        return [(ring, True) for ring in coords]
    if kind == "MultiPolygon":
        return [(ring, True) for polygon in coords for ring in polygon]
    if kind == "LineString":
        return [(coords, False)]
    if kind == "MultiLineString":
        return [(line, False) for line in coords]
    if kind == "GeometryCollection":
        return [ring for part in geometry.get("geometries", []) for ring in _rings(part)]
    return []


def _path(frame: _Frame, geometry: dict | None) -> str:
    parts = []
    for ring, closed in _rings(geometry):
        points = [frame.xy(x, y) for x, y, *_ in ring]
        if points:
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + (" Z" if closed else ""))
    return " ".join(parts)


def _centre(geometry: dict | None) -> tuple[float, float] | None:
    """The area-weighted centre of the largest outer ring (a label's place)."""
    rings = [ring for ring, closed in _rings(geometry) if closed and len(ring) > 3]
    if not rings:
        return None
    ring = max(rings, key=lambda r: abs(_signed_area(r)))
    area = _signed_area(ring)
    if abs(area) < 1e-9:
        return ring[0][0], ring[0][1]
    cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:])) / (6 * area)
    cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:])) / (6 * area)
    return cx, cy


def _signed_area(ring: list) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:])) / 2


def _label(frame: _Frame, geometry: dict | None, text, css: str) -> str:
    centre = _centre(geometry)
    if centre is None or text in (None, ""):
        return ""
    x, y = frame.xy(*centre)
    if not (PAD <= x <= WIDTH - PAD and PAD <= y <= HEIGHT - PAD):
        return ""
    return f'<text x="{x:.1f}" y="{y:.1f}" class="{css}">{escape(str(text))}</text>'


def _scale_bar(frame: _Frame, unit: str) -> str:
    target = (WIDTH - 2 * PAD) / frame.scale / 4
    length = max([n for n in NICE_LENGTHS if n <= target] or [NICE_LENGTHS[0]])
    px, x, y = length * frame.scale, PAD + 6, HEIGHT - PAD + 4
    return (f'<g class="scale"><rect x="{x - 4}" y="{y - 16}" width="{px + 44:.1f}" height="22" fill="#fff" opacity="0.85"/>'
            f'<path d="M{x},{y - 6} L{x},{y} L{x + px:.1f},{y} L{x + px:.1f},{y - 6}" fill="none" stroke="#000" stroke-width="1.5"/>'
            f'<text x="{x}" y="{y - 8}" class="small">0</text>'
            f'<text x="{x + px + 3:.1f}" y="{y - 2}" class="small">{length} {unit}</text></g>')


def _north_arrow(letter: str) -> str:
    x, y = WIDTH - PAD - 14, PAD + 8
    return (f'<g class="north"><path d="M{x},{y} L{x + 8},{y + 26} L{x},{y + 20} L{x - 8},{y + 26} Z" fill="#000"/>'
            f'<text x="{x}" y="{y + 40}" class="north-letter">{escape(letter)}</text></g>')


def sheet_svg(drawing: dict, corners: list[list], *, north_letter: str = "B", unit: str = "m") -> str:
    """The map as an SVG document (corners: [n, X northing, Y easting, ...] as on the sheet's table)."""
    xs = [row[2] for row in corners] or [0.0]
    ys = [row[1] for row in corners] or [0.0]
    frame = _Frame(min(xs) - MARGIN_M, min(ys) - MARGIN_M, max(xs) + MARGIN_M, max(ys) + MARGIN_M)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0f}" height="{HEIGHT:.0f}" '
           f'viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" font-family="DejaVu Sans">',
           "<style>text{font-size:11px;fill:#222}.small{font-size:10px}.zone{font-size:12px;fill:#7a4a00;"
           "font-weight:bold;text-anchor:middle}.nb{font-size:10px;fill:#555;text-anchor:middle}"
           ".corner{font-size:11px;fill:#b00;font-weight:bold}.north-letter{font-size:13px;font-weight:bold;"
           "text-anchor:middle}.own{font-size:13px;font-weight:bold;fill:#b00;text-anchor:middle}</style>",
           f'<defs><clipPath id="frame"><rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}"/>'
           '</clipPath><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#d33" stroke-width="1.5"/></pattern></defs>',
           f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="#fafafa" stroke="#888"/>',
           '<g clip-path="url(#frame)">']
    for i, (_code, geometry) in enumerate(drawing.get("zones", [])):
        out.append(f'<path d="{_path(frame, geometry)}" fill="{ZONE_FILLS[i % len(ZONE_FILLS)]}" stroke="#c08a2b" '
                   'stroke-width="1.2" stroke-dasharray="6 3" fill-rule="evenodd"/>')
    for geometry in drawing.get("reserves", []):
        out.append(f'<path d="{_path(frame, geometry)}" fill="url(#hatch)" stroke="#d33" stroke-width="0.8" '
                   'fill-opacity="0.6" fill-rule="evenodd"/>')
    for _number, geometry in drawing.get("neighbours", []):
        out.append(f'<path d="{_path(frame, geometry)}" fill="none" stroke="#666" stroke-width="0.8"/>')
    out.append(f'<path d="{_path(frame, drawing.get("parcel"))}" fill="#ffffff" fill-opacity="0.55" stroke="#b00" '
               'stroke-width="2.4" fill-rule="evenodd"/>')
    out += [_label(frame, geometry, number, "nb") for number, geometry in drawing.get("neighbours", [])]
    out += [_label(frame, geometry, code, "zone") for code, geometry in drawing.get("zones", [])]
    out.append(_label(frame, drawing.get("parcel"), drawing.get("own"), "own"))
    for n, northing, easting, *_ in corners:
        x, y = frame.xy(easting, northing)
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#b00"/>'
                   f'<text x="{x + 4:.1f}" y="{y - 4:.1f}" class="corner">{n}</text>')
    out.append("</g>")
    out += [_scale_bar(frame, unit), _north_arrow(north_letter), "</svg>"]
    return "".join(out)
