"""Runs MapServer (the CGI program, one process per request) on a checked query, within a time limit and a
number of runs at once shared by every worker (PostgreSQL advisory locks held by a transaction on the primary
for the run's time: released at its end whatever happens, and safe behind PgBouncer in transaction mode, where a
session lock could stay with a pooled connection or be released on another).

MapServer's output passes through unchanged, except its own exception reports: those become ours (the code
kept, the text ours in vi/en), since MapServer's text can name files, the database or SQL.
"""
import logging
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from layers import db
from opendata.ows.errors import OwsError, busy, failed
from opendata.ows.params import OwsRequest

log = logging.getLogger(__name__)
SLOT_SPACE = 0x676F7773  # 'gows': first key of the MapServer run slots' advisory locks
POLL_SECONDS = 0.1
CLIENT_CODES = {"InvalidParameterValue", "LayerNotDefined", "InvalidCRS", "StyleNotDefined", "MissingParameterValue",
                "InvalidFormat", "InvalidPoint", "LayerNotQueryable", "OperationNotSupported", "OptionNotSupported",
                "InvalidDimensionValue", "VersionNegotiationFailed", "CurrentUpdateSequence", "InvalidUpdateSequence"}
_CODE = re.compile(rb'(?:exceptionCode|code)="([A-Za-z]{1,40})"')


def _acquire() -> int | None:
    """A run slot for the rest of the current transaction (its caller's, on the primary), or None."""
    deadline = time.monotonic() + max(0, int(settings.OWS_WAIT))
    with db.cursor() as cursor:
        while True:
            for key in range(max(1, int(settings.OWS_SLOTS))):
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [SLOT_SPACE, key])
                if cursor.fetchone()[0]:
                    return key
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)


def cgi_environment(query: dict[str, str], mapfile: Path, request: HttpRequest) -> dict[str, str]:
    """MapServer's CGI environment: the checked query, our mapfile, and this request's host (capabilities name
    the absolute /ows address it was reached at; the host is one ALLOWED_HOSTS admits)."""
    host = request.get_host()
    name, port = host, ""
    if re.fullmatch(r".+:[0-9]{1,5}", host):  # "[::1]" alone ends with "]", not with a port
        name, port = host.rsplit(":", 1)
    secure = request.is_secure()
    env = {"QUERY_STRING": urlencode(query), "REQUEST_METHOD": "GET", "MS_MAPFILE": str(mapfile),
           "MAPSERVER_CONFIG_FILE": str(mapfile.parent / "mapserver.conf"), "SCRIPT_NAME": "/ows",
           "SERVER_NAME": name, "HTTP_HOST": host,
           "SERVER_PORT": port or ("443" if secure else "80"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if secure:
        env["HTTPS"] = "on"
    return env


def _split(output: bytes) -> tuple[dict[str, str], bytes]:
    """CGI output into (headers, body)."""
    ends = [i for i in (output.find(b"\r\n\r\n"), output.find(b"\n\n")) if i >= 0]
    if not ends:
        return {}, output
    end = min(ends)
    gap = 4 if output[end:end + 4] == b"\r\n\r\n" else 2
    head, body = output[:end], output[end + gap:]
    headers = {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return headers, body


def _mapserver_exception(headers: dict[str, str], body: bytes) -> OwsError | None:
    """MapServer's own exception report as ours, or None when the answer is not one."""
    if "xml" not in headers.get("content-type", "") or not re.search(rb"ServiceExceptionReport|ExceptionReport",
                                                                     body[:4000]):
        return None
    match = _CODE.search(body[:4000])
    code = match.group(1).decode() if match else "NoApplicableCode"
    log.warning("MapServer exception %s: %s", code, body[:2000].decode("utf-8", "replace"))
    if code == "NotFound":  # WFS 2.0 §7.9.3.6: GetFeatureById of an id the layer does not serve is a 404
        return OwsError("NotFound", "Không có đối tượng với mã này trong lớp.", "The layer has no feature with this id.",
                        locator="ID", status=404)
    if code not in CLIENT_CODES:
        return failed()
    return OwsError(code, f"Máy chủ bản đồ từ chối yêu cầu ({code}). Hãy kiểm tra các tham số.",
                    f"The map server refused the request ({code}). Please check the parameters.")


def _mapserv(env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """(exit status, stdout, stderr) of one MapServer run; its whole process group is killed past OWS_TIMEOUT."""
    try:
        process = subprocess.Popen([settings.OWS_MAPSERV], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as error:
        log.error("MapServer could not be started: %s", error)
        raise failed() from None
    try:
        stdout, stderr = process.communicate(timeout=int(settings.OWS_TIMEOUT))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        log.warning("MapServer took longer than %s s: %s", settings.OWS_TIMEOUT, env.get("QUERY_STRING", "")[:500])
        raise failed() from None
    return process.returncode, stdout, stderr


def run(parsed: OwsRequest, mapfile: Path, request: HttpRequest) -> HttpResponse:
    """MapServer's answer to a checked request; OwsError (503) when busy, slow or failing."""
    with transaction.atomic(using=db.write_alias()):  # holds the slot; MapServer reads on its own connection
        if _acquire() is None:
            raise busy(max(1, int(settings.OWS_WAIT)))
        returncode, stdout, stderr = _mapserv(cgi_environment(parsed.query, mapfile, request))
    headers, body = _split(stdout)
    if returncode != 0 or not headers.get("content-type"):
        log.warning("MapServer failed (exit %s): %s", returncode, stderr[:2000])
        raise failed()
    error = _mapserver_exception(headers, body)
    if error is not None:
        raise error
    response = HttpResponse(body, content_type=headers["content-type"])
    response["Cache-Control"] = "public, max-age=60"
    return response
