"""Verdicts on the VM's own services, replayed from a capture of the lab guest with dockerd running.

fixtures/debian12-guest-docker.json was captured by capture_fixture.py
--include-all on the shared integration guest (docker.io, containerd,
qemu-guest-agent, systemd-networkd, journald, sshd; no test service).
"""
import os

import pytest
from discover_replay import ReplayReader, load, replay_run, replay_which

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import discover

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "debian12-guest-docker.json")


@pytest.fixture(scope="module")
def capture():
    return load(FIXTURE)


@pytest.fixture(scope="module")
def named(capture):
    return discover({"services": capture["services"]}, replay_run(capture), ReplayReader(capture),
                    replay_which(capture))["services"]


def test_none_of_them_is_migratable(named):
    assert sorted(named) == ["containerd.service", "docker.service", "qemu-guest-agent.service", "ssh.service",
                             "systemd-journald.service", "systemd-networkd.service"]
    for svc in named.values():
        assert svc["migratable"] is False and svc["reasons"]


def test_kernel_and_host_network_reasons(named):
    networkd = " | ".join(named["systemd-networkd.service"]["reasons"])
    assert "cap_net_admin" in networkd and "raw or packet sockets" in networkd and "systemd component" in networkd
    journald = " | ".join(named["systemd-journald.service"]["reasons"])
    assert "DeviceAllow" in journald and "/dev/kmsg" in journald
    agent = " | ".join(named["qemu-guest-agent.service"]["reasons"])
    assert "holds host device /dev/vport" in agent


def test_packages_and_paths(named):
    assert named["docker.service"]["package"] == "docker.io"
    assert named["containerd.service"]["package"] == "containerd"
    assert named["qemu-guest-agent.service"]["package"] == "qemu-guest-agent"
    assert named["systemd-journald.service"]["package"] == "systemd"
    assert named["docker.service"]["data_paths"] == ["/var/lib/docker"]
    assert named["containerd.service"]["config_paths"] == ["/etc/containerd"]
    assert named["ssh.service"]["config_paths"] == ["/etc/ssh"]


def test_socket_activation_noted(named):
    notes = " | ".join(named["docker.service"]["notes"])
    assert "socket-activated by docker.socket" in notes


def test_include_all_reports_non_listening_services(capture):
    result = discover({"include_all": True}, replay_run(capture), ReplayReader(capture), replay_which(capture))
    # the image's own first-boot unit: enabled, not core, listens on nothing
    hostkey = result["services"]["hybridops-ssh-hostkey.service"]
    assert hostkey["listen"] == [] and hostkey["type"] == "oneshot"
    assert hostkey["migratable"] is False and any("oneshot" in r for r in hostkey["reasons"])
    assert "docker.service" not in result["services"]
    assert [e["unit"] for e in result["excluded"]] == ["ssh.service", "systemd-networkd.service"]
