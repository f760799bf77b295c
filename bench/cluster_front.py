"""The Varnish front for bench/cluster and the tests: rendered from deploy/varnish (the VCL `make cluster` runs),
started on a free port in a folder of its own, stopped by its own pid only."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RENDER = ROOT / "deploy" / "varnish" / "render.py"
NODE_ROW = re.compile(r"\w+\.node\d+")  # render.py names the backends node1, node2, … in the VCL "boot"


def varnish_available() -> bool:
    return shutil.which("varnishd") is not None


def render_vcl(node_ports: list[int]) -> str:
    """The cluster's VCL for nodes on 127.0.0.1 at these ports."""
    out = subprocess.run([sys.executable, str(RENDER), *map(str, node_ports)], capture_output=True, text=True,
                         check=True, timeout=30)
    return out.stdout


class Front:
    """varnishd on 127.0.0.1:port before the given node ports; a context manager (start + wait_ready, then stop).
    halt() and start() take it down and bring it back on the same port with an empty cache (a front that died)."""

    def __init__(self, port: int, node_ports: list[int], memory: str = "128m"):
        self.port, self.node_ports, self.memory = port, node_ports, memory
        # Varnish drops root for its own users: the folder must be reachable by them (not pytest's 0700 one).
        self.folder = Path(tempfile.mkdtemp(prefix="gp-front-", dir="/tmp"))
        self.folder.chmod(0o755)
        self.pidfile = self.folder / "varnish.pid"
        self.vcl = self.folder / "gisportal.vcl"
        self.vcl.write_text(render_vcl(self.node_ports))
        self.vcl.chmod(0o644)
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self) -> "Front":
        self.start()
        self.wait_ready()
        return self

    def start(self) -> None:
        """varnishd as a daemon (its manager's pid in the pid file)."""
        out = subprocess.run(["varnishd", "-a", f"127.0.0.1:{self.port}", "-f", str(self.vcl), "-n", str(self.folder / "n"),
                              "-P", str(self.pidfile), "-T", "127.0.0.1:0", "-s", f"malloc,{self.memory}"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"varnishd did not start: {out.stdout[-1500:]}{out.stderr[-1500:]}")

    def varnishadm(self, *args: str) -> str:
        return subprocess.run(["varnishadm", "-n", str(self.folder / "n"), *args], capture_output=True, text=True,
                              timeout=30).stdout

    def healthy_nodes(self) -> int:
        """How many nodes pass their probe. Only the nodes' rows count: Varnish also lists the director, which is
        healthy as soon as one node is (counting it let a test kill the only node in rotation)."""
        rows = [row.split() for row in self.varnishadm("backend.list").splitlines()]
        return sum(1 for row in rows if len(row) > 3 and NODE_ROW.fullmatch(row[0]) and row[3] == "healthy")

    def wait_ready(self, seconds: float = 60) -> None:
        """Until the front answers and every node is in rotation (a fresh front's probes pass one by one, and a
        node that joins late would leave a test or a benchmark on fewer nodes than it names)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.healthy_nodes() == len(self.node_ports) and get(self.base + "/healthz")[0] == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"the front on port {self.port} never had all {len(self.node_ports)} nodes healthy "
                           f"({self.healthy_nodes()} were)")

    def purge(self, keys: str) -> int:
        """PURGE by xkey tags (what the nodes' purge job sends); the status."""
        request = urllib.request.Request(self.base + "/", method="PURGE", headers={"xkey-purge": keys})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def halt(self) -> None:
        """Stops varnishd (the manager we started; its child goes with it) and waits until it is gone."""
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                os.kill(pid, 0)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(self, *exc) -> None:
        self.stop()


def get(url: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body); connection failures as status 0."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}, b""
