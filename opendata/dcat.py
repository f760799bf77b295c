"""The catalog for harvesters: DCAT-AP as JSON-LD (/data/catalog.jsonld) and DCAT-US (/data.json).

Only public layers, whoever asks: harvested documents end up in other portals and caches.
"""
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from gisportal.env import env_str
from layers.models import Layer
from layers.selectors import layers_visible_to
from opendata.files import FORMATS

MEDIA_TYPES = {"geojson": "application/geo+json", **{ext: media.split(";")[0] for ext, (_, media) in FORMATS.items()}}
FORMAT_NAMES = {"geojson": "GeoJSON", "gpkg": "GeoPackage", "shp.zip": "Shapefile", "csv": "CSV", "kml": "KML",
                "fgb": "FlatGeobuf", "parquet": "GeoParquet"}
OGC_FEATURES = "http://www.opengis.net/spec/ogcapi-features-1/1.0"


def _setting(name: str, default: str) -> str:
    return getattr(settings, name, None) or env_str(name, default)


def publisher() -> str:
    return _setting("OPENDATA_PUBLISHER", "Cổng thông tin không gian đô thị / City spatial data portal")


def contact_email() -> str:
    return _setting("OPENDATA_CONTACT_EMAIL", "opendata@gisportal.invalid")


def public_layers():
    return layers_visible_to(AnonymousUser()).order_by("slug")


def _bbox(layer: Layer) -> tuple[float, float, float, float] | None:
    return tuple(layer.extent.extent) if layer.extent else None


def _both(vi: str, en: str) -> list[dict]:
    return [{"@value": v, "@language": lang} for v, lang in ((vi, "vi"), (en, "en")) if v]


def _formats(layer: Layer) -> list[str]:
    return list(MEDIA_TYPES) if layer.kind == "vector" else []


def dcat_ap(root: str) -> dict:
    """DCAT-AP 2 catalog in JSON-LD: datasets, their distributions, and the OGC API as a data service."""
    datasets = []
    for layer in public_layers():
        page = f"{root}data/{layer.slug}/"
        distributions = [{
            "@id": f"{root}data/{layer.slug}.{ext}", "@type": "dcat:Distribution",
            "dct:title": f"{layer.title_en} ({FORMAT_NAMES[ext]})",
            "dcat:downloadURL": {"@id": f"{root}data/{layer.slug}.{ext}"},
            "dcat:accessURL": {"@id": page},
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[ext]}"},
            "dct:format": FORMAT_NAMES[ext],
            **({"dct:license": {"@id": layer.license}} if layer.license.startswith("http") else {}),
        } for ext in _formats(layer)]
        dataset = {
            "@id": page, "@type": "dcat:Dataset", "dct:identifier": layer.slug,
            "dct:title": _both(layer.title_vi, layer.title_en),
            "dct:description": _both(layer.description_vi, layer.description_en),
            "dcat:keyword": list(layer.keywords), "dcat:theme": layer.category,
            "dcat:landingPage": {"@id": page},
            "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher()},
            "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": publisher(),
                                  "vcard:hasEmail": {"@id": f"mailto:{contact_email()}"}},
            "dct:rights": layer.attribution, "dct:license": layer.license,
            "dcat:distribution": distributions,
        }
        if layer.last_changed:
            dataset["dct:modified"] = {"@value": layer.last_changed.isoformat(), "@type": "xsd:dateTime"}
        bbox = _bbox(layer)
        if bbox:
            w, s, e, n = bbox
            dataset["dct:spatial"] = {"@type": "dct:Location", "dcat:bbox": {
                "@value": f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))",
                "@type": "http://www.opengis.net/ont/geosparql#wktLiteral"}}
        datasets.append(dataset)
    return {
        "@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
                     "foaf": "http://xmlns.com/foaf/0.1/", "vcard": "http://www.w3.org/2006/vcard/ns#",
                     "xsd": "http://www.w3.org/2001/XMLSchema#"},
        "@id": f"{root}data/catalog.jsonld", "@type": "dcat:Catalog",
        "dct:title": _both("Dữ liệu mở không gian đô thị", "City open spatial data"),
        "dct:description": _both("Danh mục dữ liệu mở của cổng GIS.", "Open data catalog of the GIS portal."),
        "dct:publisher": {"@type": "foaf:Agent", "foaf:name": publisher()},
        "dct:language": [{"@id": "http://publications.europa.eu/resource/authority/language/VIE"},
                         {"@id": "http://publications.europa.eu/resource/authority/language/ENG"}],
        "foaf:homepage": {"@id": f"{root}data/"},
        "dcat:dataset": datasets,
        "dcat:service": [{
            "@id": f"{root}ogc/", "@type": "dcat:DataService", "dct:title": "OGC API – Features",
            "dcat:endpointURL": {"@id": f"{root}ogc/"}, "dcat:endpointDescription": {"@id": f"{root}ogc/api"},
            "dct:conformsTo": {"@id": OGC_FEATURES},
            "dcat:servesDataset": [{"@id": d["@id"]} for d in datasets
                                   if d["dcat:distribution"]],
        }, *catalog_services(root, datasets)],
    }


