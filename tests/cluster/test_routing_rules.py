"""The routing rules in one process: who is pinned to the primary, the router's answers, the write stamp, and the
tile catalog's per-layer generations (the live servers are in test_routing.py)."""
import time

import pytest
from django.db import connection
from django.test import Client, RequestFactory, override_settings

from gisportal.routing import COOKIE, pinned_to_primary
from layers import catalog_stamps, db, shared_store
from layers.models import Feature, Layer
from tests.factories import make_parcel_layer
from tiles import catalog


def _request(method: str = "get", path: str = "/", cookie: str | None = None):
    factory = RequestFactory()
    request = getattr(factory, method)(path)
    if cookie is not None:
        request.COOKIES[COOKIE] = cookie
    return request


def _stamp() -> str:
    """The signed write stamp a successful write answers with."""
    from django.http import HttpResponse

    from gisportal import routing

    response = HttpResponse()
    response.set_signed_cookie(COOKIE, "1", salt=routing._SALT)
    return response.cookies[COOKIE].value


@pytest.mark.parametrize(("method", "path", "pinned"), [
    ("get", "/", False), ("get", "/tiles/parcels/16/1/1.pbf", False), ("get", "/ogc/collections/x/items", False),
    ("head", "/data/parcels.geojson", False), ("post", "/api/search", True), ("put", "/ogc/collections", True),
    ("get", "/edit/", True), ("get", "/edit/parcels/", True), ("get", "/history/parcels/1/", True),
    ("get", "/api/layers/parcels/features/1", True), ("get", "/ingest/runs/1/", True), ("get", "/admin/", True),
    ("get", "/audit/", True),
])
def test_writes_and_the_editors_pages_are_pinned_to_the_primary(method, path, pinned):
    assert pinned_to_primary(_request(method, path)) is pinned


def test_a_fresh_signed_stamp_pins_reads_and_a_forged_or_old_one_does_not():
    assert pinned_to_primary(_request(cookie=_stamp()))
    assert not pinned_to_primary(_request(cookie="1:forged:stamp"))
    assert not pinned_to_primary(_request(cookie=_stamp().replace("1:", "2:", 1)))
    old = _stamp()
    with override_settings(GISPORTAL_READ_YOUR_WRITES_SECONDS=1):
        time.sleep(2.1)  # the stamp's own clock counts whole seconds
        assert not pinned_to_primary(_request(cookie=old))
    with override_settings(GISPORTAL_READ_YOUR_WRITES_SECONDS=0):  # read-your-writes switched off
        assert not pinned_to_primary(_request(cookie=_stamp()))


def test_a_successful_write_answers_with_the_stamp_and_a_refused_one_does_not(db):
    client = Client()
    done = client.post("/i18n/setlang/", {"language": "en"})
    assert done.status_code == 302 and done.cookies[COOKIE]["httponly"] and done.cookies[COOKIE]["max-age"] == 5
    refused = Client(enforce_csrf_checks=True).post("/i18n/setlang/", {"language": "en"})
    assert refused.status_code == 403 and COOKIE not in refused.cookies
    assert COOKIE not in client.get("/healthz").cookies  # a read stamps nothing


def test_outside_a_request_and_without_a_replica_everything_is_read_from_the_primary():
    assert db.current_route() is None and db.read_alias() == db.PRIMARY == db.write_alias()
    token = db.begin_request(db.Route())
    try:
        assert db.read_alias() == (db.REPLICA if db.replica_configured() and db.replica_usable() else db.PRIMARY)
    finally:
        db.end_request(token)
    with db.routed(db.Route(primary=True)):
        assert db.read_alias() == db.PRIMARY
    assert db.current_route() is None


def test_the_router_sends_public_reads_by_the_rules_and_writes_and_migrations_to_the_primary():
    from django.contrib.auth.models import User
    from django.contrib.sessions.models import Session

    router = db.Router()
    assert router.db_for_read(Layer) == db.PRIMARY  # outside a request
    with db.routed(db.Route(alias=db.REPLICA)):  # a request whose reads were given to the replica
        assert router.db_for_read(Layer) == router.db_for_read(Feature) == db.read_alias()
        assert router.db_for_read(User) == router.db_for_read(Session) == db.PRIMARY
        assert router.db_for_write(Layer) == router.db_for_write(Feature) == db.PRIMARY
    assert router.allow_migrate(db.PRIMARY, "layers") and not router.allow_migrate(db.REPLICA, "layers")


