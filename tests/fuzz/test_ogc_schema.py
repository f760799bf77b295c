"""A schema-driven fuzz of the OGC API from its own OpenAPI document (Schemathesis), in-process over WSGI:
valid and invalid requests alike never get a 500, and every refusal is the error table's JSON."""
import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from opendata.openapi import openapi_document
from tests.factories import make_feature, make_layer, make_parcel_layer, square

pytestmark = pytest.mark.django_db
EXAMPLES = {"getFeatures": 40}  # the operation with the most parameters gets the most examples


@pytest.fixture
def ogc_layers(settings):
    settings.OPENDATA_RATE_ANON = 10**9
    settings.ALLOWED_HOSTS = ["*"]
    parcels = make_parcel_layer(slug="parcels")
    for i in range(3):
        make_feature(parcels, square(106.7 + i * 0.001, 10.8),
                     {"ward_code": "26794", "map_sheet": 1, "parcel_no": i + 1, "land_use": "ODT", "legal_area": 100.0 + i})
    wells = make_layer(slug="wells", geometry_type="Point")
    make_feature(wells, "POINT(106.75 10.82)", {"depth": 12})
    make_layer(slug="secret", is_public=False)  # listed in the schema, hidden from callers: 404, not 500
    return ["parcels", "wells", "secret"]


@pytest.fixture
def in_process_wsgi():
    """The WSGI app inside the test's transaction: Django's test client does the same (closing connections
    at each request's end would end the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_ogc_api_never_answers_500(ogc_layers, in_process_wsgi):
    schema = schemathesis.openapi.from_dict(openapi_document("/ogc/", ogc_layers))
    schema.app = in_process_wsgi
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, EXAMPLES.get(operation.definition.raw.get("operationId"), 8))


def _fuzz(operation, mode, examples: int) -> None:
    @settings(max_examples=examples, database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(headers={"Accept": "application/json"})
        assert response.status_code < 500, (case.path, case.query, response.status_code)
        if response.status_code >= 400 and response.status_code != 405:
            body = json.loads(response.content)
            assert body["code"] and body["description"] and body["description_vi"], body

    try:
        check()
    except Unsatisfiable:  # no invalid request exists for an operation without parameters
        assert mode == GenerationMode.NEGATIVE
