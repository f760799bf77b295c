"""A change-feed consumer as another agency would write it, for the feed tests: page, apply, compare."""
import json
import time

import shapely.geometry
from django.db import connection

RS = b"\x1e"
SETTLE_WAIT = 300  # seconds at most: another session's transaction on the shared cluster holds the feed back


def settle() -> None:
    """Waits until everything committed so far is settled for the feed: the feed serves only transactions below the
    oldest one still running anywhere in the cluster, and other sessions (other tests, benchmarks) share it. A sync
    point, not a timing: it asserts only that the cluster's open transactions ended at all."""
    with connection.cursor() as cursor:  # autocommit (transactional tests): a transaction of its own, committed
        cursor.execute("SELECT pg_current_xact_id()::text")
        mark = cursor.fetchone()[0]
    deadline = time.monotonic() + SETTLE_WAIT
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot()) > %s::xid8", [mark])
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, "a transaction of another session stayed open the whole time"
        time.sleep(0.05)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def read_pages(client, slug: str, *, limit: int, since: str | None = None, **extra) -> tuple[list[dict], str, list[str]]:
    """Every change after `since`, page by page until `more` is false: (features, last next_cursor, page cursors)."""
    settle()
    features, cursors = [], []
    while True:
        params = {"limit": limit, **extra, **({"since": since} if since else {})}
        response = client.get(f"/data/{slug}/changes", params)
        assert response.status_code == 200, body(response)[:500]
        page = json.loads(body(response))
        assert page["numberReturned"] == len(page["features"]) <= limit
        # A page read `limit` changes; those the reader could not see (only hidden fields changed) are not shown,
        # so a page may show fewer and still have more after it, never a full one without more.
        assert page["more"] or len(page["features"]) < limit
        features += page["features"]
        since = page["next_cursor"]
        cursors.append(since)
        if not page["more"]:
            return features, since, cursors


def apply(changes: list[dict], state: dict | None = None) -> dict:
    """Insert and update set the feature, delete removes it (a consumer applying the feed)."""
    state = dict(state or {})
    for change in changes:
        if change["change"]["kind"] == "delete":
            assert change["geometry"] is None and change["properties"] is None
            state.pop(change["id"], None)
        else:
            state[change["id"]] = change
    return state


def read_seq(client, slug: str, **params) -> tuple[list[dict], dict]:
    """A GeoJSONSeq answer's records: (the changes, the trailer)."""
    settle()
    response = client.get(f"/data/{slug}/changes", {"f": "geojsonseq", **params})
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json-seq"
    raw = body(response)
    assert raw.startswith(RS)
    records = [json.loads(part) for part in raw.split(RS)[1:]]
    assert records[-1]["type"] == "next_cursor"
    return records[:-1], records[-1]


def download(client, slug: str) -> tuple[dict, str | None]:
    """A fresh whole-layer GeoJSON download: (features by id, its X-Changes-Cursor)."""
    response = client.get(f"/data/{slug}.geojson")
    assert response.status_code == 200
    return {f["id"]: f for f in json.loads(body(response))["features"]}, response.get("X-Changes-Cursor")


def assert_same_layer(replayed: dict, downloaded: dict) -> None:
    """Feature for feature: the same ids, geometries within 1e-7 degrees, the same properties."""
    assert sorted(replayed) == sorted(downloaded)
    for fid, feature in downloaded.items():
        mine = replayed[fid]
        assert mine["properties"] == feature["properties"], fid
        a, b = shapely.geometry.shape(mine["geometry"]), shapely.geometry.shape(feature["geometry"])
        assert a.geom_type == b.geom_type and a.equals_exact(b, 1e-7), fid
