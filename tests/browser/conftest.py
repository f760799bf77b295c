"""Playwright driving Debian's chromium (never a downloaded browser) against pytest-django's live_server.

Database: the live server's threads read committed rows only, so browser tests are transactional
(pytest-django makes every live_server test so, runs them after the others, and flushes the database
after each): a test creates its rows with the factories, or asks for `demo_city`, which reloads.

Async guard: Playwright's sync API runs an asyncio loop in the test thread, from the browser's start
to the end of the session, and Django refuses ORM calls from a thread with a running loop (the flush
after each test included). The tests only touch the ORM from plain synchronous code (factories and
fixtures), never from inside the loop, so the guard is lifted exactly for that span: set when the
browser starts, restored when it stops.
"""
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("GISPORTAL_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Quiet, private and offline: no first-run pages, no component or sync traffic, no QUIC.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # WebGL for MapLibre (tests/browser/test_maplibre.py) through SwiftShader, the CPU renderer: newer
    # Chromium releases only fall back to it with this flag.
    "--enable-unsafe-swiftshader",
]


@pytest.fixture(autouse=True)
def _private_tile_cache(settings, tmp_path) -> None:
    """Tiles rendered for a browser test are cached in its temporary folder, never in var/tiles.

    (Test databases reuse layer ids, so a shared cache could serve one test's tiles to another run.)
    """
    settings.GISPORTAL_TILE_CACHE_DIR = str(tmp_path / "tile-cache")


@pytest.fixture(scope="session")
def _short_db_connections() -> Iterator[None]:
    """The live server's request threads close their database connection after each request.

    With CONN_MAX_AGE > 0, threads serving the browser's keep-alive sockets would hold connections
    open, and dropping the test database at the end of the session would fail.
    """
    from django.db import connections

    saved = connections.settings["default"].get("CONN_MAX_AGE", 0)
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    yield
    connections.settings["default"]["CONN_MAX_AGE"] = saved


@pytest.fixture(scope="session")
def _playwright(_short_db_connections, live_server) -> Iterator:
    """Playwright's sync driver for the session, with the async guard lifted for its span (module docstring)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) to run browser tests")
    from playwright.sync_api import sync_playwright

    saved_guard = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see the module docstring
    playwright = sync_playwright().start()
    try:
        yield playwright
    finally:
        playwright.stop()
        if saved_guard is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved_guard


@pytest.fixture(scope="session")
def browser_context(_playwright) -> Iterator:
    """One headless chromium for the session, in a new empty profile that is removed afterwards.

    It asks for live_server (through _playwright) so that it closes first, before the server stops.
    """
    profile = tempfile.mkdtemp(prefix="gisportal-chromium-")
    try:
        # launch_persistent_context is Playwright's way of passing --user-data-dir (it rejects the raw flag).
        context = _playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 800}, locale="vi-VN", service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser(_playwright) -> Iterator:
    """A second chromium for tests that need contexts of their own (a phone with touch, two people at once)."""
    instance = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
    try:
        yield instance
    finally:
        instance.close()


class PageRequests:
    """Every request and tile response a page made, recorded as they happen."""

    def __init__(self, page):
        self.urls: list[str] = []
        self.tiles: list[tuple[str, int]] = []
        self.console_errors: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("response", self._response)
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _response(self, response) -> None:
        if "/tiles/" in response.url and response.url.endswith(".pbf"):
            self.tiles.append((response.url, response.status))

    def outside(self, live_server_url: str) -> list[str]:
        """Requests to any host but the live server (data: and blob: URLs stay in the page)."""
        home = urlsplit(live_server_url).netloc
        return [url for url in self.urls
                if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != home]


@pytest.fixture
def page(browser_context, live_server):
    """A fresh tab with its requests recorded; cookies cleared so each test starts in Vietnamese."""
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    tab.requests = PageRequests(tab)
    tab.set_default_timeout(15_000)
    yield tab
    tab.close()


@pytest.fixture
def screenshot(request, page):
    """save(name): a PNG of the viewport under test-artifacts/ (git-ignored), named after the test."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path))
        return path

    return save
