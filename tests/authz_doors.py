"""The authorization matrix's doors that read: one function per door, each asserting a cell's exact answer.

check() is what every cell asserts: the status, whether the layer's features appear, whether personal values
(owner's name, ID card number, home address) appear, that a refusal says why in Vietnamese and English, and
that a hidden layer answers exactly as a layer that does not exist.
"""
import json
from dataclasses import dataclass
from urllib.parse import quote

from django.conf import settings
from django.test import Client

from layers.models import Layer
from tests import authz_matrix as m
from tests.tiles.helpers import decode

GHOST = "mx-no-such-layer"
HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}


@dataclass
class Cell:
    door: str
    role: str
    state: m.State
    sw: m.StateWorld
    world: m.World
    client: Client

    @property
    def name(self) -> str:
        return f"{self.door}[{self.state.slug}][{self.role}]"

    @property
    def slug(self) -> str:
        return self.sw.layer.slug

    def id(self, key: str) -> int:
        return self.sw.ids[key]

    @property
    def sees(self) -> bool:
        return m.sees(self.role, self.state)

    @property
    def sees_personal(self) -> bool:
        return m.sees_personal(self.role, self.state)


def client_for(world: m.World, role: str) -> Client:
    """The role's client with only its session cookie (nothing a previous cell left, such as messages)."""
    client = world.clients[role]
    client.cookies.clear()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def send(client: Client, method: str, path: str, body=None, **headers):
    if method == "GET":
        return client.get(path, **headers)
    if method == "POST-FORM":
        return client.post(path, body or {}, **headers)
    return client.generic(method, path, json.dumps(body or {}), content_type="application/json", **headers)


def check(cell: Cell, response, status: int, *, shows=(), hides=(), ghost=None) -> bytes:
    """The exact answer: status, what must and must not appear, a reason in vi/en, and no more than a ghost layer."""
    data = m.body_bytes(response)
    where = f"{cell.name}: got {response.status_code} {data[:300]!r}"
    assert response.status_code == status, f"{where}; expected {status}"
    leaks = [] if cell.sees else [m.name_token(cell.state), m.title_token(cell.state)]
    leaks += [] if cell.sees_personal else m.personal_tokens(cell.state)
    for token in [*leaks, *hides]:
        assert not m.contains(data, token), f"{where}; must not carry {token!r}"
    for token in shows:
        assert m.contains(data, token), f"{where}; must carry {token!r}"
    if 400 <= status < 500:
        assert m.says_why_in_vi_and_en(response, data), f"{where}; a refusal must say why in Vietnamese and English"
    private = m.personal_tokens(cell.state) + ([] if cell.state.public else [m.name_token(cell.state), m.title_token(cell.state)])
    if any(m.contains(data, token) for token in private):  # a shared cache would hand it on to others
        assert "public" not in response.get("Cache-Control", ""), f"{where}; private data with {response['Cache-Control']}"
    if status == 404 and ghost is not None and cell.slug in ghost[1]:
        _like_a_ghost(cell, response, data, *ghost)
    return data


def _like_a_ghost(cell: Cell, response, data: bytes, method: str, path: str, body=None, headers=None) -> None:
    """A hidden layer answers as a layer that does not exist: same status, and the same JSON."""
    other = send(cell.client, method, path.replace(cell.slug, GHOST), body, **(headers or {}))
    other_data = m.body_bytes(other)
    assert other.status_code == response.status_code, f"{cell.name}: a missing layer answers {other.status_code}"
    if response.get("Content-Type", "").startswith("application/json"):
        assert json.loads(data) == json.loads(other_data), \
            f"{cell.name}: {data[:300]!r} differs from a missing layer's {other_data[:300]!r}"


def get(cell: Cell, path: str, status: int, *, html: bool = False, **kwargs) -> bytes:
    """GET as a browser (html) or as a program, and check the answer."""
    headers = HTML if html else {}
    response = send(cell.client, "GET", path, **headers)
    return check(cell, response, status, ghost=("GET", path, None, headers), **kwargs)


def seen(cell: Cell) -> int:
    return 200 if cell.sees else 404


def granted_personal(cell: Cell) -> tuple[str, ...]:
    """Doors that serve personal values to those who may see them (APIs, downloads)."""
    return tuple(m.personal_tokens(cell.state)) if cell.sees_personal else ()


# ---- reads -------------------------------------------------------------------------------------------

def door_layer_page(cell: Cell) -> None:
    get(cell, f"/data/{cell.slug}/", seen(cell), html=True, shows=[m.name_token(cell.state)] if cell.sees else [])