@pytest.fixture
def two_layers(transactional_db):
    layers = [make_parcel_layer(slug="stamp-a"), make_parcel_layer(slug="stamp-b")]
    catalog._rows.clear()
    yield layers
    catalog._rows.clear()
    shared_store._down_until.clear()


def _built(slugs: list[str]) -> list[str]:
    """The slugs whose rows catalog_rows had to read and build now."""
    built = []
    catalog.catalog_rows(slugs, lambda slug, row: built.append(slug) or row)
    return built


def test_a_layers_change_drops_its_rows_only_and_every_write_door_bumps(two_layers, django_assert_num_queries):
    a, b = two_layers
    assert not connection.in_atomic_block
    assert sorted(_built(["stamp-a", "stamp-b"])) == ["stamp-a", "stamp-b"]
    with django_assert_num_queries(0):
        assert _built(["stamp-a", "stamp-b"]) == []  # kept: one Redis MGET, no query
    writes = [
        lambda: Layer.objects.filter(pk=a.pk).update(min_zoom=3),  # a bulk update
        lambda: Layer.objects.bulk_update([Layer(pk=a.pk, slug="stamp-a", max_zoom=20)], ["max_zoom"]),
        lambda: Layer.objects.get(pk=a.pk).save(),  # a model save (admin, services)
    ]
    for write in writes:
        write()
        assert _built(["stamp-b"]) == []  # b's row stays
        assert _built(["stamp-a"]) == ["stamp-a"]
    renamed = Layer.objects.get(pk=a.pk)
    renamed.slug = "stamp-c"
    renamed.save()  # the old name's row goes too: no layer is served under it any more
    assert catalog.catalog_rows(["stamp-a"], lambda slug, row: row) == {}
    Layer.objects.filter(slug="stamp-b").delete()
    assert catalog.catalog_rows(["stamp-b"], lambda slug, row: row) == {}


def test_a_write_rolled_back_bumps_nothing_and_redis_away_means_rows_read_every_time(two_layers):
    from django.db import transaction

    assert _built(["stamp-a"]) == ["stamp-a"]
    with pytest.raises(RuntimeError), transaction.atomic():
        Layer.objects.filter(slug="stamp-a").update(min_zoom=5)
        raise RuntimeError("rolled back")
    assert _built(["stamp-a"]) == []
    with override_settings(REDIS_URL="unix:///nonexistent/redis.sock"):
        assert catalog_stamps.current(["stamp-a"]) is None
        assert _built(["stamp-a"]) == ["stamp-a"] and _built(["stamp-a"]) == ["stamp-a"]


def _databases(**env: str) -> dict:
    """settings.DATABASES as a fresh process builds it from this environment."""
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = ("import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps({'databases': settings.DATABASES, 'routers': settings.DATABASE_ROUTERS}, default=str))")
    clean = {k: v for k, v in os.environ.items() if k not in ("GISPORTAL_REPLICA_PORT", "DATABASE_REPLICA_URL")}
    result = subprocess.run([sys.executable, "-c", code], env={**clean, "DJANGO_SETTINGS_MODULE": "gisportal.settings",
                                                                   **env}, cwd=settings.BASE_DIR, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_name_a_replica_only_when_told_and_session_options_can_move_to_the_role():
    plain = _databases()
    assert set(plain["databases"]) == {"default"} and plain["routers"] == ["layers.db.Router"]
    assert plain["databases"]["default"]["OPTIONS"]["options"] == "-c jit=off -c max_parallel_workers_per_gather=0"

    local = _databases(GISPORTAL_REPLICA_PORT="54331")["databases"]
    primary, replica = local["default"], local["replica"]
    assert replica["PORT"] == "54331" and replica["HOST"] == primary["HOST"] and replica["NAME"] == primary["NAME"]
    assert replica["TEST"]["MIRROR"] == "default"  # the test database streams from the primary: never created here
    assert replica["CONN_MAX_AGE"] == primary["CONN_MAX_AGE"] and replica["CONN_HEALTH_CHECKS"] is True
    assert replica["OPTIONS"] == {**primary["OPTIONS"], "connect_timeout": 2}

    remote = _databases(DATABASE_REPLICA_URL="postgis://reader:pw@replica.internal:6432/gisportal",
                        GISPORTAL_DB_SESSION_OPTIONS="")["databases"]
    assert (remote["replica"]["HOST"], remote["replica"]["PORT"], remote["replica"]["USER"]) == ("replica.internal", 6432, "reader")
    assert "options" not in remote["default"].get("OPTIONS", {}) and "options" not in remote["replica"]["OPTIONS"]
