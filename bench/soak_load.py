"""bench/soak's load: Locust, headless, as a library, at a constant total rate with the portal's mix —
85% tiles, 8% OGC items, 4% click-to-see and search, 2% downloads, 1% edits by two planners on the
same parcels (409s expected). Prints per-kind statuses and exact latency percentiles as JSON.

    python -m bench.soak_load PLAN.json http://127.0.0.1:PORT RATE SECONDS
"""
import json
import random
import sys
import time
from collections import defaultdict

import gevent
from locust import FastHttpUser, HttpUser, constant_throughput, events, task
from locust.env import Environment

PLAN: dict = json.load(open(sys.argv[1])) if __name__ == "__main__" else {}
RATE = float(sys.argv[3]) if __name__ == "__main__" else 1.0
VISITORS = max(4, min(60, int(RATE // 2)))
KIND_HEADER = "X-Soak-Kind"  # gunicorn's access log records it with the server's own time (bench/soak.py)
CACHED_SHARE = 0.8  # of tile requests: the warmed set; the rest anywhere at z12–z17, cached or not
latencies: dict[str, list[float]] = defaultdict(list)
statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, **_):
    """Every request's latency (ms) and status by kind; a connection failure counts as status 'error'."""
    status = getattr(response, "status_code", 0) if response is not None else 0
    latencies[name].append(response_time)
    statuses[name]["error" if not status else str(status)] += 1


class Visitor(FastHttpUser):
    """Residents, the map and API clients (anonymous; the soak's server lifts the fair-use limits). Locust's
    fast client (geventhttpclient), lighter than python-requests on the two cores it shares with the portal."""

    wait_time = constant_throughput(RATE * 0.99 / VISITORS)

    def on_start(self) -> None:
        self.rng = random.Random()

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, headers={"Accept-Encoding": "gzip", KIND_HEADER: name},
                             catch_response=True) as response:
            if response.status_code in (200, 204):
                response.success()

    @task(85)
    def tile(self) -> None:
        if self.rng.random() < CACHED_SHARE:
            self._get(self.rng.choice(PLAN["warm_tiles"]), "tile cached")
        else:
            self._get(self.rng.choice(PLAN["cold_tiles"]), "tile any")

    @task(8)
    def ogc_items(self) -> None:
        box = self.rng.choice(PLAN["ogc_boxes"])
        self._get(f"/ogc/collections/{self.rng.choice(('parcels', 'planning-zones'))}/items?bbox={box}&limit=50",
                  "ogc items")

    @task(4)
    def click_or_search(self) -> None:
        if self.rng.random() < 0.5:
            lon, lat = self.rng.choice(PLAN["points"])
            self._get(f"/api/at?lon={lon}&lat={lat}&z=17&layers=parcels,planning-zones", "click-to-see")
        else:
            self._get(f"/api/search?q={self.rng.choice(PLAN['search'])}", "search")

    @task(2)
    def download(self) -> None:
        self._get(self.rng.choice(PLAN["downloads"]), "download")


class Planner(HttpUser):
    """Two planners saving the same few parcels from what they last read: the later save of a pair gets 409."""

    fixed_count = 2
    wait_time = constant_throughput(RATE * 0.01 / 2)
    _names = iter(range(1_000_000))

    def on_start(self) -> None:
        self.username = PLAN["planners"][next(self._names) % len(PLAN["planners"])]
        self.rng, self.seen, self.saves = random.Random(), {}, 0
        self.client.get("/accounts/login/", name="planner login")
        self.client.post("/accounts/login/", name="planner login", allow_redirects=False,
                         data={"username": self.username, "password": PLAN["password"],
                               "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")})

    def _read(self, feature_id: int) -> None:
        response = self.client.get(f"/api/layers/parcels/features/{feature_id}", name="edit read",
                                   headers={KIND_HEADER: "edit read"})
        if response.status_code == 200:
            body = response.json()
            self.seen[feature_id] = (body["version"], body["properties"])

    @task
    def edit(self) -> None:
        feature_id = self.rng.choice(PLAN["edited"])
        if feature_id not in self.seen:
            self._read(feature_id)
        version, properties = self.seen.get(feature_id, (None, None))
        if version is None:
            return
        self.saves += 1
        body = {"version": version, "comment": f"soak {self.username} #{self.saves}",
                "properties": {**properties, "address": f"{self.saves % 97 + 1} Đường Võ Văn Ngân ({self.username})"}}
        with self.client.put(f"/api/layers/parcels/features/{feature_id}", json=body, name="edit save",
                             headers={"X-CSRFToken": self.client.cookies.get("csrftoken", ""), KIND_HEADER: "edit save"},
                             catch_response=True) as response:
            if response.status_code == 200:
                response.success()
                self.seen[feature_id] = (response.json()["version"], response.json()["properties"])
            elif response.status_code == 409:  # the other planner saved first: expected; read and go on
                response.success()
                self.seen.pop(feature_id, None)


def _summary(seconds: float) -> dict:
    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")

    kinds = {name: {"n": len(v), "p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99),
                    "statuses": dict(statuses[name])} for name, v in sorted(latencies.items())}
    return {"seconds": seconds, "requests": sum(k["n"] for k in kinds.values()), "kinds": kinds,
            "visitors": VISITORS, "planners": 2}


def main() -> None:
    host, seconds = sys.argv[2], float(sys.argv[4])
    env = Environment(user_classes=[Visitor, Planner], host=host, events=events)
    runner = env.create_local_runner()
    runner.start(VISITORS + 2, spawn_rate=VISITORS + 2)
    started = time.monotonic()
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()
    print(json.dumps(_summary(time.monotonic() - started)))


if __name__ == "__main__":
    main()
