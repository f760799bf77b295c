from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The residents' pages: the map, lookup, parcel page, search and click-to-see (reads through layers/)."""

    name = "portal"
