"""WSGI entry point (gunicorn gisportal.wsgi:application)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisportal.settings")
application = get_wsgi_application()
