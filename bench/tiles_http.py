"""Load generation and server processes for bench/tiles (loopback only, bounded in count and time)."""
import http.client
import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from bench.processes import stop_group

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Run:
    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    statuses: dict[int, int] = field(default_factory=dict)
    bytes: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fetch_all(port: int, paths: list[str], concurrency: int, headers: dict | None = None,
              timeout: float = 120.0, deadline: float = 900.0) -> Run:
    """Every path once, by `concurrency` keep-alive connections (a thread each). Stops at `deadline` s."""
    headers = {"Accept-Encoding": "gzip", **(headers or {})}
    counter = itertools.count()
    lock = threading.Lock()
    run = Run(0, 0.0)
    started = time.perf_counter()

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        local_lat, local_status, local_bytes = [], {}, 0
        while True:
            i = next(counter)
            if i >= len(paths) or time.perf_counter() - started > deadline:
                break
            t0 = time.perf_counter()
            for attempt in range(2):
                try:
                    conn.request("GET", paths[i], headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
                    if attempt:
                        raise
            local_lat.append(time.perf_counter() - t0)
            local_status[response.status] = local_status.get(response.status, 0) + 1
            local_bytes += len(body)
        conn.close()
        with lock:
            run.latencies.extend(local_lat)
            for status, n in local_status.items():
                run.statuses[status] = run.statuses.get(status, 0) + n
            run.bytes += local_bytes

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - started
    run.requests = len(run.latencies)
    return run


_LUA = """
local paths = {}
local i = 0
wrk.headers["Accept-Encoding"] = "gzip"
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_run(port: int, paths: list[str], connections: int, seconds: int, threads: int = 2) -> dict:
    """wrk cycling over the paths for `seconds`: {rps, p50_ms, p99_ms, non_2xx, requests}."""
    with tempfile.TemporaryDirectory() as tmp:
        script, listing = Path(tmp) / "paths.lua", Path(tmp) / "paths.txt"
        script.write_text(_LUA)
        listing.write_text("\n".join(paths) + "\n")
        result = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(script),
             f"http://{HOST}:{port}", "--", str(listing)],
            capture_output=True, text=True, timeout=seconds + 60,
        )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0}


def warm_run(port: int, paths: list[str], connections: int, seconds: int) -> dict:
    """Requests per second over cached tiles: wrk when installed, else the thread client."""
    if wrk_available():
        return {**wrk_run(port, paths, connections, seconds), "client": "wrk"}
    cycle = (paths * (1 + (3000 * seconds) // max(1, len(paths))))[: 3000 * seconds]
    run = fetch_all(port, cycle, connections, deadline=seconds)
    return {"rps": run.rate, "p50_ms": run.percentile(50) * 1000, "p99_ms": run.percentile(99) * 1000,
            "requests": run.requests, "non_2xx": sum(n for s, n in run.statuses.items() if s >= 400),
            "client": "python threads"}


class Server:
    """A server process we start (its own process group) and stop by its id; never anyone else's."""

    def __init__(self, argv: list[str], env: dict, port: int, cwd: Path, log: Path, ready_path: str = "/healthz"):
        self.argv, self.env, self.port, self.cwd, self.log, self.ready_path = argv, env, port, cwd, log, ready_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log, "w")
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited; see {self.log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", self.ready_path)
                if conn.getresponse().status < 500:
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.argv[0]} did not answer in 90 s; see {self.log}")

    def pids(self) -> list[int]:
        """The server's own process and its children (workers)."""
        if self.process is None:
            return []
        found = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(entry))
        return found

    def rss_mb(self) -> dict[int, float]:
        out = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[pid] = int(line.split()[1]) / 1024
            except OSError:
                pass
        return out

    def __exit__(self, *exc) -> None:
        if self.process:
            stop_group(self.process)  # the group we created at start, nothing else
        self._log.close()
