"""Abuse limits on filing reports: per client address and per device, counted in the shared Redis counters.

Neither key alone is trusted: a device id is whatever the client sends (a cookie the form sets, the app's
X-Device-Id header), so a bot can mint a new one per request, and it is then held by its address; an address
is shared by many residents behind one carrier NAT, so its limit is higher, and each device on it is held
by its own. Every attempt counts, refused ones too: a flood of bad photos costs decoding time.
Counted in layers.rate_window, as every other rate limit; Redis down: attempts are admitted.
"""
import hashlib
import re
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from gisportal.clientip import client_ip
from layers import rate_window
from layers.errors import TooManyRequests

DEVICE_COOKIE = "gp_device"
DEVICE_HEADER = "X-Device-Id"
_DEVICE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ReportsLimited(TooManyRequests):
    code = "too-many-reports"


def limits() -> tuple[int, int, int]:
    """(per address, per device, window seconds) from settings."""
    return (int(getattr(settings, "GISPORTAL_REPORTS_PER_IP", 30)),
            int(getattr(settings, "GISPORTAL_REPORTS_PER_DEVICE", 10)),
            int(getattr(settings, "GISPORTAL_REPORTS_WINDOW", 3600)))


def device_id(request: HttpRequest) -> str | None:
    """The device id the client sent (header for the app, cookie for the form); None when absent or malformed."""
    value = request.headers.get(DEVICE_HEADER) or request.COOKIES.get(DEVICE_COOKIE) or ""
    return value if _DEVICE.fullmatch(value) else None


def give_device_cookie(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Sets the form's device cookie when the browser has none (a year; first-party, not readable by scripts)."""
    if request.COOKIES.get(DEVICE_COOKIE) is None or not _DEVICE.fullmatch(request.COOKIES[DEVICE_COOKIE]):
        response.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(24), max_age=365 * 86400, httponly=True,
                            samesite="Lax", secure=request.is_secure())
    return response


def admit_report(request: HttpRequest) -> None:
    """Counts this attempt per address and per device; ReportsLimited (429, Retry-After) past either limit."""
    per_ip, per_device, window = limits()
    checks = [(f"ip:{client_ip(request)}", per_ip)]
    device = device_id(request)
    if device:  # stored hashed: the counters never hold the id itself
        checks.append((f"device:{hashlib.sha256(device.encode()).hexdigest()[:32]}", per_device))
    for name, limit in checks:
        counted = rate_window.hit("reports", name, window)
        count, reset = counted.count, counted.resets_in
        if count > limit:
            minutes = max(1, round(reset / 60))
            raise ReportsLimited(
                f"Bạn đã gửi quá nhiều phản ánh trong thời gian ngắn (tối đa {limit} trong {window // 60} phút). "
                f"Vui lòng thử lại sau khoảng {minutes} phút, hoặc gọi đường dây nóng 1022.",
                f"Too many reports in a short time (at most {limit} per {window // 60} minutes). "
                f"Please try again in about {minutes} minutes, or call the 1022 hotline.",
                retry_after=reset)
