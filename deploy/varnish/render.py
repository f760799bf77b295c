"""Renders deploy/varnish/gisportal.vcl.in with the web nodes as backends (prints the VCL).

    python deploy/varnish/render.py 8081 8082              # nodes on 127.0.0.1 (make cluster, bench/cluster)
    python deploy/varnish/render.py 10.0.0.5:8000 web:8000  # host:port pairs, as given
    python deploy/varnish/render.py --resolve web:8000      # every IPv4 address the name has (compose replicas)
    python deploy/varnish/render.py 8081 --purger 10.1.0.0/16   # who else may purge (the job worker's network)

Varnish resolves a backend's host once, at load, and refuses a name with several addresses: with
`deploy.replicas` the front's entrypoint renders again from the name's addresses when it starts.
"""
import argparse
import ipaddress
import socket
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("gisportal.vcl.in")


def parse_node(text: str) -> tuple[str, int]:
    """'8081' → ('127.0.0.1', 8081); 'web:8000' → ('web', 8000); refuses anything else."""
    host, _, port = text.rpartition(":") if ":" in text else ("127.0.0.1", "", text)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a port: {text!r}")
    if not host or not all(c.isalnum() or c in ".-_" for c in host):
        raise ValueError(f"not a host name: {text!r}")
    return host, int(port)


def resolve(host: str, port: int) -> list[tuple[str, int]]:
    """Every IPv4 address of the host (sorted, so the VCL is the same for the same set)."""
    found = {info[4][0] for info in socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)}
    return [(address, port) for address in sorted(found, key=ipaddress.ip_address)]


def parse_purger(text: str) -> str:
    """'10.1.0.0/16' or '10.1.0.7' → the VCL ACL entry; refuses anything else."""
    network = ipaddress.ip_network(text, strict=False)
    return f'    "{network.network_address}"/{network.prefixlen};'


def render(nodes: list[tuple[str, int]], purgers: list[str] | None = None) -> str:
    """The VCL text for these backends; purgers: ACL entries beyond localhost and the nodes."""
    if not nodes:
        raise ValueError("no web node given")
    backends, adds, purgers = [], [], list(purgers or [])
    for i, (host, port) in enumerate(nodes, start=1):
        backends.append(f'backend node{i} {{\n    .host = "{host}";\n    .port = "{port}";\n    .probe = healthz;\n'
                        f'    .connect_timeout = 1s;\n    .first_byte_timeout = 120s;\n}}\n')
        adds.append(f"    nodes.add_backend(node{i});")
        if host not in ("127.0.0.1", "localhost") and f'    "{host}";' not in purgers:
            purgers.append(f'    "{host}";')
    return (TEMPLATE.read_text().replace("@BACKENDS@", "\n".join(backends))
            .replace("@ADD_BACKENDS@", "\n".join(adds)).replace("@PURGERS@", "\n".join(purgers)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nodes", nargs="+", help="PORT (on 127.0.0.1) or HOST:PORT")
    parser.add_argument("--resolve", action="store_true", help="one backend per IPv4 address of each HOST")
    parser.add_argument("--purger", action="append", default=[], help="an address or network that may purge")
    args = parser.parse_args(argv)
    try:
        nodes = [parse_node(text) for text in args.nodes]
        if args.resolve:
            nodes = [address for host, port in nodes for address in resolve(host, port)]
        sys.stdout.write(render(nodes, [parse_purger(text) for text in args.purger]))
    except (ValueError, OSError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
