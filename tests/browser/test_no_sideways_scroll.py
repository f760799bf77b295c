"""No page of the platform scrolls sideways on a 360 px phone, logged out, as a planner and as a data administrator.

The pages are found from the URL conf, not listed by hand: every named pattern is reversed with a value from
the demo city for each of its parameters (SAMPLES), fetched as a browser would (Accept: text/html) by the role,
and kept when it answers 200 with HTML. So a page added later is walked without editing this file; a pattern
with a parameter this file has no value for fails test_every_url_parameter_has_a_demo_value, naming it.
A few states of pages only reached with a query (a lookup that found nothing, search hits, a filtered catalog)
are added by hand (_states). Django's own admin (/admin/, hundreds of patterns, Django's responsive stylesheet)
is walked through its index, a list, a change form and an add form only.
"""
import itertools
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from layers.models import Feature, LayerGrant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 360, "height": 740}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SKIPPED_NAMESPACES = {"admin"}
# Parameters of the URL conf that need no demo row: tile numbers, formats, asset names, a password-reset link.
FIXED = {
    "z": ["12"], "x": ["3249"], "y": ["1917"], "tile_matrix": ["12"], "tile_row": ["1917"], "tile_col": ["3249"],
    "tms_id": ["WebMercatorQuad"], "tileset_id": ["parcels"], "style_id": ["default"], "fmt": ["geojson"],
    "name": ["sprite.json"], "fontstack": ["DejaVu Sans Book"], "glyph_range": ["0-255"],
    "uidb64": ["MQ"], "token": ["set-password"],
}


def _patterns(patterns, namespace: str = "") -> list[tuple[str, list[str]]]:
    """Every named pattern as (name with namespace, its parameters), outside the skipped namespaces."""
    out = []
    for item in patterns:
        if isinstance(item, URLResolver):
            inner = item.namespace or namespace
            if inner not in SKIPPED_NAMESPACES:
                out += _patterns(item.url_patterns, inner)
        elif isinstance(item, URLPattern) and item.name:
            params = [p for p in item.pattern.regex.groupindex if p not in (item.default_args or {})]
            out.append((f"{namespace}:{item.name}" if namespace else item.name, params))
    return out


def _samples(demo_city) -> dict[str, list[str]]:
    """Values from the demo for each parameter a page of the platform takes."""
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[100]
    p = parcel.properties
    from ingest.models import IngestRun

    run = IngestRun.objects.order_by("id").first()
    return {
        "code": _codes(parcel),
        **FIXED,
        "layer": ["parcels", "planning-zones", "elevation"], "collection_id": ["parcels", "planning-zones"],
        "feature_id": [str(parcel.pk)], "record_id": ["parcels"],
        "ward": [p["ward_code"]], "sheet": [str(p["map_sheet"])], "number": [str(p["parcel_no"])],
        "run_id": [str(run.pk)] if run else [],
    }


def _codes(parcel) -> list[str]:
    """A planning information sheet's code and a report's receipt code (/xac-minh/{code}/, /phan-anh/{code}/)."""
    from django.contrib.auth.models import AnonymousUser

    from portal.report_input import parse_report
    from portal.reports import report_create
    from portal.sheets import sheet_issue

    issued, _ = sheet_issue(user=AnonymousUser(), parcel=parcel, language="vi")
    report = report_create(report=parse_report(
        {"category": "other", "text": "Ranh giới thửa đất lệch so với thực địa.", "layer": "parcels",
         "feature": str(parcel.pk)}, None))
    return [issued.code, report.code]


def _states(demo_city) -> list[str]:
    """Pages in a state only a query reaches (results, errors, filters)."""
    parcel = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id")[100]
    p = parcel.properties
    return [
        "/tra-cuu/?ward=khong-co-phuong-nay&sheet=1&parcel=1",
        "/tra-cuu/?ward=&sheet=mot&parcel=",
        f"/tim-kiem/?q={p['ward_code']}",
        "/tim-kiem/?q=thao+dien",
        "/data/?q=thua+dat",
        "/ogc/collections/parcels/items?f=html&limit=100",
        "/history/parcels/diff/?from=2000-01-01T00:00:00Z",
        # OGC API – Records answers JSON to a browser's Accept; its HTML pages are asked for by ?f=html.
        "/records/?f=html", "/records/conformance?f=html", "/records/collections?f=html",
        "/records/collections/catalog?f=html", "/records/collections/catalog/items?f=html",
        "/records/collections/catalog/items/parcels?f=html",
        # Django's admin, for those who may enter it (the others are sent to its login page, a redirect).
        "/admin/", "/admin/layers/layer/", f"/admin/layers/layer/{demo_city['parcels'].pk}/change/",
        "/admin/layers/layergrant/add/",
    ]


# Error pages (rendered by gisportal/errors.py in the page's language): walked for their status, not 200.
ERROR_STATES = ["/khong-co-trang-nay/", "/data/no-such-layer/", "/thua-dat/00000/1/1/", "/data/?q=%00",
                "/history/parcels/999999999/"]


def _users(django_user_model, demo_city) -> dict[str, object]:
    planner = django_user_model.objects.create_user("planner", password="x")
    for slug in ("parcels", "planning-zones", "road-reserves"):
        LayerGrant.objects.create(layer=demo_city[slug], user=planner, can_edit=True)
    admin = django_user_model.objects.create_superuser("data-admin", password="x")
    return {"anonymous": None, "planner": planner, "admin": admin}