def _listing(cell: Cell, path: str, *, html: bool) -> None:
    data = get(cell, path, 200, html=html)
    assert m.contains(data, cell.slug) == cell.sees, f"{cell.name}: the layer listed: {not cell.sees}"


def door_map_list(cell: Cell) -> None:
    _listing(cell, "/", html=True)


def door_catalog_list(cell: Cell) -> None:
    _listing(cell, "/data/", html=True)


def door_ogc_collections(cell: Cell) -> None:
    _listing(cell, "/ogc/collections", html=False)


def _tile_path(cell: Cell) -> str:
    z, x, y = cell.world.tile
    return f"/tiles/{cell.slug}/{z}/{x}/{y}.pbf"


def _tile_answer(cell: Cell, response) -> None:
    tokens = m.personal_tokens(cell.state)  # tiles are shared by all: never a personal value, for anyone
    check(cell, response, seen(cell), shows=[m.name_token(cell.state)] if cell.sees else [], hides=tokens,
          ghost=("GET", _tile_path(cell)))
    if cell.sees:
        layers = decode(response)
        assert cell.slug in layers and layers[cell.slug]["features"], f"{cell.name}: no features in {list(layers)}"
        fields = {k for f in layers[cell.slug]["features"] for k in f["properties"]}
        assert not fields & set(m.PERSONAL_FIELDS), f"{cell.name}: personal fields in the tile: {fields}"


def door_tile(cell: Cell) -> None:
    _tile_answer(cell, cell.client.get(_tile_path(cell)))


def door_tile_cached(cell: Cell) -> None:
    """The tile first drawn for a data administrator, then asked twice: the cache obeys the same rule."""
    warm = client_for(cell.world, "admin").get(_tile_path(cell))
    assert warm.status_code == 200, f"{cell.name}: warming the cache got {warm.status_code}"
    for _ in range(2):
        _tile_answer(cell, cell.client.get(_tile_path(cell)))


def door_tilejson(cell: Cell) -> None:
    data = get(cell, f"/tiles/{cell.slug}.json", seen(cell))
    if cell.sees:
        fields = {k for layer in json.loads(data)["vector_layers"] for k in layer["fields"]}
        assert "name" in fields and not fields & set(m.PERSONAL_FIELDS), f"{cell.name}: tile fields {fields}"


def door_ogc_tile(cell: Cell) -> None:
    """OGC API – Tiles serves /tiles/'s tile (row = y, col = x): the same rule, the same ghost."""
    z, x, y = cell.world.tile
    path = f"/ogc/collections/{cell.slug}/tiles/WebMercatorQuad/{z}/{y}/{x}"
    response = cell.client.get(path)
    check(cell, response, seen(cell), shows=[m.name_token(cell.state)] if cell.sees else [],
          hides=m.personal_tokens(cell.state), ghost=("GET", path))
    if cell.sees:
        assert decode(response)[cell.slug]["features"], f"{cell.name}: no features"


def door_ogc_tileset(cell: Cell) -> None:
    data = get(cell, f"/ogc/collections/{cell.slug}/tiles/WebMercatorQuad", seen(cell))
    if cell.sees:
        fields = {k for layer in json.loads(data)["layers"] for k in layer["propertiesSchema"]["properties"]}
        assert "name" in fields and not fields & set(m.PERSONAL_FIELDS), f"{cell.name}: tileset fields {fields}"


def door_ogc_style(cell: Cell) -> None:
    """Styles are public documents: a restricted layer has none, whoever asks (404 as a missing layer)."""
    get(cell, f"/ogc/styles/{cell.slug}?f=mapbox", 200 if cell.state.public else 404)


def door_default_style(cell: Cell) -> None:
    data = get(cell, "/tiles/style.json", 200)
    assert m.contains(data, f'"{cell.slug}"') == cell.state.public, f"{cell.name}: the default style names the layer"


def door_thumbnail(cell: Cell) -> None:
    """The catalog's layer preview (issue 16): a PNG to whoever sees the layer, a missing layer's 404 to anyone
    else; shared caches only for public layers."""
    response = cell.client.get(f"/tiles/thumbnail/{cell.slug}.png")
    data = check(cell, response, seen(cell), ghost=("GET", f"/tiles/thumbnail/{cell.slug}.png"))
    if cell.sees:
        assert data.startswith(b"\x89PNG"), f"{cell.name}: not a PNG"
        public = response["Cache-Control"].startswith("public")
        assert public == cell.state.public, f"{cell.name}: {response['Cache-Control']} for a layer public={cell.state.public}"


