"""The client's address, decided once for every reader (fair use, django-axes, the proxy headers' trust).

REMOTE_ADDR is the peer that opened the connection. Only when that peer is one of GISPORTAL_TRUSTED_PROXIES
(the caching front, a load balancer) is X-Forwarded-For read, and then from the right: each trusted proxy
appends the peer it saw, so the right-most entries are the ones our own proxies wrote, and the first
untrusted one from the right is the client. Entries left of it are whatever the client sent (a spoofed
"X-Forwarded-For: 1.2.3.4" stays on the left and is never reached). A malformed entry stops the walk: the
answer is then the last trusted hop, the one address we know for sure.
"""
import functools
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Hops read at most from the right: more trusted proxies than this in a row is a misconfiguration, not a path.
MAX_HOPS = 16
# An entry longer than the longest IPv6 text with a zone is not an address; refused before parsing.
MAX_ENTRY = 64
# Headers that say what the client asked for (scheme, host, port): honoured only from a trusted proxy.
PROXY_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
                 "HTTP_X_FORWARDED_SSL", "HTTP_FORWARDED")


def parse_networks(items: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """IPs or CIDRs ('10.0.0.0/8', '::1'); ImproperlyConfigured naming the bad one."""
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"GISPORTAL_TRUSTED_PROXIES: {item!r} is not an IP address or network (e.g. 10.0.0.0/8).") from None
    return tuple(networks)


@functools.cache
def _networks(items: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(items)


def trusted_networks() -> tuple[Network, ...]:
    """The configured trusted proxies (parsed once per distinct setting)."""
    return _networks(tuple(getattr(settings, "GISPORTAL_TRUSTED_PROXIES", ())))


def parse_address(text: str) -> Address | None:
    """An address ('1.2.3.4', '2001:db8::1', '::ffff:1.2.3.4' as IPv4); None when it is not one."""
    text = text.strip()
    if not text or len(text) > MAX_ENTRY:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_trusted(address: Address | None) -> bool:
    """Whether the address is one of the trusted proxies."""
    return address is not None and any(address in network for network in trusted_networks())


def peer_is_trusted(request: HttpRequest) -> bool:
    """Whether the connection came from a trusted proxy (whose X-Forwarded-* headers may be believed)."""
    return is_trusted(parse_address(request.META.get("REMOTE_ADDR", "")))


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the right-most untrusted X-Forwarded-For hop."""
    peer_text = request.META.get("REMOTE_ADDR", "") or ""
    peer = parse_address(peer_text)
    if not is_trusted(peer):
        return str(peer) if peer is not None else peer_text[:MAX_ENTRY]
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    last_trusted = peer
    for raw in reversed(hops[-MAX_HOPS:]):
        hop = parse_address(raw)
        if hop is None:
            break  # malformed (or empty): nothing left of it can be believed
        if not is_trusted(hop):
            return str(hop)
        last_trusted = hop
    return str(last_trusted)


class ProxyHeadersMiddleware:
    """Drops X-Forwarded-Proto/-Host/-Port (and Forwarded) unless the peer is a trusted proxy.

    Django's SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST/PORT believe those headers from anyone; after
    this they come only from GISPORTAL_TRUSTED_PROXIES, so absolute URLs (OGC links, feeds, redirects) and
    the https check follow the front, never a client's own header.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not peer_is_trusted(request):
            for name in PROXY_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)
