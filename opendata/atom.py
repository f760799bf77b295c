"""/data/{layer}/changes.atom: the change feed as Atom 1.0 for feed readers, one entry per transaction, newest first.

A transaction, not a row: an ingest of 300,000 rows is one entry that links to the JSON feed from its first change;
a small edit lists the features it touched, each linked to its OGC API item. Entry ids are tag: URIs built from the
layer and the transaction id, so a reader never sees the same change twice as new. Built with ElementTree: every
text (titles, slugs) is escaped by the serializer, never pasted into markup.
"""
from __future__ import annotations


from django.http import HttpRequest, HttpResponse
from lxml import etree

from layers import changes
from layers.changes import Transaction
from layers.personal import personal_fields
from layers.querystring import check_known_params, check_single_values
from layers.selectors import layer_for
from opendata.changefeed import GEOJSON, absolute_url, utc_text
from opendata.dcat import publisher
from opendata.fairuse import public_api
from opendata.params import parse_int

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM = "application/atom+xml"
DEFAULT_ENTRIES, MAX_ENTRIES = 50, 200
LISTED = 20  # a transaction of at most this many changes lists them in its entry
TAG_DATE = "2025"  # the tag: URI's date (RFC 4151): fixed, so entry ids never change
KINDS = {"insert": ("thêm mới", "inserted"), "update": ("cập nhật", "updated"), "delete": ("xóa", "deleted")}


def _vi_number(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _counts(counts: dict) -> tuple[str, str]:
    parts = [(kind, counts[kind]) for kind in ("insert", "update", "delete") if counts.get(kind)]
    return (", ".join(f"{_vi_number(n)} {KINDS[k][0]}" for k, n in parts),
            ", ".join(f"{n:,} {KINDS[k][1]}" for k, n in parts))


def entry_title(tx: Transaction) -> str:
    """Vietnamese first, then English: "Nhập dữ liệu lần N: … / Ingest run N: …" or "Chỉnh sửa: … / Edit: …"."""
    vi, en = _counts(tx.counts)
    if tx.run_id:
        return f"Nhập dữ liệu lần {tx.run_id}: {vi} / Ingest run {tx.run_id}: {en}"
    return f"Chỉnh sửa: {vi} / Edit: {en}"


def _tag(request: HttpRequest, slug: str, *rest) -> str:
    host = request.get_host()
    host = host if host.endswith("]") else host.rsplit(":", 1)[0]  # the port is no part of the authority's name
    return f"tag:{host},{TAG_DATE}:data/{slug}/changes" + "".join(f"/{part}" for part in rest)


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", {k: str(v) for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _entry(feed: etree._Element, request: HttpRequest, layer, tx: Transaction, listed: list[tuple]) -> None:
    entry = _sub(feed, "entry")
    _sub(entry, "id", _tag(request, layer.slug, tx.xact))
    _sub(entry, "title", entry_title(tx))
    _sub(entry, "updated", utc_text(tx.time))
    start = changes.encode_cursor(layer, changes.position_before(tx))
    _sub(entry, "link", rel="alternate", type=GEOJSON, href=absolute_url(request, f"/data/{layer.slug}/changes", since=start))
    total = sum(tx.counts.values())
    lines_vi, lines_en = [], []
    if total <= LISTED:
        for feature_id, kind, version in listed:
            lines_vi.append(f"Đối tượng {feature_id}: {KINDS[kind][0]} (phiên bản {version})")
            lines_en.append(f"Feature {feature_id}: {KINDS[kind][1]} (version {version})")
            if kind != "delete":
                _sub(entry, "link", rel="related", type="application/geo+json", title=f"{layer.slug} {feature_id}",
                     href=absolute_url(request, f"/ogc/collections/{layer.slug}/items/{int(feature_id)}"))
    else:
        lines_vi.append(f"{_vi_number(total)} thay đổi: đọc chúng trong nguồn cấp JSON từ con trỏ {start}.")
        lines_en.append(f"{total:,} changes: read them in the JSON feed from cursor {start}.")
    _sub(entry, "summary", "\n".join(lines_vi + [""] + lines_en), type="text")


def atom_document(request: HttpRequest, layer, transactions: list[Transaction]) -> bytes:
    """The Atom 1.0 feed of these transactions (newest first) as UTF-8 XML."""
    # The default namespace is the element's own (lxml), never ElementTree's global prefix registry: a library that
    # registers prefixes there (WeasyPrint does, for the sheets' PDF metadata) turned every <entry> into <ns0:entry>.
    feed = etree.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "vi"}, nsmap={None: ATOM_NS})
    _sub(feed, "id", _tag(request, layer.slug))
    _sub(feed, "title", f"Thay đổi của lớp {layer.title_vi} / Changes to layer {layer.title_en}")
    newest = transactions[0].time if transactions else layer.last_changed or layer.created_at
    _sub(feed, "updated", utc_text(newest))
    _sub(_sub(feed, "author"), "name", publisher())
    _sub(feed, "link", rel="self", type=ATOM, href=request.build_absolute_uri())
    _sub(feed, "link", rel="alternate", type=GEOJSON, href=absolute_url(request, f"/data/{layer.slug}/changes"))
    _sub(feed, "link", rel="related", type="text/html", href=absolute_url(request, f"/data/{layer.slug}/"))
    listed = changes.transaction_changes(layer, [tx.xact for tx in transactions if sum(tx.counts.values()) <= LISTED],
                                         per=LISTED, hidden=personal_fields(layer))
    for tx in transactions:
        _entry(feed, request, layer, tx, listed.get(tx.xact, []))
    return etree.tostring(feed, encoding="utf-8", xml_declaration=True)


@public_api
def changes_atom(request: HttpRequest, layer: str) -> HttpResponse:
    """GET /data/{layer}/changes.atom[?limit=N]: the layer's last N transactions (default 50, at most 200)."""
    catalog_layer = layer_for(request.user, layer, kind="vector")
    check_single_values(request.GET)
    check_known_params(request.GET, ("limit",))
    limit = parse_int(request.GET.get("limit"), parameter="limit", default=DEFAULT_ENTRIES, minimum=1,
                      maximum=MAX_ENTRIES)
    # One document for every reader (shared caches keep it): changes of personal fields alone are not in it, so it
    # does not tell when an owner's name or ID number changed (as history pages and the JSON feed).
    transactions = changes.latest_transactions(catalog_layer, limit=limit, hidden=personal_fields(catalog_layer))
    response = HttpResponse(atom_document(request, catalog_layer, transactions), content_type=f"{ATOM}; charset=utf-8")
    response["Cache-Control"] = "public, max-age=60" if catalog_layer.is_public else "private, no-store"
    return response
