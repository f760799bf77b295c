"""The MapServer mapfile, generated from the catalog into OWS_DIR, never from request text.

A file per catalog version (opendata.ows.catalog.stamp): a changed layer, schema or style makes a new file on
the next request, written atomically; readers of the old one finish with it. Colours and legend labels come
from layers.styling (the one reading of a layer's style, which the map page and the MapLibre style use too).
Data comes through the `ows_features` view as the OWS role (migration opendata 0003), never the tables.
VN-2000 codes resolve to the official shift (layers.vn2000) through MapServer's own `epsg` init file: MapServer
reads "EPSG:9210" as "init=epsg:9210", and PROJ takes such codes from a file named `epsg` on its search path
before its database (whose default operation for Ho Chi Minh City, EPSG:5194, is 0.8 m off).
"""
import os
from dataclasses import replace
import re
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils import timezone
from psycopg2 import sql

from layers.db import PRIMARY
from layers.params import SUPPORTED_SRIDS
from layers.styling import OUTLINE_COLOUR, layer_style
from layers.vn2000 import VN2000_CRS, proj_string
from opendata.dcat import contact_email, publisher
from opendata.ows.catalog import GEOMETRY_TYPES, ROOT_NAME, OwsLayer, column_of, published, stamp

MAP_NAME = ROOT_NAME
STALE_SECONDS = 600
FORMAT_VERSION = "7"  # bump when the generator's output changes, so files are rewritten
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
GML_TYPES = {"integer": "Long", "number": "Real", "date": "Date"}
MAP_TYPES = {"point": "POINT", "line": "LINE", "polygon": "POLYGON"}
DRAW_KINDS = {"point": "circle", "line": "line", "polygon": "fill"}
_XML_ILLEGAL_CODES = [*range(1, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF]
_XML_ILLEGAL = re.compile("[" + "".join(re.escape(chr(c)) for c in _XML_ILLEGAL_CODES) + "]")
_XML_ILLEGAL_SQL = "(" + "||".join(f"chr({c})" for c in _XML_ILLEGAL_CODES) + ")"
_PLAIN_KEY = re.compile(r"[^'\"\\$\x00-\x1f\x7f]+")
_SAFE_VALUE = re.compile(r"[\w .,/:+()-]{0,100}")
EPSG_EXTRA = {
    4326: "+proj=longlat +datum=WGS84 +no_defs",
    3857: "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null "
          "+wktext +no_defs",
}


def ows_dir() -> Path:
    return Path(getattr(settings, "OWS_DIR", settings.VAR_DIR / "ows"))


def text(value) -> str:
    """A mapfile string from catalog text: double-quoted; quotes, backslashes and line breaks replaced, characters
    XML cannot hold dropped (MapServer copies it into capabilities)."""
    clean = _XML_ILLEGAL.sub("", str(value or "")).replace("\\", "/").replace('"', "”").replace("\r", " ").replace("\n", " ")
    return f'"{clean}"'


def _rgb(hex_colour: str) -> str:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    return " ".join(str(int(value[i:i + 2], 16)) for i in (0, 2, 4))


def connection_string() -> str:
    """libpq parameters of the OWS role (settings OWS_DB_USER / OWS_DB_PASSWORD), on the platform's database."""
    # MapServer connects by itself, to the primary: the mapfile is written once for every request, and a
    # replica named in it would have no fallback when it is down (layers/db.py gives the portal's own reads one).
    db = connections[PRIMARY].settings_dict
    parts = {"host": db.get("HOST") or "", "port": str(db.get("PORT") or ""), "dbname": db["NAME"],
             "user": settings.OWS_DB_USER, "password": settings.OWS_DB_PASSWORD}
    # Every MapServer query stops at OWS_TIMEOUT (the role's own ceiling is set by migration opendata 0004).
    # No JIT: a map request is one short query per layer, and compiling its expressions cost ~270 ms of
    # a 100,000-parcel GetMap's ~400. No parallel workers either, as for the portal's own sessions (settings).
    timeout = (f"options='-c statement_timeout={max(1, int(settings.OWS_TIMEOUT)) * 1000} -c jit=off "
               "-c max_parallel_workers_per_gather=0'")
    return " ".join([*(f"{key}={value}" for key, value in parts.items() if value and " " not in value), timeout])


def _sql_text(value: str) -> str:
    """An SQL text literal that fits inside the mapfile's single-quoted DATA string: dollar-quoted, or built
    from chr() codes when the text holds a quote, backslash, '$' or a control character."""
    if _PLAIN_KEY.fullmatch(value):
        return f"$k${value}$k$"
    return "(" + "||".join(f"chr({ord(ch)})" for ch in value) + ")" if value else "$k$$k$"


def data_sql(item: OwsLayer) -> str:
    """The layer's DATA: the view's rows of this layer, public fields as typed columns (names from the catalog)."""
    connections[PRIMARY].ensure_connection()
    conn = connections[PRIMARY].connection
    columns = ["id AS feature_id", "geom"]
    for field in item.fields:
        literal = _sql_text(field.key)
        key = f"properties->>{literal}"
        if field.type in ("integer", "number"):
            value = f"CASE WHEN jsonb_typeof(properties->{literal}) = $k$number$k$ THEN ({key})::numeric END"
        else:  # characters XML 1.0 cannot hold (C0 controls but tab and line breaks, U+FFFE/FFFF) are dropped
            value = f"translate({key}, {_XML_ILLEGAL_SQL}, $k$$k$)"
        columns.append(f"{value} AS {sql.Identifier(field.name).as_string(conn)}")
    # Only this entry's geometry family: MapServer would drop the others from results but count them in hits.
    kinds = ", ".join(f"$k${kind}$k$" for kind in GEOMETRY_TYPES[item.family])
    query = (f"SELECT {', '.join(columns)} FROM ows_features WHERE layer_id = {int(item.layer.pk)} "
             f"AND upper(GeometryType(geom)) IN ({kinds}) ORDER BY id")
    return f"'geom FROM ({query}) AS t USING UNIQUE feature_id USING SRID=4326'"


def _classes(item: OwsLayer) -> list[str]:
    style = layer_style(item.layer)
    style = replace(style, kind=DRAW_KINDS[item.family])
    column = column_of(item, style.attribute) if style.attribute else None
    rules = [r for r in style.rules if column and _SAFE_VALUE.fullmatch(r.value)]
    out = []
    for rule in rules:
        out.append(_class(rule.label_vi, style, rule.color, f'("[{column}]" = "{rule.value}")'))
    out.append(_class("Khác" if rules else item.layer.title_vi, style, style.default, None))
    return out


def _class(name: str, style, colour: str, expression: str | None) -> str:
    if style.kind == "circle":
        drawn = f'SYMBOL "circle" SIZE 8 COLOR {_rgb(colour)} OUTLINECOLOR {_rgb(OUTLINE_COLOUR)}'
    elif style.kind == "line":
        drawn = f"COLOR {_rgb(colour)} WIDTH 2"
    elif style.fill:
        drawn = f"COLOR {_rgb(colour)} OPACITY 70 OUTLINECOLOR {_rgb(OUTLINE_COLOUR)} WIDTH 0.5"
    else:
        drawn = f"OUTLINECOLOR {_rgb(colour)} WIDTH 1.5"
    condition = f"\n      EXPRESSION {expression}" if expression else ""
    return f"    CLASS\n      NAME {text(name)}{condition}\n      STYLE {drawn} END\n    END"


def _layer(item: OwsLayer) -> str:
    layer = item.layer
    abstract_vi, abstract_en = layer.description_vi or layer.title_vi, layer.description_en or layer.title_en
    if item.siblings:  # one catalog layer holding several geometry kinds is served as one name per kind
        abstract_vi += f" (Các loại hình học khác của lớp này: {', '.join(item.siblings)}.)"
        abstract_en += f" (This layer's other geometry kinds: {', '.join(item.siblings)}.)"
    renamed = "; ".join(f"{f.key} → {f.name}" for f in item.fields if f.key != f.name)
    if renamed:  # a key that is no XML name, repeats another but for case, or is reserved is served under an alias
        abstract_vi += f" (Trường đổi tên: {renamed}.)"
        abstract_en += f" (Renamed fields: {renamed}.)"
    metadata = {
        "ows_title": layer.title_vi, "ows_title.vie": layer.title_vi, "ows_title.eng": layer.title_en,
        "ows_abstract": abstract_vi, "ows_abstract.vie": abstract_vi, "ows_abstract.eng": abstract_en,
        "ows_keywordlist": ",".join(k.replace(",", " ") for k in layer.keywords or []),
        "gml_include_items": "all", "gml_featureid": "feature_id", "gml_feature_id_type": "Long",
        "wms_include_items": "all", "wfs_getfeature_formatlist": "geojson",
        # GML coordinates with 9 decimals: 1e-9 degree is 0.1 mm (MapServer's default 6 is 0.1 m); in metres harmless
        "wfs_geometry_precision": "9",
        "wms_getfeatureinfo_formatlist": "geojson",
    }
    for field in item.fields:
        metadata[f"gml_{field.name}_type"] = GML_TYPES.get(field.type, "Character")
        metadata[f"gml_{field.name}_alias"] = field.name
    if layer.extent is not None:
        metadata["ows_extent"] = " ".join(f"{v:.6f}" for v in layer.extent.extent)
    lines = "\n".join(f"      {text(k)} {text(v)}" for k, v in metadata.items() if v != "")
    return "\n".join([
        "  LAYER",
        f"    NAME {text(item.name)}",
        f"    TYPE {MAP_TYPES[item.family]}",
        "    STATUS ON",
        "    CONNECTIONTYPE POSTGIS",
        f"    CONNECTION {text(connection_string())}",
        f"    DATA {data_sql(item)}",
        '    TEMPLATE "query"',  # any value: it makes the layer queryable (GetFeatureInfo); outputs are built in
        '    PROJECTION "init=epsg:4326" END',
        f"    METADATA\n{lines}\n    END",
        *_classes(item),
        "  END",
    ])


def srs_list() -> str:
    return " ".join(f"EPSG:{srid}" for srid in SUPPORTED_SRIDS)


def _inspire(layers: dict[str, OwsLayer]) -> dict[str, str]:
    """MapServer 8's WMS answers LANGUAGE (vie, eng) only with INSPIRE's extended capabilities, which also
    declare the two languages; these are their mandatory fields."""
    changes = [item.layer.last_changed for item in layers.values() if item.layer.last_changed]
    revised = (max(changes) if changes else timezone.now()).date().isoformat()
    return {"wms_inspire_capabilities": "embed", "wms_inspire_resourcelocator": "/data/",
            "wms_inspire_temporal_reference": revised, "wms_inspire_metadatadate": revised,
            "wms_inspire_mpoc_name": publisher(), "wms_inspire_mpoc_email": contact_email(),
            "wms_inspire_keyword": "infoMapAccessService"}


def render(layers: dict[str, OwsLayer], directory: Path) -> str:
    """The whole mapfile as text."""
    title_vi, title_en = "Dữ liệu không gian TP. Hồ Chí Minh", "Ho Chi Minh City spatial data"
    metadata = {
        "ows_title": title_vi, "ows_title.vie": title_vi, "ows_title.eng": title_en,
        "ows_abstract": "Dữ liệu mở của gisportal qua WMS 1.3.0 và WFS 2.0.",
        "ows_abstract.eng": "gisportal open data through WMS 1.3.0 and WFS 2.0.",
        "ows_languages": "vie,eng", "ows_encoding": "UTF-8",
        "ows_srs": srs_list(), "wms_srs": f"{srs_list()} CRS:84",
        "wms_enable_request": "GetCapabilities GetMap GetFeatureInfo GetLegendGraphic",
        "wfs_enable_request": "GetCapabilities DescribeFeatureType GetFeature ListStoredQueries DescribeStoredQueries",
        "ows_sld_enabled": "false", "wms_allow_getmap_without_styles": "true",
        "wms_getfeatureinfo_formatlist": "geojson", "wfs_getfeature_formatlist": "geojson",
        "wms_getmap_formatlist": "image/png,image/jpeg", "ows_contactperson": "gisportal",
        "wfs_maxfeatures": str(settings.OWS_MAX_FEATURES), "wfs_compute_number_matched": "true",
        "wms_rootlayer_title": title_vi, "wms_rootlayer_title.vie": title_vi, "wms_rootlayer_title.eng": title_en,
        **_inspire(layers), "ows_fees": "none", "ows_accessconstraints": "none",
        "ows_contactorganization": "gisportal",
    }
    meta = "\n".join(f"      {text(k)} {text(v)}" for k, v in metadata.items())
    proj = directory / "proj"
    return "\n".join([
        "MAP",
        f"  NAME {text(MAP_NAME)}",
        "  STATUS ON",
        "  EXTENT -180 -90 180 90",
        "  SIZE 512 512",
        f"  MAXSIZE {int(settings.OWS_MAX_SIZE)}",
        "  UNITS DD",
        "  IMAGECOLOR 255 255 255",
        f'  CONFIG "PROJ_DATA" {text(proj)}',
        f'  CONFIG "PROJ_LIB" {text(proj)}',
        *([f"  FONTSET {text(directory / 'fonts.txt')}"] if Path(FONT).exists() else []),
        '  PROJECTION "init=epsg:4326" END',
        '  SYMBOL NAME "circle" TYPE ELLIPSE FILLED TRUE POINTS 1 1 END END',
        '  OUTPUTFORMAT NAME "png" DRIVER "AGG/PNG" MIMETYPE "image/png" IMAGEMODE RGBA EXTENSION "png" END',
        '  OUTPUTFORMAT NAME "jpeg" DRIVER "AGG/JPEG" MIMETYPE "image/jpeg" IMAGEMODE RGB EXTENSION "jpg" END',
        '  OUTPUTFORMAT NAME "geojson" DRIVER "OGR/GEOJSON" MIMETYPE "application/json; subtype=geojson"',
        '    IMAGEMODE FEATURE',
        '    FORMATOPTION "STORAGE=stream" FORMATOPTION "FORM=SIMPLE" FORMATOPTION "USE_FEATUREID=true" END',
        '  LEGEND KEYSIZE 20 12 STATUS OFF',
        # Vietnamese legend labels need a TrueType font (fonts-dejavu-core); MapServer's bitmap font is ASCII only.
        '    LABEL TYPE TRUETYPE FONT "sans" SIZE 9 COLOR 0 0 0 END' if Path(FONT).exists()
        else '    LABEL TYPE BITMAP SIZE SMALL COLOR 0 0 0 END',
        "  END",
        f"  WEB\n    METADATA\n{meta}\n    END\n  END",
        *(_layer(item) for item in layers.values()),
        "END",
        "",
    ])


def _write(path: Path, content: str) -> None:
    """Writes a file atomically (readers see the old or the new file, never half of one)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(content)
    os.replace(tmp, path)


def _support_files(directory: Path) -> None:
    """The PROJ `epsg` init file (VN-2000 pinned), proj.db beside it, the font list and MapServer's config."""
    proj = directory / "proj"
    proj.mkdir(parents=True, exist_ok=True)
    codes = {**EPSG_EXTRA, **{srid: proj_string(srid).replace(" +type=crs", "") for srid in VN2000_CRS}}
    _write(proj / "epsg", "".join(f"<{srid}> {definition} <>\n" for srid, definition in codes.items()))
    database = proj / "proj.db"
    if not database.exists():
        source = Path(getattr(settings, "OWS_PROJ_DB", "/usr/share/proj/proj.db"))
        try:
            database.symlink_to(source)
        except FileExistsError:  # another worker made it meanwhile
            pass
    _write(directory / "fonts.txt", f"sans {FONT}\n")
    pattern = "^" + re.escape(str(directory)) + r"/[a-zA-Z0-9_-]+\.map$"
    _write(directory / "mapserver.conf", f'CONFIG\n  ENV\n    MS_MAP_PATTERN {text(pattern)}\n  END\nEND\n')


def current_mapfile() -> tuple[Path, dict[str, OwsLayer]]:
    """The mapfile for the catalog as it is now (written when missing), and the layers it publishes."""
    layers = published()
    directory = ows_dir()
    database = re.sub(r"[^a-zA-Z0-9_]", "_", connections[PRIMARY].settings_dict["NAME"])
    path = directory / f"{database}-{stamp(layers, FORMAT_VERSION + connection_string())}.map"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        _support_files(directory)
        _write(path, render(layers, directory))
        _forget_old(directory, database, keep=path)
    return path, layers


def _forget_old(directory: Path, database: str, *, keep: Path) -> None:
    """Removes this database's mapfiles older than STALE_SECONDS (a run still reading one has long finished)."""
    now = time.time()
    for old in directory.glob(f"{database}-*.map"):
        try:
            if old != keep and now - old.stat().st_mtime > STALE_SECONDS:
                old.unlink()
        except FileNotFoundError:  # another worker removed it meanwhile
            pass
