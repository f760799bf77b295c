"""The answer to a locked-out sign-in (django-axes): 429, Retry-After and how long, in Vietnamese and English.

Axes locks a client IP address after AXES_FAILURE_LIMIT failures whatever the usernames tried, and a
username after as many failures from any addresses (AXES_LOCKOUT_PARAMETERS), for AXES_COOLOFF_TIME.
"""
import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse

from gisportal.errors import domain_error_response
from layers.errors import TooManyRequests


class LoginLocked(TooManyRequests):
    code = "login-locked"


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the lockout as the platform's error (a page or JSON), saying when to try again."""
    cool_off = get_cool_off(request)
    seconds = max(60, int(cool_off.total_seconds())) if cool_off else 15 * 60
    minutes = math.ceil(seconds / 60)
    return domain_error_response(request, LoginLocked(
        f"Đăng nhập sai quá nhiều lần từ địa chỉ này hoặc với tên đăng nhập này. "
        f"Vui lòng thử lại sau {minutes} phút.",
        f"Too many failed sign-ins from this address or for this username. Please try again in {minutes} minutes.",
        retry_after=seconds,
    ))
