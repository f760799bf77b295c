"""The site's own door: a health check for the front and the operators."""
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from layers import db


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the primary answers; the replica's state beside it (a replica away sends reads to the primary)."""
    with db.cursor() as cursor:
        cursor.execute("SELECT postgis_lib_version()")
        version = cursor.fetchone()[0]
    return JsonResponse({"status": "ok", "postgis": version, "replica": db.replica_state()})
