"""A socket-activated service that is not running, replayed from the lab guest.

fixtures/debian12-guest-socket-activation.json: hybridops-disc-sa.socket
(ListenStream=8099) triggering hybridops-disc-sa.service, whose ExecStart is
``/usr/bin/python3 -c "import socket; socket.socket(fileno=3).accept()"``
(a quoted argument that `systemctl show` prints space-joined). Only systemd
(PID 1) holds the socket.
"""
import os

import pytest
from discover_replay import ReplayReader, load, replay_run, replay_which

from ansible_collections.hybridops.fleet.plugins.module_utils._discover import systemd
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import discover

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "debian12-guest-socket-activation.json")
UNIT = "hybridops-disc-sa.service"


@pytest.fixture(scope="module")
def capture():
    return load(FIXTURE)


@pytest.fixture(scope="module")
def result(capture):
    return discover({}, replay_run(capture), ReplayReader(capture), replay_which(capture))


def test_socket_held_by_systemd_maps_to_the_triggered_service(result):
    sock = next(s for s in result["sockets"] if s["port"] == 8099)
    assert sock["pids"] == [1] and sock["process"] == "systemd"
    assert sock["socket_unit"] == "hybridops-disc-sa.socket" and sock["unit"] == UNIT


def test_inactive_socket_activated_service_is_reported(result):
    svc = result["services"][UNIT]
    assert svc["active_state"] == "inactive" and svc["enabled"] is False
    assert svc["listen"] == [{"proto": "tcp", "family": 6, "address": "::", "port": 8099}]
    assert svc["triggered_by"] == ["hybridops-disc-sa.socket"]
    assert any("socket-activated" in n for n in svc["notes"]) and any("not running" in n for n in svc["notes"])
    assert svc["container_spec"]["ports"] == ["8099:8099/tcp"]


def test_quoted_argument_kept_from_the_unit_file(capture, result):
    show = next(c for c in capture["run"] if c["argv"][:2] == ["systemctl", "show"] and c["argv"][-1] == UNIT)
    lossy = systemd.parse_exec(systemd.parse_show(show["stdout"])[0]["ExecStart"])[0]["argv"]
    assert lossy == ["/usr/bin/python3", "-c", "import", "socket;", "socket.socket(fileno=3).accept()"]
    svc = result["services"][UNIT]
    assert svc["exec_start"] == ["/usr/bin/python3", "-c", "import socket; socket.socket(fileno=3).accept()"]
    assert svc["container_spec"]["command"] == ["python3", "-c", "import socket; socket.socket(fileno=3).accept()"]


def test_unit_file_exec_start_rules():
    base = "[Unit]\nDescription=x\n[Service]\nExecStart=-/usr/bin/app --name 'a b' \\\n  --flag\n"
    assert systemd.unit_file_exec_start([base]) == ["/usr/bin/app", "--name", "a b", "--flag"]
    override = "[Service]\nExecStart=\nExecStart=/usr/bin/other \"x y\"\n"
    assert systemd.unit_file_exec_start([base, override]) == ["/usr/bin/other", "x y"]
    assert systemd.unit_file_exec_start(["[Service]\nExecStart=@/usr/bin/app app-name\n"]) is None
    assert systemd.unit_file_exec_start(["[Socket]\nExecStart=/bin/x\n"]) is None


def test_parse_listen():
    assert systemd.parse_listen("[::]:8099 (Stream) /run/docker.sock (Stream) 0.0.0.0:53 (Datagram)") == [
        ("tcp", 8099), ("udp", 53)]