def door_ogc_collection(cell: Cell) -> None:
    get(cell, f"/ogc/collections/{cell.slug}", seen(cell))


def door_ogc_items(cell: Cell) -> None:
    shows = (m.name_token(cell.state), *granted_personal(cell)) if cell.sees else ()
    get(cell, f"/ogc/collections/{cell.slug}/items?limit=100", seen(cell), shows=shows)


def door_ogc_item(cell: Cell) -> None:
    shows = (m.name_token(cell.state), *granted_personal(cell)) if cell.sees else ()
    get(cell, f"/ogc/collections/{cell.slug}/items/{cell.id('in')}", seen(cell), shows=shows)


def door_ogc_queryables(cell: Cell) -> None:
    data = get(cell, f"/ogc/collections/{cell.slug}/queryables", seen(cell))
    if cell.sees and not cell.sees_personal:
        listed = set(json.loads(data).get("properties", {}))
        assert "name" in listed and not listed & set(m.PERSONAL_FIELDS), f"{cell.name}: queryables {listed}"


def door_ogc_filter_personal(cell: Cell) -> None:
    """A filter on a personal field is an oracle: refused as an unknown field unless the caller may see it."""
    text = f"chu_su_dung = 'Nguyễn Văn {m.owner_token(cell.state)}'"
    status = 404 if not cell.sees else 200 if cell.sees_personal and cell.state.personal else 400
    get(cell, f"/ogc/collections/{cell.slug}/items?filter={quote(text)}", status,
        shows=[f"{m.name_token(cell.state)} Alpha"] if status == 200 else [])


def _download(cell: Cell, ext: str) -> None:
    shows = (m.name_token(cell.state), *granted_personal(cell)) if cell.sees else ()
    get(cell, f"/data/{cell.slug}.{ext}", seen(cell), shows=shows)


def door_download_geojson(cell: Cell) -> None:
    _download(cell, "geojson")


def door_download_gpkg(cell: Cell) -> None:
    _download(cell, "gpkg")


def door_download_shp(cell: Cell) -> None:
    _download(cell, "shp.zip")


def door_download_csv(cell: Cell) -> None:
    _download(cell, "csv")


def door_download_kml(cell: Cell) -> None:
    _download(cell, "kml")


def door_download_fgb(cell: Cell) -> None:
    _download(cell, "fgb")  # FlatGeobuf stores text as plain UTF-8: the byte checks hold


def door_download_parquet(cell: Cell) -> None:
    _download(cell, "parquet")  # zstd-compressed: read back as metadata and rows (authz_matrix.body_bytes)


def _harvest(cell: Cell, path: str) -> None:
    """Harvest documents list public layers only, whoever asks, and never a personal value."""
    data = get(cell, path, 200, hides=m.personal_tokens(cell.state))
    assert m.contains(data, cell.slug) == cell.state.public, f"{cell.name}: listed: {not cell.state.public}"


def door_dcat_jsonld(cell: Cell) -> None:
    _harvest(cell, "/data/catalog.jsonld")


def door_data_json(cell: Cell) -> None:
    _harvest(cell, "/data.json")


# Issue 15: catalog records for national harvesters list public layers only, whoever asks.
CSW = "/csw?service=CSW&version=2.0.2&request="


def door_csw_getrecords(cell: Cell) -> None:
    _harvest(cell, f"{CSW}GetRecords&typenames=csw:Record&elementsetname=full&resulttype=results&maxrecords=500")


def door_csw_getrecordbyid(cell: Cell) -> None:
    _harvest(cell, f"{CSW}GetRecordById&id={cell.slug}&outputschema=http://www.isotc211.org/2005/gmd"
                   "&elementsetname=full")


def door_records_items(cell: Cell) -> None:
    _harvest(cell, "/records/collections/catalog/items?limit=100")


def door_records_item(cell: Cell) -> None:
    data = get(cell, f"/records/collections/catalog/items/{cell.slug}", 200 if cell.state.public else 404,
               hides=m.personal_tokens(cell.state))
    assert m.contains(data, cell.slug) == cell.state.public, f"{cell.name}: shown: {not cell.state.public}"


def _search_hits(cell: Cell, query: str) -> list[dict]:
    data = get(cell, f"/api/search?q={quote(query)}", 200)
    hits = json.loads(data)["results"]
    hidden = [sw.layer.slug for sw in cell.world.states.values() if not m.sees(cell.role, sw.state)]
    assert not [h for h in hits if h["layer"] in hidden], f"{cell.name}: hits from hidden layers: {hits}"
    return [h for h in hits if h["layer"] == cell.slug]


