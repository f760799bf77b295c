"""Tile tests: every test gets its own empty disk cache under tmp_path."""
import pytest


@pytest.fixture(autouse=True)
def tile_cache_dir(settings, tmp_path):
    settings.GISPORTAL_TILE_CACHE_BACKEND = "tiles.cache.DiskCache"
    settings.GISPORTAL_TILE_CACHE_DIR = str(tmp_path / "tile-cache")
    return tmp_path / "tile-cache"


@pytest.fixture
def cache():
    from tiles.cache import get_cache

    return get_cache()
