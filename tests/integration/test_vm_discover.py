"""vm_discover on the real lab guest: a real systemd service, sshd from Debian's package, secrets kept out.

The test installs its own service on the shared guest (a python3 http.server
run by systemd as a dedicated user, with an EnvironmentFile holding secrets,
a config file under /etc and a state directory) and removes all of it at the end.
"""
import json

import guest_service
import pytest

UNIT = "hybridops-disc-web"
PORT = 8088
SECRETS = ("it-s3cr3t-t0ken-5150", "it-hunter2-pw-6767")
# facts that change between two runs on a live host: usage, and sshd's per-connection
# processes (each Ansible SSH connection adds sshd children to ssh.service) and title
VOLATILE_KEYS = ("memory_bytes", "cpu_seconds", "tasks", "pids", "cmdline")

UNIT_FILE = """[Unit]
Description=hybridops.fleet vm_discover integration test web server
After=network.target

[Service]
User={unit}
Group={unit}
EnvironmentFile=/etc/default/{unit}
Environment=WEB_MODE=production "WEB_TITLE=Hybrid Ops"
WorkingDirectory=/srv/{unit}
ConfigurationDirectory={unit}
StateDirectory={unit}
ExecStart=/usr/bin/python3 -m http.server {port} --directory /srv/{unit}
Restart=on-failure

[Install]
WantedBy=multi-user.target
""".format(unit=UNIT, port=PORT)

SETUP = guest_service.install_tasks(UNIT, PORT, UNIT_FILE, dirs=["/srv/" + UNIT, "/etc/" + UNIT], files={
    "/srv/%s/index.html" % UNIT: ("<h1>discovered</h1>\n", "0644"),
    "/etc/%s/web.conf" % UNIT: ("greeting = hello\n", "0644"),
    "/etc/default/" + UNIT: ("WEB_GREETING=hello\nWEB_API_TOKEN=%s\nDB_PASSWORD=\"%s\"\n" % SECRETS, "0600"),
})

TEARDOWN = guest_service.remove_tasks(UNIT, ["/srv/" + UNIT, "/etc/" + UNIT, "/etc/default/" + UNIT, "/var/lib/" + UNIT])


def _check(results):
    for result in results:
        assert not result.get("failed"), result


@pytest.fixture(scope="module")
def web_service(lab_guest, ansible):
    """The test's own systemd service on the shared guest, removed afterwards."""
    try:
        _check(ansible.run_tasks(SETUP, hosts="lab_guests", inventory=lab_guest["inventory"])[lab_guest["name"]])
        yield UNIT
    finally:
        ansible.run_tasks(TEARDOWN, hosts="lab_guests", inventory=lab_guest["inventory"])


@pytest.fixture(scope="module")
def discovered(lab_guest, ansible, web_service):
    """Three runs in one play: named units, the same in check mode, the default selection."""
    tasks = [
        {"hybridops.fleet.vm_discover": {"services": [web_service, "sshd"]}},
        {"hybridops.fleet.vm_discover": {"services": [web_service, "sshd"]}, "check_mode": True},
        {"hybridops.fleet.vm_discover": {}},
        {"hybridops.fleet.vm_discover": {"services": ["hybridops-no-such-unit"]}},
    ]
    return ansible.run_tasks(tasks, hosts="lab_guests", inventory=lab_guest["inventory"])[lab_guest["name"]]


def test_service_discovered(discovered):
    result = discovered[0]
    assert not result.get("failed"), result
    assert result["changed"] is False
    web = result["services"][UNIT + ".service"]
    assert web["unit"] == UNIT + ".service" and web["active"] and web["enabled"]
    assert {"proto": "tcp", "port": PORT} in [{"proto": s["proto"], "port": s["port"]} for s in web["listen"]]
    assert web["user"] == UNIT and web["uid"] > 0
    assert web["exec_start"][-4:] == ["http.server", str(PORT), "--directory", "/srv/" + UNIT]
    assert web["config_paths"] == ["/etc/" + UNIT]
    assert web["data_paths"] == ["/srv/" + UNIT, "/var/lib/" + UNIT]
    assert web["package"].startswith("python3")
    assert web["environment"]["WEB_GREETING"] == "hello"
    assert web["environment"]["WEB_API_TOKEN"] == "********"
    assert web["secret_env_keys"] == ["DB_PASSWORD", "WEB_API_TOKEN"]
    assert web["memory_bytes"] > 0 and web["cpu_seconds"] >= 0
    assert web["migratable"] is True, web["reasons"]
    assert web["probe"] == {"type": "http", "port": PORT, "path": "/"}


def test_proposed_spec(discovered):
    web = discovered[0]["services"][UNIT + ".service"]
    spec = web["container_spec"]
    assert spec["name"] == UNIT
    assert "%d:%d/tcp" % (PORT, PORT) in spec["ports"]
    targets = dict((m["target"], m) for m in spec["mounts"])
    assert targets["/etc/" + UNIT]["read_only"] is True
    assert targets["/srv/" + UNIT]["read_only"] is False and targets["/srv/" + UNIT]["type"] == "bind"
    assert "/var/lib/" + UNIT in targets
    assert spec["user"] == "%d:%d" % (web["uid"], web["gid"])
    assert spec["command"][:3] == ["python3", "-m", "http.server"]
    assert "WEB_API_TOKEN" not in spec["env"] and "DB_PASSWORD" not in spec["env"]
    assert spec["healthcheck"]["test"][0] == "CMD"


def test_sshd_package(discovered):
    ssh = discovered[0]["services"]["sshd.service"]
    assert ssh["unit"] == "ssh.service"
    assert ssh["package"] == "openssh-server"
    assert 22 in [s["port"] for s in ssh["listen"]]
    assert ssh["migratable"] is False and ssh["reasons"]


def test_no_secret_in_any_result(discovered):
    text = json.dumps(discovered)
    for secret in SECRETS:
        assert secret not in text


def test_check_mode_same_result(discovered):
    normal, check = discovered[0], discovered[1]
    assert not check.get("failed"), check
    assert check["changed"] is False

    assert check["host"] == normal["host"]
    assert sorted(check["services"]) == sorted(normal["services"])
    differing = []
    for name, svc in normal["services"].items():
        for key in sorted(set(svc) | set(check["services"][name])):
            if key not in VOLATILE_KEYS and svc.get(key) != check["services"][name].get(key):
                differing.append((name, key, svc.get(key), check["services"][name].get(key)))
    assert not differing


def test_default_selection(discovered):
    default = discovered[2]
    assert not default.get("failed"), default
    assert UNIT + ".service" in default["services"]
    assert "ssh.service" not in default["services"]
    assert "ssh.service" in [item["unit"] for item in default["excluded"]]
    assert any(s["port"] == PORT and s["unit"] == UNIT + ".service" for s in default["sockets"])


def test_missing_unit_fails(discovered):
    missing = discovered[3]
    assert missing.get("failed")
    assert "no such systemd unit: hybridops-no-such-unit.service" in missing["msg"]
