"""The one record builder of the catalog for harvesters: a public Layer as a metadata record.

CSW (opendata/csw*.py, through pycsw), ISO 19139 (opendata/iso19139.py) and OGC API – Records
(opendata/records_api.py) all render these records, so every door says the same thing about a layer.
Fields follow QCVN 42:2020/BTNMT (title, abstract, keywords, bounding box, reference system, lineage, update
frequency, responsible organisation, licence, dates), in Vietnamese and English. No personal data: who
loaded or edited a layer is never named.
"""
import datetime as dt
import re
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Max, Q, QuerySet

from layers.models import Layer
from layers.selectors import layers_visible_to
from layers.vn2000 import VN2000_CRS
from opendata.dcat import FORMAT_NAMES, MEDIA_TYPES, contact_email, publisher
from opendata.ows.catalog import ows_name

# Catalog categories as ISO 19115 MD_TopicCategoryCode values.
TOPICS = {"administrative": "boundaries", "planning": "planningCadastre", "land": "planningCadastre",
          "infrastructure": "structure", "environment": "environment", "other": "society"}
STORAGE_CRS = "EPSG:4326"
_EPSG = re.compile(r"^(?:EPSG:)?([0-9]{4,6})$", re.I)


@dataclass(frozen=True)
class Link:
    href: str
    rel: str  # OGC API – Records link relation
    type: str  # media type
    title: str
    protocol: str  # ISO 19139 CI_OnlineResource protocol (OGC:WMS, WWW:DOWNLOAD-1.0-http--download…)
    name: str = ""  # the layer's name inside a service (WMS/WFS)
    format: str = ""  # a download's format name


@dataclass(frozen=True)
class Record:
    """What a harvester learns about one public layer; text fields in (vi, en)."""

    identifier: str
    title: tuple[str, str]
    abstract: tuple[str, str]
    keywords: tuple[str, ...]
    topic: str
    kind: str  # vector | raster
    bbox: tuple[float, float, float, float] | None  # west, south, east, north (WGS 84)
    source_crs: str  # "EPSG:9210", or the storage CRS when the source's is unknown
    source_crs_name: str
    lineage: tuple[str, str]
    frequency: str  # MD_MaintenanceFrequencyCode
    organisation: str
    email: str
    licence: str
    attribution: str
    created: dt.datetime
    revised: dt.datetime | None
    links: tuple[Link, ...] = field(default=())

    @property
    def formats(self) -> list[str]:
        """Names of the download formats ('GeoJSON', 'GeoPackage'…), from the enclosure links."""
        return sorted({link.format for link in self.links if link.rel == "enclosure"})

    @property
    def both_titles(self) -> str:
        return both(*self.title)

    @property
    def both_abstracts(self) -> str:
        return both(*self.abstract)


def both(vi: str, en: str) -> str:
    """'vi / en' (one of them when the other is empty or the same)."""
    return f"{vi} / {en}" if vi and en and vi != en else (vi or en)


def public_layers() -> QuerySet[Layer]:
    """The layers that have records: public ones, by the permission rule every door uses (anonymous caller)."""
    return layers_visible_to(AnonymousUser())


def with_runs(layers: QuerySet[Layer]) -> QuerySet[Layer]:
    """Annotates what lineage is derived from: the layer's succeeded ingest runs and the last one's date."""
    ok = Q(ingest_runs__status="succeeded")
    return layers.annotate(run_count=Count("ingest_runs", filter=ok), last_run=Max("ingest_runs__finished_at", filter=ok))


def crs_of(layer: Layer) -> tuple[str, str]:
    """The source CRS as 'EPSG:n' and its name (VN-2000 names from layers.vn2000); storage CRS when unknown."""
    found = _EPSG.match((layer.source_crs or "").strip())
    if not found:
        return STORAGE_CRS, "WGS 84"
    code = int(found.group(1))
    name = VN2000_CRS[code][0] if code in VN2000_CRS else ("WGS 84" if code == 4326 else f"EPSG:{code}")
    return f"EPSG:{code}", name


