"""Open data in the admin (autodiscovered): harvest sources and their runs, webhooks and their delivery logs."""
from opendata import harvest_admin, webhooks_admin  # noqa: F401
