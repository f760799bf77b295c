"""The platform's MapLibre style drawn by the vendored MapLibre GL JS in Debian's chromium (WebGL through
SwiftShader): the map loads, renders features of the public layers with labels, and fetches nothing from
outside the portal."""
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _parcel_centre(demo_city) -> tuple[float, float]:
    from layers.models import Feature

    feature = Feature.objects.filter(layer=demo_city["parcels"]).order_by("id").first()
    centre = feature.geom.point_on_surface
    return centre.x, centre.y


def _wait_idle(page) -> None:
    page.wait_for_function("() => window.gisportalMap && window.gisportalMap.loaded() "
                           "&& window.gisportalMap.areTilesLoaded()", timeout=60_000)


def _painted(page) -> int:
    """Pixels of the WebGL canvas that differ from the style's background colour."""
    return page.evaluate("""() => {
        const gl = window.gisportalMap.getCanvas();
        const copy = document.createElement('canvas');
        copy.width = gl.width; copy.height = gl.height;
        const ctx = copy.getContext('2d');
        ctx.drawImage(gl, 0, 0);
        const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
        let count = 0;
        for (let i = 0; i < data.length; i += 4) {
            if (Math.abs(data[i] - 0xf8) + Math.abs(data[i + 1] - 0xf4) + Math.abs(data[i + 2] - 0xf0) > 30) count++;
        }
        return count;
    }""")


def test_maplibre_draws_the_default_style(page, live_server, demo_city, screenshot):
    lon, lat = _parcel_centre(demo_city)
    failed = []
    page.on("response", lambda response: response.status >= 400 and failed.append((response.url, response.status)))
    page.goto(f"{live_server.url}/tiles/preview")
    page.wait_for_function("() => window.gisportalMap !== undefined")
    _wait_idle(page)
    page.evaluate(f"() => window.gisportalMap.jumpTo({{center: [{lon}, {lat}], zoom: 18}})")
    page.wait_for_timeout(200)  # let the jump start before waiting for its tiles
    _wait_idle(page)
    screenshot("z18")

    rendered = page.evaluate("() => window.gisportalMap.queryRenderedFeatures().map(f => f.layer.id)")
    assert "parcels-fill" in rendered, sorted(set(rendered))
    assert "parcels-label" in rendered or "roads-label" in rendered, sorted(set(rendered))
    assert _painted(page) > 10_000
    pbf = [url for url in page.requests.urls if "/tiles/fonts/" in url]
    assert pbf, "no glyphs were fetched for the labels"
    assert page.requests.outside(live_server.url) == []
    assert failed == []
    assert page.requests.console_errors == []  # no CSP refusal, no worker or WebGL error


def test_maplibre_basemap_at_city_zoom(page, live_server, demo_city):
    lon, lat = _parcel_centre(demo_city)
    page.goto(f"{live_server.url}/tiles/preview?style=basemap")
    page.wait_for_function("() => window.gisportalMap !== undefined")
    _wait_idle(page)
    page.evaluate(f"() => window.gisportalMap.jumpTo({{center: [{lon}, {lat}], zoom: 13}})")
    page.wait_for_timeout(200)
    _wait_idle(page)

    rendered = set(page.evaluate("() => window.gisportalMap.queryRenderedFeatures().map(f => f.source)"))
    assert rendered and rendered <= {"admin-units", "water", "roads"}, rendered
    assert "roads" in rendered
    assert _painted(page) > 1000
