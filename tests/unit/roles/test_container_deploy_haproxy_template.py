"""container_deploy's HAProxy template, rendered with the role's defaults: slots disabled until a rollout
enables one, the server state loaded back on reload, and a configuration HAProxy itself accepts."""
import os
import shutil
import subprocess

import jinja2
import pytest
import yaml

ROLE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "roles",
                                    "container_deploy"))


def render(**overrides):
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        variables = yaml.safe_load(handle)
    variables.update(overrides)
    with open(os.path.join(ROLE, "templates", "haproxy.cfg.j2")) as handle:
        template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(handle.read())
    return template.render(**variables)


SERVICES = [{"name": "web", "public_port": 8080, "slot_ports": [18080, 18081], "probe": {"path": "/health"}},
            {"name": "db", "public_port": 5432, "slot_ports": [15432, 15433], "mode": "tcp", "probe": {"type": "tcp"}}]


def test_template_slots_state_file_and_checks():
    text = render(container_deploy_proxy_services=SERVICES)
    assert "server-state-file /var/lib/haproxy/server-state" in text
    assert "load-server-state-from-file global" in text
    assert "stats socket /run/haproxy/admin.sock mode 600 level admin" in text
    assert "server blue 127.0.0.1:18080 check inter 2s fall 2 rise 2 disabled" in text
    assert "server green 127.0.0.1:15433 check inter 2s fall 2 rise 2 disabled" in text
    assert "option httpchk GET /health" in text
    # a TCP service has no HTTP check
    assert text.split("backend db")[1].count("httpchk") == 0
    as_root = render(container_deploy_proxy_user="", container_deploy_proxy_services=SERVICES)
    assert "user haproxy" in text and "user " not in as_root


@pytest.mark.skipif(not shutil.which("haproxy"), reason="haproxy is not installed (scripts/setup.sh installs it)")
def test_haproxy_accepts_the_rendered_configuration(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(render(container_deploy_proxy_services=SERVICES, container_deploy_proxy_user="",
                           container_deploy_proxy_state_file=str(tmp_path / "state"),
                           container_deploy_proxy_socket=str(tmp_path / "admin.sock")))
    proc = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
