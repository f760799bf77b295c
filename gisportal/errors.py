"""The one table from domain errors to HTTP responses, with messages in vi/en."""
import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language

from layers.errors import DomainError, NotFound


def _wants_html(request: HttpRequest) -> bool:
    """A person's browser on a page (APIs, tiles and OGC answer JSON whatever the Accept header says)."""
    machine_paths = ("/tiles/", "/ogc/", "/api/")
    return "text/html" in request.headers.get("Accept", "") and not request.path.startswith(machine_paths)


def domain_error_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    """A DomainError as a short page in the visitor's language, or as JSON {code, description, description_vi, parameter}."""
    if _wants_html(request):
        response = render(request, "error.html", {"message": error.message(get_language() or "vi")}, status=error.status)
    else:
        body = {"code": error.code, "description": error.message_en, "description_vi": error.message_vi}
        if error.parameter:
            body["parameter"] = error.parameter
        response = JsonResponse(body, status=error.status, json_dumps_params={"ensure_ascii": False})
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(int(error.retry_after))
    return response


class DomainErrorMiddleware:
    """Turns any DomainError a view raises into its response (views stay free of status codes)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return domain_error_response(request, exception)
        return None


def not_found(request, exception=None):
    return domain_error_response(request, NotFound("Không tìm thấy trang.", "Page not found."))


def server_error(request):
    from gisportal.middleware import fault_response

    # Django calls this inside its except block: a fault outside any view (middleware, session save).
    response = fault_response(request, sys.exc_info()[1])
    if response is not None:
        return response
    return HttpResponse(
        "Lỗi máy chủ. Vui lòng thử lại sau. / Server error. Please try again later.",
        status=500, content_type="text/plain; charset=utf-8",
    )