def lineage(layer: Layer) -> tuple[str, str]:
    """Lineage from the layer's ingest runs and source CRS (annotated by with_runs, else read here)."""
    if not hasattr(layer, "run_count"):
        layer = with_runs(Layer.objects.filter(pk=layer.pk)).get()
    code, name = crs_of(layer)
    if layer.run_count:
        day = layer.last_run.date().isoformat() if layer.last_run else "?"
        vi = f"Nạp từ {layer.run_count} tệp nguồn (lần gần nhất ngày {day}), hệ tọa độ nguồn {name} ({code}). "
        en = f"Loaded from {layer.run_count} source file(s) (last on {day}), source reference system {name} ({code}). "
    else:
        vi = f"Tạo và cập nhật trực tiếp trên cổng, hệ tọa độ nguồn {name} ({code}). "
        en = f"Created and updated directly on the portal, source reference system {name} ({code}). "
    if code != STORAGE_CRS and int(code.split(":")[1]) in VN2000_CRS:
        vi += ("Chuyển sang WGS 84 (EPSG:4326) bằng bảy tham số chính thức của Quyết định 05/2007/QĐ-BTNMT "
               "(EPSG:6960). ")
        en += "Transformed to WGS 84 (EPSG:4326) with the official seven parameters of Decision 05/2007/QĐ-BTNMT (EPSG:6960). "
    vi += "Mọi thay đổi sau đó được kiểm tra và lưu trong lịch sử phiên bản."
    en += "Every later change is validated and kept in the version history."
    return vi, en


def links(layer: Layer, root: str) -> tuple[Link, ...]:
    """Where to get the data: the page, downloads, OGC API collection, WMS/WFS, tiles."""
    page = f"{root}data/{layer.slug}/"
    out = [Link(page, "alternate", "text/html", "Trang dữ liệu / Data page", "WWW:LINK-1.0-http--link")]
    if layer.kind == "vector":
        for ext, media in MEDIA_TYPES.items():
            out.append(Link(f"{root}data/{layer.slug}.{ext}", "enclosure", media,
                            f"Tải về / Download ({FORMAT_NAMES[ext]})", "WWW:DOWNLOAD-1.0-http--download",
                            format=FORMAT_NAMES[ext]))
        out.append(Link(f"{root}ogc/collections/{layer.slug}", "data", "application/json",
                        "OGC API – Features", "OGC:API-Features", layer.slug))
        ows = ows_name(layer.slug)
        out.append(Link(f"{root}ows?SERVICE=WMS&REQUEST=GetCapabilities", "service", "text/xml", "WMS 1.3.0",
                        "OGC:WMS", ows))
        out.append(Link(f"{root}ows?SERVICE=WFS&REQUEST=GetCapabilities", "service", "application/xml", "WFS 2.0",
                        "OGC:WFS", f"ms:{ows}"))
    out.append(Link(f"{root}tiles/{layer.slug}.json", "tiles", "application/json", "TileJSON (tiles)",
                    "WWW:LINK-1.0-http--link"))
    return tuple(out)


def record(layer: Layer, root: str) -> Record:
    """The record of one layer (`root`: the site's absolute URL ending in '/')."""
    code, name = crs_of(layer)
    return Record(
        identifier=layer.slug, title=(layer.title_vi, layer.title_en),
        abstract=(layer.description_vi or layer.title_vi, layer.description_en or layer.title_en),
        keywords=tuple(layer.keywords), topic=TOPICS.get(layer.category, "society"), kind=layer.kind,
        bbox=tuple(layer.extent.extent) if layer.extent else None, source_crs=code, source_crs_name=name,
        lineage=lineage(layer), frequency=layer.update_frequency or "asNeeded", organisation=publisher(),
        email=contact_email(), licence=layer.license, attribution=layer.attribution, created=layer.created_at,
        revised=layer.last_changed, links=links(layer, root))
