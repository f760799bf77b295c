"""Shared fixtures: the small demo city, generated once per session and loaded through the real ingest path."""
import pytest

DEMO_PARCELS = 3000
DEMO_SEED = 7
DEMO_ZONES = 300
DEMO_SLUGS = ["admin-units", "planning-zones", "road-reserves", "roads", "water", "parcels", "elevation"]


@pytest.fixture(scope="session", autouse=True)
def _private_tile_cache(tmp_path_factory):
    """Tests cache tiles in their own folder, never in the project's var/tiles (test layer ids repeat), and
    start with an empty Redis tile cache under the test database's prefix (a previous run's layer ids repeat)."""
    import redis
    from django.conf import settings

    from tiles.redis_cache import RedisCache

    try:
        RedisCache().clear()
    except redis.RedisError:
        pass  # no Redis: the tile cache renders without it
    saved = settings.GISPORTAL_TILE_CACHE_DIR
    settings.GISPORTAL_TILE_CACHE_DIR = str(tmp_path_factory.mktemp("tiles"))
    yield
    settings.GISPORTAL_TILE_CACHE_DIR = saved


@pytest.fixture(autouse=True)
def _fresh_redis():
    """Each test starts with none of this run's Redis keys (rate counters, page cursors, token use, cache):
    they live outside the test's transaction, so without this one test's counts would limit the next."""
    import redis
    from django.conf import settings

    from layers import shared_store

    try:
        client = shared_store.client()
        names = list(client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*", count=1000))
        if names:
            client.delete(*names)
    except redis.RedisError:
        pass  # a test that needs Redis says so itself


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory):
    """The demo city's files (GeoPackage, Shapefile, GeoTIFF in EPSG:9210), written once."""
    from demo.services import write_demo_files

    return write_demo_files(parcels=DEMO_PARCELS, seed=DEMO_SEED, zones=DEMO_ZONES,
                            out_dir=tmp_path_factory.mktemp("demo"), say=lambda _: None)


@pytest.fixture
def demo_city(django_db_setup, django_db_blocker, demo_files):
    """The demo city's layers by slug, committed in the test database.

    Loaded once and shared; pytest-django runs transactional tests (live server, browser) last and
    flushes the database after each, so a transactional test that needs the city loads it again.
    """
    from demo.services import load_demo_files
    from layers.models import Feature, Layer

    with django_db_blocker.unblock():
        if not Feature.objects.filter(layer__slug="parcels").exists():
            load_demo_files(demo_files, say=lambda _: None)
        return {layer.slug: layer for layer in Layer.objects.filter(slug__in=DEMO_SLUGS)}
