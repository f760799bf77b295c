"""A guard every request passes before any view: each query parameter given at most once.

Every door reads parameters with QueryDict.get, which silently takes the last of repeated values; one
check here (layers.querystring.check_single_values, which door parsers also call) answers a repeated
parameter with a 400 from the error table, whichever door it was sent to.
"""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gisportal.errors import domain_error_response
from layers.errors import DomainError
from layers.querystring import check_single_values


class SingleValueMiddleware:
    """400 for a request that repeats a query parameter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_single_values(request.GET)
        except DomainError as error:
            return domain_error_response(request, error)
        return self.get_response(request)
