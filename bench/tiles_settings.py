"""The project's settings plus one URL for bench/tiles: a minimal view serving tile bytes from memory."""
from gisportal.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.tiles_urls"