def _html_pages(client: Client, samples: dict[str, list[str]], states: list[str]) -> list[str]:
    """The URLs answering 200 with HTML to this client: every pattern with every combination of samples."""
    urls = []
    for name, params in _patterns(get_resolver().url_patterns):
        if any(not samples.get(param) for param in params):
            continue  # reported by test_every_url_parameter_has_a_demo_value
        for values in itertools.product(*(samples[param] for param in params)):
            try:
                urls.append(reverse(name, kwargs=dict(zip(params, values))))
            except NoReverseMatch:
                continue
    pages = []
    for url in dict.fromkeys(urls + states + ERROR_STATES):
        response = client.get(url, HTTP_ACCEPT=BROWSER_ACCEPT)
        wanted = 200 if url not in ERROR_STATES else response.status_code
        if response.status_code == wanted and response.get("Content-Type", "").startswith("text/html"):
            pages.append(url)
    return pages


OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0) {
      let parent = el.parentElement, clipped = false;
      while (parent) { const s = getComputedStyle(parent); if (s.overflowX !== 'visible') { clipped = true; break; } parent = parent.parentElement; }
      if (!clipped) wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '') + ' → ' + Math.round(box.right));
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5)};
}"""


def _login(page, live_server, user, language: str) -> None:
    """The browser's session cookie for the user (none for anonymous), and the language chosen."""
    from django.conf import settings

    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url})
    page.context.add_cookies(cookies)


def test_every_url_parameter_has_a_demo_value(demo_city):
    samples = _samples(demo_city)
    missing = sorted({f"{name}: {param}" for name, params in _patterns(get_resolver().url_patterns)
                      for param in params if not samples.get(param)})
    assert missing == [], f"add a demo value for these URL parameters in {__name__}._samples: {missing}"


# English labels are longer; Vietnamese is the default. Each role in Vietnamese, the public and admins in English too.
@pytest.mark.parametrize("role, language", [("anonymous", "vi"), ("planner", "vi"), ("admin", "vi"),
                                            ("anonymous", "en"), ("admin", "en")])
def test_no_page_scrolls_sideways_at_360_px(page, live_server, demo_city, django_user_model, role, language):
    user = _users(django_user_model, demo_city)[role]
    client = Client()
    if user is not None:
        client.force_login(user)
    samples = _samples(demo_city)
    pages = _html_pages(client, samples, _states(demo_city))
    sheet_code, report_code = samples["code"]
    expected = {"/", "/tra-cuu/", "/data/", "/data/parcels/", "/data/elevation/", "/ogc/collections",
                "/ogc/collections/parcels", "/ogc/docs", "/records/", f"/xac-minh/{sheet_code}/",
                f"/phan-anh/{report_code}/"}
    if role != "anonymous":
        expected |= {"/edit/", "/data/tokens/", "/history/parcels/diff/"}
    if role == "admin":
        expected |= {"/audit/", "/ingest/", "/admin/", "/admin/layers/layer/"}
    assert expected <= {urlsplit(url).path for url in pages}, sorted(expected - set(pages))
    assert set(ERROR_STATES) <= set(pages)  # the error pages are HTML too
    page.set_viewport_size(PHONE)
    _login(page, live_server, user, language)
    offenders = {}
    for url in pages:
        page.goto(live_server.url + url, wait_until="load")
        if page.locator(".site-header").count():  # the site's pages (a bare developer page may keep Vietnamese)
            assert page.locator("html").get_attribute("lang") == language, url
        found = page.evaluate(OVERFLOW_JS)
        if found["scrollWidth"] > PHONE["width"]:
            offenders[url] = found
    assert offenders == {}, f"{role} ({language}): pages wider than {PHONE['width']} px: {offenders}"


def test_the_upload_form_with_errors_fits_a_phone(page, live_server, django_user_model, tmp_path, settings):
    """/ingest/ sent with mistakes (a POST the walk cannot reach): the errors read in both languages, no sideways scroll."""
    settings.INGEST_JOBS_DIR = tmp_path / "jobs"
    admin = django_user_model.objects.create_superuser("data-admin", password="x")
    page.set_viewport_size(PHONE)
    _login(page, live_server, admin, "vi")
    page.goto(live_server.url + "/ingest/")
    page.fill("#id_layer", "parcels")
    page.fill("#id_column_map", "no pairs here")
    page.eval_on_selector("form.ingest-form", "form => { form.noValidate = true; }")  # the server's checks, not the browser's
    page.click("form.ingest-form button[type=submit]")
    page.wait_for_selector("[data-testid=form-errors]")
    assert "The form has errors" in page.inner_text("[data-testid=form-errors]")
    assert page.locator(".errorlist").count() >= 2
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_layer_page_shows_its_preview_and_readable_extent_on_a_phone(page, live_server, demo_city, screenshot):
    """The preview loads (the page's CSP lets it, the door draws it), fits the phone, and the extent reads as words."""
    page.set_viewport_size(PHONE)
    _login(page, live_server, None, "vi")
    page.goto(live_server.url + "/data/planning-zones/")
    image = page.locator("img.od-thumb")
    image.scroll_into_view_if_needed()
    page.wait_for_function("() => { const i = document.querySelector('img.od-thumb'); return i.complete && i.naturalWidth > 0; }")
    assert page.evaluate("() => document.querySelector('img.od-thumb').naturalWidth") == 640
    box = image.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert "khoảng" in page.inner_text(".od-extent")
    assert not page.locator("[data-testid=bbox]").is_visible()  # the exact box waits in its <details>
    page.click(".od-extent summary")
    assert page.locator("[data-testid=bbox]").is_visible()
    assert page.requests.console_errors == [] and page.requests.outside(live_server.url) == []
    screenshot("layer-phone")
