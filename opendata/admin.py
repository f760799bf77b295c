"""Open data in the admin (autodiscovered): webhooks and their delivery logs."""
from opendata import webhooks_admin  # noqa: F401
