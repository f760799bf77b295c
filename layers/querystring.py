"""The query string as a whole: each parameter given once, and only parameters the door knows.

Django's QueryDict.get returns the last of repeated values, so `bbox=A&bbox=B` silently meant B (and
another reader, a cache or a proxy, may take A); a misspelt or unsupported parameter (`limit=` on a
download) was ignored and the answer looked like an answer to the question asked. Both are 400s here,
with vi/en messages naming the parameter, for every door.
"""
from collections.abc import Iterable, Mapping

from layers.errors import InvalidParameter

# Read by the platform itself on any page: the language switch and the API key of the fair-use limits.
COMMON_PARAMS = frozenset({"lang", "api_key"})


def _name(key: str) -> str:
    return key[:60]


def check_single_values(query) -> None:
    """Refuses a parameter given more than once (a QueryDict, or any object with .lists())."""
    for key, values in query.lists():
        if len(values) > 1:
            raise InvalidParameter(f"Tham số {_name(key)} được cho nhiều lần; chỉ cho một lần.",
                                   f"Parameter {_name(key)} is given more than once; give it once.",
                                   parameter=_name(key))


def check_known_params(query: Mapping, allowed: Iterable[str]) -> None:
    """Refuses a parameter this door does not read, naming it, like OGC API items does."""
    known = COMMON_PARAMS | set(allowed)
    for key in query:
        if key not in known:
            raise InvalidParameter(f"Tham số không được hỗ trợ: {_name(key)}.", f"Unknown query parameter: {_name(key)}.",
                                   parameter=_name(key))


def parse_choice(raw: str | None, *, parameter: str, choices: Iterable[str], default: str = "") -> str:
    """One of a fixed set of words (e.g. f=html|geojson); the default when absent or empty."""
    if raw is None or raw == "":
        return default
    allowed = list(choices)
    if raw not in allowed:
        listed = ", ".join(allowed)
        raise InvalidParameter(f"{parameter} phải là một trong: {listed}.", f"{parameter} must be one of: {listed}.",
                               parameter=parameter)
    return raw
