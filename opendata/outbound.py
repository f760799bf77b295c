"""Every request the platform makes to another server (harvest sources, webhook receivers) goes through here.

One check for every outbound door, because server-side request forgery lives where two doors check differently:
- the scheme is http(s), the URL has no user info, the host is on the door's allow-list (when it has one);
- the host's addresses are all public, unless the door allows more (a harvest host listed explicitly by the
  administrator; webhooks in local-testing mode);
- the connection goes to the address that was checked (no second DNS answer: no rebinding), TLS still checks the
  certificate against the host name;
- no redirect is followed to another host, and a same-host redirect is checked again;
- time-outs on connect, on each read and on the whole answer; answers larger than a cap are cut off and refused.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings

from layers.errors import DomainError

MAX_URL = 2048
MAX_REDIRECTS = 3
USER_AGENT = "gisportal (+https://github.com/thu-duc/gisportal)"


class OutboundRefused(DomainError):
    """A URL this door may not call (scheme, host not allowed, private address, redirect elsewhere)."""

    code = "outbound-refused"


class OutboundFailed(DomainError):
    """The remote server did not answer as needed (time-out, connection, answer too large)."""

    status = 502
    code = "outbound-failed"


@dataclass(frozen=True)
class Policy:
    """What one outbound door may reach."""

    name: str                              # "harvest" or "webhook": named in messages
    hosts: frozenset[str] | None           # allowed "host" or "host:port" entries; None: any public host
    setting: str                           # the setting that holds the list, named in refusals
    allow_http: bool = True
    private_if_listed: bool = False        # a private/loopback address is allowed when its host is listed
    private_any: bool = False              # any private/loopback address is allowed (local testing only)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    max_bytes: int = 64 * 1024 * 1024


def _host_list(value) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return frozenset(item.strip().lower().rstrip(".") for item in items if item and item.strip())


def harvest_policy() -> Policy:
    """Harvest sources: only hosts the administrator listed in GISPORTAL_HARVEST_HOSTS (none by default)."""
    return Policy(
        name="harvest", hosts=_host_list(getattr(settings, "GISPORTAL_HARVEST_HOSTS", [])),
        setting="GISPORTAL_HARVEST_HOSTS", allow_http=True, private_if_listed=True,
        connect_timeout=float(getattr(settings, "GISPORTAL_HARVEST_CONNECT_TIMEOUT", 5)),
        read_timeout=float(getattr(settings, "GISPORTAL_HARVEST_READ_TIMEOUT", 30)),
        total_timeout=float(getattr(settings, "GISPORTAL_HARVEST_TOTAL_TIMEOUT", 120)),
        max_bytes=int(getattr(settings, "GISPORTAL_HARVEST_MAX_BYTES", 64 * 1024 * 1024)),
    )


def webhook_policy() -> Policy:
    """Webhook receivers: https to public addresses (GISPORTAL_WEBHOOK_HOSTS narrows the hosts when set);
    GISPORTAL_WEBHOOK_ALLOW_INSECURE=1 admits http and loopback receivers, for local testing only."""
    insecure = bool(getattr(settings, "GISPORTAL_WEBHOOK_ALLOW_INSECURE", False))
    hosts = _host_list(getattr(settings, "GISPORTAL_WEBHOOK_HOSTS", []))
    return Policy(
        name="webhook", hosts=hosts or None, setting="GISPORTAL_WEBHOOK_HOSTS", allow_http=insecure,
        private_any=insecure, connect_timeout=3.0, read_timeout=10.0, total_timeout=15.0, max_bytes=64 * 1024,
    )


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the checked address) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    path: str  # path and query, as sent

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def _refuse(vi: str, en: str) -> OutboundRefused:
    return OutboundRefused(vi, en, parameter="url")


def _is_public(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[ipaddress._BaseAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise OutboundFailed(f"Không phân giải được tên máy chủ «{host}».", f"The host name “{host}” does not resolve.",
                             parameter="url") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str, policy: Policy) -> Target:
    """The URL checked against the door's policy and resolved once; OutboundRefused (400) with the reason."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise _refuse(f"Địa chỉ URL không hợp lệ (tối đa {MAX_URL} ký tự, không có khoảng trắng hay ký tự điều khiển).",
                      f"Not a valid URL (at most {MAX_URL} characters, no spaces or control characters).")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("Địa chỉ URL không hợp lệ.", "Not a valid URL.") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host:
        raise _refuse("Chỉ chấp nhận địa chỉ http:// hoặc https:// có tên máy chủ.",
                      "Only http:// or https:// URLs with a host name are accepted.")
    if scheme == "http" and not policy.allow_http:
        raise _refuse(f"Địa chỉ cho {policy.name} phải dùng https://.", f"A {policy.name} URL must use https://.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("Địa chỉ URL không được chứa tên đăng nhập hay mật khẩu.", "The URL must not carry a user name or password.")
    port = port or (443 if scheme == "https" else 80)
    listed = policy.hosts is not None and (host in policy.hosts or f"{host}:{port}" in policy.hosts)
    if policy.hosts is not None and not listed:
        raise _refuse(f"Máy chủ «{host}:{port}» không nằm trong danh sách được phép ({policy.setting}).",
                      f"The host “{host}:{port}” is not on the allow-list ({policy.setting}).")
    addresses = _resolve(host, port)
    private = [a for a in addresses if not _is_public(a)]
    if private and not (policy.private_any or (policy.private_if_listed and listed)):
        raise _refuse(f"Máy chủ «{host}» trỏ tới địa chỉ nội bộ ({private[0]}), không được phép.",
                      f"The host “{host}” points at a private or loopback address ({private[0]}), which is not allowed.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url=url, scheme=scheme, host=host, port=port, address=str(addresses[0]), path=path)


@dataclass
class Response:
    """A remote answer, read whole within the policy's size cap."""

    status: int
    headers: dict[str, str]
    content: bytes
    url: str
    elapsed: float = 0.0
    history: list[str] = field(default_factory=list)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def _pool(target: Target, policy: Policy):
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
    common = dict(timeout=timeout, retries=False, maxsize=1)
    if target.scheme == "https":  # connect to the checked address; certificate and SNI for the host name
        return urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                           assert_hostname=target.host, cert_reqs="CERT_REQUIRED", **common)
    return urllib3.HTTPConnectionPool(target.address, target.port, **common)


def _read(raw, policy: Policy, deadline: float, url: str) -> bytes:
    chunks, size = [], 0
    for chunk in raw.stream(64 * 1024, decode_content=True):
        size += len(chunk)
        if size > policy.max_bytes:
            raise OutboundFailed(f"Máy chủ «{url}» trả về quá {policy.max_bytes} byte.",
                                 f"The server at “{url}” answered more than {policy.max_bytes} bytes.", parameter="url")
        if time.monotonic() > deadline:
            raise OutboundFailed(f"Máy chủ «{url}» trả lời quá chậm (quá {policy.total_timeout:g} giây).",
                                 f"The server at “{url}” answered too slowly (over {policy.total_timeout:g} s).", parameter="url")
        chunks.append(chunk)
    return b"".join(chunks)


def request(method: str, url: str, policy: Policy, *, headers: dict[str, str] | None = None,
            body: bytes | None = None, follow_redirects: bool = True) -> Response:
    """One outbound request under the policy. Redirects are followed only to the same scheme, host and port
    (each checked again), at most MAX_REDIRECTS; OutboundRefused / OutboundFailed otherwise."""
    started = time.monotonic()
    deadline = started + policy.total_timeout
    history: list[str] = []
    while True:
        target = check_url(url, policy)
        send = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **(headers or {}), "Host": target.host_header}
        try:
            with _pool(target, policy) as pool:
                raw = pool.urlopen(method, target.path, body=body, headers=send, redirect=False,
                                   preload_content=False, assert_same_host=False)
                try:
                    content = _read(raw, policy, deadline, url)
                finally:
                    raw.release_conn()
        except urllib3.exceptions.HTTPError as error:
            reason = type(getattr(error, "reason", None) or error).__name__
            raise OutboundFailed(f"Không kết nối được tới «{url}» ({reason}).", f"Could not reach “{url}” ({reason}).",
                                 parameter="url") from None
        response = Response(raw.status, {k.lower(): v for k, v in raw.headers.items()}, content, url,
                            time.monotonic() - started, history)
        if not (follow_redirects and raw.status in (301, 302, 303, 307, 308) and response.header("location")):
            return response
        following = urljoin(url, response.header("location"))
        moved = check_url(following, policy) if len(history) < MAX_REDIRECTS else None
        if moved is None or (moved.scheme, moved.host, moved.port) != (target.scheme, target.host, target.port):
            raise _refuse(f"Máy chủ «{target.host}» chuyển hướng sang nơi khác ({following[:200]}); không theo.",
                          f"The server “{target.host}” redirects elsewhere ({following[:200]}); not followed.")
        history.append(url)
        url = following
        if raw.status == 303:
            method, body = "GET", None


def get(url: str, policy: Policy, *, headers: dict[str, str] | None = None) -> Response:
    """A GET under the policy (same-host redirects followed)."""
    return request("GET", url, policy, headers=headers)


def post(url: str, policy: Policy, *, body: bytes, headers: dict[str, str] | None = None) -> Response:
    """A POST under the policy; redirects are not followed (a receiver answers where it was registered)."""
    return request("POST", url, policy, headers=headers, body=body, follow_redirects=False)
