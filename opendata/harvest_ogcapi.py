"""OGC API – Features reader: the collection's CRS list, then /items pages following `next` links (GeoJSON).
The native (storage) CRS is asked for when offered, so VN-2000 is transformed here with the official parameters;
else CRS84."""
from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from opendata.harvest_read import (CRS84, Harvested, crs_from_name, east_first, fetch_json, fetch_json_answer, garbage,
                                   geojson_geometry, keyed, max_features, northing_first, page_size, too_many,
                                   with_query)

GEOJSON_TYPES = ("application/geo+json", "application/json")


def collection_url(url: str, remote_layer: str) -> str:
    """The collection's URL: the source URL itself, or the landing page's /collections/{remote_layer}."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if remote_layer:
        path = f"{path}/collections/{quote(remote_layer, safe='')}"
    elif "/collections/" not in path:
        raise garbage(url, "thiếu mã bộ sưu tập (--remote-layer)", "no collection id (--remote-layer)")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def choose_crs(collection: dict) -> str:
    """The storage CRS when the server offers it by `crs=` (OGC API – Features Part 2), else CRS84."""
    offered = [str(c) for c in collection.get("crs") or [] if isinstance(c, str)]
    storage = collection.get("storageCrs")
    if isinstance(storage, str) and storage in offered and storage != CRS84:
        return storage
    return CRS84


def _next_link(page: dict, url: str) -> str | None:
    for link in page.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            if link.get("type") in (None, "", *GEOJSON_TYPES):
                return urljoin(url, str(link["href"]))
    return None


def _check_content_crs(url: str, header: str, asked: str) -> None:
    """Part 2: the answer names its CRS in Content-Crs (<uri>); one other than asked for is refused."""
    named = header.strip().strip("<>").strip()
    if named and crs_from_name(named) != crs_from_name(asked):
        raise garbage(url, f"Content-Crs {named[:100]} khác CRS đã yêu cầu",
                      f"Content-Crs {named[:100]} is not the CRS asked for")


def _features(page: dict, url: str) -> list:
    features = page.get("features")
    if page.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise garbage(url, "không phải FeatureCollection", "not a GeoJSON FeatureCollection")
    return features


def read(*, url: str, remote_layer: str, key: str) -> Harvested:
    """Every feature of the collection, paged, within the feature cap."""
    base = collection_url(url, remote_layer)
    collection = fetch_json(with_query(base, f="json"))
    crs_name = choose_crs(collection)
    crs = crs_from_name(crs_name)
    swap = crs_name != CRS84 and northing_first(crs)  # Part 2: coordinates in the CRS's own axis order
    out = Harvested(crs=crs, crs_name=crs_name, key=key)
    limit = max_features()
    page_url = with_query(f"{base}/items", f="json", limit=page_size(), crs=None if crs_name == CRS84 else crs_name)
    seen: set[str] = set()
    while page_url:
        if page_url in seen:
            raise garbage(page_url, "liên kết next lặp lại", "a next link that loops")
        seen.add(page_url)
        page, answer = fetch_json_answer(page_url)
        _check_content_crs(page_url, answer.header("content-crs"), crs_name)
        matched = page.get("numberMatched")
        if isinstance(matched, int) and matched > limit:
            raise too_many(matched)
        for feature in _features(page, page_url):
            if not isinstance(feature, dict):
                raise garbage(page_url, "đối tượng không hợp lệ", "a feature that is not an object")
            props = keyed(page_url, feature.get("properties"), key, feature.get("id"))
            out.rows.append((props, east_first(geojson_geometry(page_url, feature.get("geometry")), swap)))
            if len(out.rows) > limit:
                raise too_many(f"> {limit}")
        page_url = _next_link(page, page_url)
    return out
