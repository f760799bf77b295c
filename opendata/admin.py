"""Open data's admin pages (each part in its own module)."""
from opendata import harvest_admin  # noqa: F401
