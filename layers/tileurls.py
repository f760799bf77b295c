"""The one builder of tile URL templates ('…/{z}/{x}/{y}.pbf'): the map page, TileJSON and the editor call it."""
from collections.abc import Callable

from django.urls import NoReverseMatch, reverse

# Reversed with sentinel numbers, replaced from the right (after the slug, which may hold digits), so a
# SCRIPT_NAME prefix is kept and the routes stay tiles/'s business.
_SENTINEL = {"z": 7777701, "x": 7777702, "y": 7777703}


def tile_url_template(route: str, slug: str, *, build: Callable[[str], str] | None = None, **extra: str) -> str | None:
    """The route's URL with {z}/{x}/{y} placeholders (made absolute by `build`, e.g. request.build_absolute_uri,
    before the braces go in: it would escape them); None when no such route exists."""
    for layer_kwarg in ("layer", "layers"):  # a route may name it 'layers' where a tile holds several
        try:
            url = reverse(route, kwargs={layer_kwarg: slug, **_SENTINEL, **extra})
            break
        except NoReverseMatch:
            continue
    else:
        return None
    if build is not None:
        url = build(url)
    for key in ("y", "x", "z"):
        head, found, tail = url.rpartition(f"/{_SENTINEL[key]}")
        if found:
            url = f"{head}/{{{key}}}{tail}"
    return url