def door_search(cell: Cell) -> None:
    hits = _search_hits(cell, m.name_token(cell.state).lower())
    assert bool(hits) == cell.sees, f"{cell.name}: hits {hits}"


def door_search_personal(cell: Cell) -> None:
    """A search on a personal value finds nothing for those who may not see it (a match would be an oracle)."""
    hits = _search_hits(cell, m.address_token(cell.state).lower())
    if not cell.sees_personal:
        assert not hits, f"{cell.name}: found by a personal value: {hits}"


def door_search_page(cell: Cell) -> None:
    query = m.name_token(cell.state).lower()  # echoed in the form; hits carry the name as stored
    get(cell, f"/tim-kiem/?q={query}", 200, html=True, shows=[f"{m.name_token(cell.state)} Alpha"] if cell.sees else [])


def door_click(cell: Cell) -> None:
    """Click-to-see: a hidden layer is skipped like a layer that does not exist (200, no result)."""
    lon, lat = m.SPOTS["in"] + 0.00025, m.LAT + 0.00025
    data = get(cell, f"/api/at?lon={lon}&lat={lat}&z=16&layers={cell.slug}", 200,
               shows=[f"{m.name_token(cell.state)} Alpha"] if cell.sees else [])
    layers = [r["layer"] for r in json.loads(data)["results"]]
    assert layers == ([cell.slug] if cell.sees else []), f"{cell.name}: results from {layers}"


def door_lookup(cell: Cell) -> None:
    """The parcel page: the state's layer stands in for the core parcels layer (in this test's transaction)."""
    Layer.objects.filter(slug="parcels").update(slug="mx-parcels-aside")
    Layer.objects.filter(pk=cell.sw.layer.pk).update(slug="parcels")
    get(cell, "/thua-dat/26794/90/1/", seen(cell), html=True, shows=[m.title_token(cell.state)] if cell.sees else [])


def door_sheet(cell: Cell) -> None:
    """The parcel's planning information sheet (PDF), as the parcel page; personal data never on it, whoever asks."""
    from tests.portal.sheet_helpers import pdf_text

    Layer.objects.filter(slug="parcels").update(slug="mx-parcels-aside")
    Layer.objects.filter(pk=cell.sw.layer.pk).update(slug="parcels")
    response = send(cell.client, "GET", "/thua-dat/26794/90/1/phieu.pdf")
    if not cell.sees:
        check(cell, response, 404)
        return
    assert response.status_code == 200, f"{cell.name}: got {response.status_code} {response.content[:300]!r}"
    text = pdf_text(response.content)
    assert "26794" in text, f"{cell.name}: the sheet does not name its parcel"
    for token in m.personal_tokens(cell.state):
        assert token not in text, f"{cell.name}: the sheet carries {token!r}"


def _identity(cell: Cell) -> tuple[list[str], list[str]]:
    """(shows, hides): who changed a feature, only for staff and the layer's editors."""
    tokens = [m.HISTORIAN, m.comment_token(cell.state)]
    return (tokens, []) if cell.role in m.IDENTITY else ([], tokens)


def door_history(cell: Cell) -> None:
    shows, hides = _identity(cell)
    get(cell, f"/history/{cell.slug}/{cell.id('in')}/", seen(cell), html=True,
        shows=[m.name_token(cell.state), *shows] if cell.sees else [], hides=hides)


def door_diff(cell: Cell) -> None:
    _, hides = _identity(cell)
    get(cell, f"/history/{cell.slug}/diff/?from={cell.world.since}", seen(cell), html=True, hides=hides)


def door_diff_geojson(cell: Cell) -> None:
    _, hides = _identity(cell)
    data = get(cell, f"/history/{cell.slug}/diff/?from={cell.world.since}&f=geojson", seen(cell), hides=hides,
               shows=[m.name_token(cell.state)] if cell.sees else [])
    if cell.sees:
        ids = {f["id"] for f in json.loads(data)["features"]}
        assert cell.id("in") in ids, f"{cell.name}: the edited feature is not in the diff"


def door_editor_page(cell: Cell) -> None:
    path = f"/edit/{cell.slug}/"
    if cell.role == "anonymous":  # a page for planners: first the login
        response = cell.client.get(path, **HTML)
        assert response.status_code == 302 and response["Location"].startswith("http://testserver" + settings.LOGIN_URL), cell.name
        return
    get(cell, path, m.write_status(cell.role, cell.state, ok=200), html=True)


