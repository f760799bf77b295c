"""The production files match the cluster's shape (docker-compose.yml, deploy/, the entrypoint), the front's VCL
compiles, and `make cluster` refuses taken or malformed ports before it starts anything, naming the variable."""
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
RENDER = ROOT / "deploy" / "varnish" / "render.py"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_cluster_shape():
    services = _compose()["services"]
    assert {"primary", "replica", "redis", "migrate", "web", "worker", "varnish"} <= set(services)
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
    assert services["migrate"]["command"] == ["release"] and services["web"]["command"] == ["web"]
    assert services["worker"]["command"] == ["worker"]
    assert "replicas" in services["web"]["deploy"]
    assert services["replica"]["image"] == services["primary"]["image"]
    assert "archive_mode=on" in services["primary"]["command"]
    assert services["web"]["environment"]["DATABASE_REPLICA_URL"].endswith("@replica:5432/gisportal")
    # Every file the services mount or build from is in the repository.
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source
        build = service.get("build")
        if isinstance(build, dict):
            assert (ROOT / build["dockerfile"]).is_file()


def test_replica_entrypoint_copies_the_primary_with_a_slot_as_a_standby():
    text = (ROOT / "deploy" / "postgres" / "replica-entrypoint.sh").read_text()
    assert "pg_basebackup" in text and "-S \"$SLOT\"" in text and " -R " in text
    assert subprocess.run(["bash", "-n", str(ROOT / "deploy" / "postgres" / "replica-entrypoint.sh")]).returncode == 0


def test_web_nodes_never_migrate_only_the_release_step_does():
    text = (ROOT / "scripts" / "docker-entrypoint.sh").read_text()
    branches = dict(re.findall(r"^  (\w+)\)(.*?);;", text, re.S | re.M))
    assert "migrate" in branches["release"]
    assert "migrate" not in branches["web"] and "migrate" not in branches["worker"]


def test_rendered_vcl_compiles_and_render_refuses_bad_nodes():
    out = subprocess.run([sys.executable, str(RENDER), "8081", "8082", "--purger", "10.1.0.0/16"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.count(".probe = healthz;") == 2 and '"10.1.0.0"/16;' in out.stdout
    for bad in (["8081;x"], ["web:99999"], ["a b:80"], ["8081", "--purger", "x"]):
        refused = subprocess.run([sys.executable, str(RENDER), *bad], capture_output=True, text=True)
        assert refused.returncode == 2 and "render.py:" in refused.stderr and not refused.stdout, bad
    if not shutil.which("varnishd"):
        pytest.skip("varnishd not installed")
    folder = Path("/tmp") / f"gp-vcc-{os.getpid()}"
    vcl = folder / "gisportal.vcl"
    folder.mkdir(exist_ok=True)
    try:
        vcl.write_text(out.stdout)
        compiled = subprocess.run(["varnishd", "-C", "-f", str(vcl), "-n", str(folder / "n")], capture_output=True,
                                  text=True, timeout=60)
        assert compiled.returncode == 0, compiled.stderr[-2000:]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("variable", ["GISPORTAL_FRONT_PORT", "GISPORTAL_NODE_PORTS"])
def test_make_cluster_names_a_taken_port_and_its_variable(variable):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {**os.environ, "GISPORTAL_FRONT_PORT": str(port + 1 if variable != "GISPORTAL_FRONT_PORT" else port),
               "GISPORTAL_NODE_PORTS": f"{port},{port + 2}" if variable == "GISPORTAL_NODE_PORTS" else "1,2"}
        out = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "cluster"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert f"Port {port}" in out.stderr and variable in out.stderr, out.stderr


def test_make_cluster_refuses_malformed_ports():
    env = {**os.environ, "GISPORTAL_NODE_PORTS": "8081;rm -rf /"}
    out = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap.sh"), "cluster"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "GISPORTAL_NODE_PORTS must be ports" in out.stderr