def catalog_services(root: str, datasets: list[dict]) -> list[dict]:
    """The catalogue's own services (records for harvesters): CSW with ISO 19139, and OGC API – Records."""
    served = [{"@id": d["@id"]} for d in datasets]
    return [
        {"@id": f"{root}csw", "@type": "dcat:DataService", "dct:title": "CSW 2.0.2 / 3.0 (ISO 19139)",
         "dcat:endpointURL": {"@id": f"{root}csw"},
         "dcat:endpointDescription": {"@id": f"{root}csw?service=CSW&version=2.0.2&request=GetCapabilities"},
         "dct:conformsTo": {"@id": "http://www.opengis.net/def/serviceType/ogc/csw"}, "dcat:servesDataset": served},
        {"@id": f"{root}records/", "@type": "dcat:DataService", "dct:title": "OGC API – Records",
         "dcat:endpointURL": {"@id": f"{root}records/"},
         "dct:conformsTo": {"@id": "http://www.opengis.net/spec/ogcapi-records-1/1.0"}, "dcat:servesDataset": served},
    ]


def dcat_us(root: str) -> dict:
    """DCAT-US 1.1 (Project Open Data) data.json, as CKAN's harvester reads it."""
    datasets = []
    for layer in public_layers():
        page = f"{root}data/{layer.slug}/"
        distribution = [{"@type": "dcat:Distribution", "title": FORMAT_NAMES[ext],
                         "downloadURL": f"{root}data/{layer.slug}.{ext}", "mediaType": MEDIA_TYPES[ext],
                         "format": FORMAT_NAMES[ext]} for ext in _formats(layer)]
        if layer.kind == "vector":
            distribution.append({"@type": "dcat:Distribution", "title": "OGC API – Features",
                                 "accessURL": f"{root}ogc/collections/{layer.slug}", "format": "API",
                                 "conformsTo": OGC_FEATURES, "describedBy": f"{root}ogc/api"})
        entry = {
            "@type": "dcat:Dataset", "identifier": f"{root}data/{layer.slug}/",
            "title": layer.title_vi if not layer.title_en else f"{layer.title_vi} / {layer.title_en}",
            "description": layer.description_vi or layer.description_en or layer.title_en,
            "keyword": list(layer.keywords) or [layer.category],
            "modified": (layer.last_changed or layer.created_at).isoformat(),
            "publisher": {"@type": "org:Organization", "name": publisher()},
            "contactPoint": {"@type": "vcard:Contact", "fn": publisher(), "hasEmail": f"mailto:{contact_email()}"},
            "accessLevel": "public", "theme": [layer.category], "landingPage": page,
            "language": ["vi", "en"], "distribution": distribution,
        }
        if layer.license:
            entry["license"] = layer.license
        if layer.attribution:
            entry["rights"] = layer.attribution
        bbox = _bbox(layer)
        if bbox:
            entry["spatial"] = ",".join(f"{v:.6f}" for v in bbox)
        datasets.append(entry)
    return {
        "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
        "@id": f"{root}data.json", "@type": "dcat:Catalog",
        "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
        "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",
        "dataset": datasets,
    }