def door_edit_api_get(cell: Cell) -> None:
    shows = (m.name_token(cell.state), *granted_personal(cell)) if cell.sees else ()
    get(cell, f"/api/layers/{cell.slug}/features/{cell.id('in')}", seen(cell), shows=shows)


def door_audit(cell: Cell) -> None:
    _audit(cell, "/audit/", html=True)


def door_audit_csv(cell: Cell) -> None:
    _audit(cell, "/audit/?format=csv", html=False)


def _audit(cell: Cell, path: str, *, html: bool) -> None:
    """Data administrators only; the login first for anonymous visitors."""
    response = cell.client.get(path, **(HTML if html else {}))
    if cell.role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith("http://testserver" + settings.LOGIN_URL), cell.name
        return
    status = 200 if cell.role in m.DATA_ADMINS else 403
    data = check(cell, response, status)
    if status == 200:
        assert m.contains(data, cell.slug), f"{cell.name}: the layer's edits are not in the audit"


# ---- WMS / WFS at /ows (MapServer): public data only, for every role ------------------------------------
# /ows serves the public's data: a restricted layer is absent even for a user granted it (they read it through
# the OGC API or the editor, signed in), and personal fields never leave, whoever asks.

def _ows(cell: Cell, query: str, *, shows=()) -> bytes:
    path = f"/ows?{query}"
    response = send(cell.client, "GET", path)
    hidden = m.personal_tokens(cell.state) + ([] if cell.state.public else [m.name_token(cell.state),
                                                                            m.title_token(cell.state)])
    status = 200 if cell.state.public else 400
    data = check(cell, response, status, shows=shows if cell.state.public else (), hides=hidden)
    if not cell.state.public:  # the very report a layer that never existed gets
        other = m.body_bytes(send(cell.client, "GET", path.replace(cell.slug, GHOST)))
        assert data.replace(cell.slug.encode(), GHOST.encode()) == other, f"{cell.name}: {data[:300]!r} != {other[:300]!r}"
    return data


def door_wms_getmap(cell: Cell) -> None:
    _ows(cell, f"SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={cell.slug}&STYLES=&CRS=CRS:84"
               "&BBOX=106.78,10.815,106.81,10.83&WIDTH=64&HEIGHT=32&FORMAT=image/png")


def door_wms_featureinfo(cell: Cell) -> None:
    lon = m.SPOTS["in"] + 0.00025
    _ows(cell, f"SERVICE=WMS&VERSION=1.3.0&REQUEST=GetFeatureInfo&LAYERS={cell.slug}&QUERY_LAYERS={cell.slug}"
               f"&STYLES=&CRS=CRS:84&BBOX={lon - 0.0001},{m.LAT},{lon + 0.0001},{m.LAT + 0.0005}&WIDTH=10&HEIGHT=10"
               "&I=5&J=5&INFO_FORMAT=application/vnd.ogc.gml&FEATURE_COUNT=10",
         shows=[m.name_token(cell.state)])


def door_wms_legend(cell: Cell) -> None:
    _ows(cell, f"SERVICE=WMS&VERSION=1.3.0&REQUEST=GetLegendGraphic&LAYER={cell.slug}&FORMAT=image/png")


def door_wfs_getfeature(cell: Cell) -> None:
    _ows(cell, f"SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES={cell.slug}", shows=[m.name_token(cell.state)])


def door_wfs_getfeature_by_id(cell: Cell) -> None:
    _ows(cell, f"SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&RESOURCEID={cell.slug}.{cell.id('in')}"
               "&OUTPUTFORMAT=application/json", shows=[m.name_token(cell.state)])


def door_wfs_describe(cell: Cell) -> None:
    data = _ows(cell, f"SERVICE=WFS&VERSION=2.0.0&REQUEST=DescribeFeatureType&TYPENAMES={cell.slug}")
    assert not any(m.contains(data, name) for name in m.PERSONAL_FIELDS), f"{cell.name}: a personal field described"


def _ows_listing(cell: Cell, service: str) -> None:
    response = send(cell.client, "GET", f"/ows?SERVICE={service}&REQUEST=GetCapabilities")
    data = check(cell, response, 200, hides=m.personal_tokens(cell.state))
    assert m.contains(data, cell.slug) == cell.state.public, f"{cell.name}: listed: {not cell.state.public}"
    assert m.contains(data, m.title_token(cell.state)) == cell.state.public


def door_wms_capabilities(cell: Cell) -> None:
    _ows_listing(cell, "WMS")


def door_wfs_capabilities(cell: Cell) -> None:
    _ows_listing(cell, "WFS")
