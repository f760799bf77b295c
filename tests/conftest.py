"""Shared fixtures: the small demo city, loaded once per test session through the real ingest path."""
import pytest

DEMO_PARCELS = 3000
DEMO_SEED = 7
DEMO_ZONES = 300
DEMO_SLUGS = ["admin-units", "planning-zones", "road-reserves", "parcels", "elevation"]


@pytest.fixture(scope="session")
def demo_city(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo city's layers by slug, loaded into the test database once (committed, shared)."""
    from demo.services import make_demo_city
    from layers.models import Layer

    with django_db_blocker.unblock():
        if not Layer.objects.filter(slug="parcels").exists():
            make_demo_city(parcels=DEMO_PARCELS, seed=DEMO_SEED, zones=DEMO_ZONES,
                           out_dir=tmp_path_factory.mktemp("demo"), say=lambda _: None)
        layers = {layer.slug: layer for layer in Layer.objects.filter(slug__in=DEMO_SLUGS)}
    return layers
