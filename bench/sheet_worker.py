"""Inside Django on one benchmark database: produces planning information sheets (facts + PDF); prints JSON."""
import json
import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisportal.settings")
django.setup()

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from layers.models import Layer  # noqa: E402
from layers.sheet_facts import sheet_facts  # noqa: E402
from portal.sheet_codes import new_code  # noqa: E402
from portal.sheet_pdf import sheet_pdf  # noqa: E402
from portal.sheets import sheet_layers  # noqa: E402

# Parcels across zone limits first (the costly case: several parts, formulas, labels), then any others.
_PARCELS = """
SELECT p.id, count(z.id) FROM layers_feature p
JOIN layers_feature z ON z.layer_id = %(zones)s AND z.geom && p.geom AND ST_Intersects(z.geom, p.geom)
WHERE p.layer_id = %(parcels)s AND p.id %% 97 = %(bucket)s
GROUP BY p.id ORDER BY count(z.id) > 1 DESC, p.id LIMIT %(n)s
"""


def _parcels(n: int) -> list[tuple[int, int]]:
    layers = {layer.slug: layer.pk for layer in Layer.objects.filter(slug__in=["parcels", "planning-zones"])}
    with connection.cursor() as cursor:
        multi = []
        for bucket in range(97):  # spread over the city, not the first ids only
            cursor.execute(_PARCELS, {"zones": layers["planning-zones"], "parcels": layers["parcels"],
                                      "bucket": bucket, "n": 1})
            multi += cursor.fetchall()
            if len(multi) >= n:
                break
    return multi[:n]


def _stats(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"median_s": statistics.median(samples), "p95_s": samples[int(0.95 * (len(samples) - 1))],
            "max_s": samples[-1], "n": len(samples)}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    user = AnonymousUser()
    layers = sheet_layers(user)
    chosen = _parcels(n)
    facts_s, pdf_s, total_s, cpu_s, sizes = [], [], [], [], []
    for i, (parcel_id, _zones) in enumerate([chosen[0]] + chosen):  # the first one warms fonts and caches, uncounted
        started, cpu = time.perf_counter(), time.process_time()
        facts = sheet_facts(parcel_id=parcel_id, layers=layers, at=timezone.now())
        middle = time.perf_counter()
        pdf = sheet_pdf(facts.content, facts.drawing, language="vi", as_of=timezone.now(), issued_at=timezone.now(),
                        code=new_code(), verify_url="https://gisportal.example/xac-minh/ABCDEFGHK/")
        done = time.perf_counter()
        if i:
            facts_s.append(middle - started)
            pdf_s.append(done - middle)
            total_s.append(done - started)
            cpu_s.append(time.process_time() - cpu)  # this process's CPU: what the load of others does not change
            sizes.append(len(pdf) / 1024)
    json.dump({"facts": _stats(facts_s), "pdf": _stats(pdf_s), "total": _stats(total_s), "cpu": _stats(cpu_s),
               "multi_zone": sum(1 for _p, zones in chosen if zones > 1), "pdf_kib": statistics.median(sizes)},
              sys.stdout)


if __name__ == "__main__":
    main()
