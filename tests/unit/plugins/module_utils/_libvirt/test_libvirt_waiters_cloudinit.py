"""Waits (with a fake domain and a fake clock: no sleeping) and cloud-init seed content."""
import json
import os
import subprocess

import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (  # noqa: E402
    BackendError,
    ValidationError,
    WaitTimeout,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import cloudinit, waiters  # noqa: E402

MAC = "52:54:00:aa:bb:cc"
XML = ("<domain><name>g</name><devices><interface type='network'><mac address='%s'/><source network='default'/>"
       "<model type='virtio'/></interface><serial type='pty'><log file='%%s'/></serial></devices></domain>" % MAC)


class FakeClient:
    uri = "qemu:///system"

    def call(self, _what, func, *args):
        return func(*args)

    def is_local(self):
        return True


class FakeDom:
    """Answers per source from scripted lists (one entry per poll; the last one repeats)."""

    def __init__(self, answers, log="/nonexistent.log", state=1):
        self.answers = answers
        self.polls = dict((k, 0) for k in answers)
        self.log = log
        self._state = state

    def name(self):
        return "g"

    def state(self):
        return [self._state, 0]

    def XMLDesc(self, _flags=0):
        return XML % self.log

    def interfaceAddresses(self, source, _flags=0):
        name = {libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE: "lease",
                libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT: "agent",
                libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP: "arp"}[source]
        script = self.answers.get(name, [None])
        index = min(self.polls.get(name, 0), len(script) - 1)
        self.polls[name] = self.polls.get(name, 0) + 1
        answer = script[index]
        if isinstance(answer, Exception):
            raise answer
        if not answer:
            return {}
        return {"eth0": {"hwaddr": MAC, "addrs": [{"type": libvirt.VIR_IP_ADDR_TYPE_IPV4, "addr": answer, "prefix": 24}]}}


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def no_agent():
    return libvirt.libvirtError("Guest agent is not responding")


def test_ip_found_by_first_answering_source_in_order():
    dom = FakeDom({"lease": [None, None, "10.0.0.5"], "agent": [no_agent()], "arp": [None]})
    fake = FakeTime()
    result = waiters.wait_for_guest(FakeClient(), dom, {"ip": True, "ip_sources": ["lease", "agent", "arp"], "timeout": 60, "interval": 3},
                                    sleep=fake.sleep, clock=fake.clock)
    assert (result["ip"], result["ip_source"]) == ("10.0.0.5", "lease")
    assert fake.sleeps == [3, 3]


def test_agent_source_when_lease_missing():
    dom = FakeDom({"lease": [None], "agent": [no_agent(), "10.0.0.9"]})
    fake = FakeTime()
    result = waiters.wait_for_guest(FakeClient(), dom, {"ip": True, "agent": True, "ip_sources": ["lease", "agent"], "timeout": 60},
                                    sleep=fake.sleep, clock=fake.clock)
    assert result["ip_source"] == "agent" and result["agent"] is True


def test_timeout_gives_diagnosis_with_console_tail(tmp_path):
    log = tmp_path / "console.log"
    log.write_text("".join("line %d\n" % i for i in range(100)))
    dom = FakeDom({"lease": [None], "arp": [None]}, log=str(log))
    fake = FakeTime()
    with pytest.raises(WaitTimeout) as info:
        waiters.wait_for_guest(FakeClient(), dom, {"ip": True, "ip_sources": ["lease", "arp"], "timeout": 10, "interval": 3},
                               sleep=fake.sleep, clock=fake.clock)
    diagnosis = info.value.details["diagnosis"]
    assert "timed out after 10s waiting for ip" in info.value.msg
    assert diagnosis["state"] == "running" and diagnosis["macs"] == [MAC]
    assert diagnosis["answers"] == {"lease": "no addresses", "arp": "no addresses"}
    assert diagnosis["console_tail"].splitlines()[-1] == "line 99"
    assert fake.now <= 10


def test_stopped_domain_fails_at_once():
    dom = FakeDom({"lease": [None]}, state=5)
    with pytest.raises(WaitTimeout, match="is stopped, not running"):
        waiters.wait_for_guest(FakeClient(), dom, {"ip": True}, sleep=lambda s: None, clock=lambda: 0)


class FakeGuestFiles:
    """Stands in for agent_read_file: scripted guest files, one answer per read of a path (last repeats)."""

    def __init__(self, files):
        self.files = files
        self.reads = []

    def __call__(self, _dom, path, limit=65536):
        script = self.files.get(path, [None])
        index = min(sum(1 for p in self.reads if p == path), len(script) - 1)
        self.reads.append(path)
        content = script[index]
        if content is None:
            raise libvirt.libvirtError("unable to execute QEMU agent command 'guest-file-open': "
                                       "Failed to open file '%s': No such file or directory" % path)
        if isinstance(content, Exception):
            raise content
        return content.encode()[:limit]


CLEAN = json.dumps({"v1": {"datasource": "DataSourceNoCloud [seed=/dev/sr0]", "errors": []}})


def test_cloud_init_errors_parsed_from_result_json():
    assert waiters.cloud_init_errors(CLEAN) == []
    assert waiters.cloud_init_errors(json.dumps({"v1": {"errors": ["('ssh', KeyError('x'))"]}})) == ["('ssh', KeyError('x'))"]
    assert "not JSON" in waiters.cloud_init_errors("{oops")[0]
    assert "no v1 section" in waiters.cloud_init_errors("{}")[0]


def test_cloud_init_wait_probes_ssh_only_after_cloud_init_finished(monkeypatch):
    files = FakeGuestFiles({waiters.CLOUD_INIT_RESULT: [None, None, CLEAN]})
    banners = []
    monkeypatch.setattr(waiters, "agent_read_file", files)
    monkeypatch.setattr(waiters, "ssh_banner", lambda host, port: banners.append(host) or "SSH-2.0-OpenSSH_9.2")
    dom = FakeDom({"lease": ["10.0.0.5"], "agent": [no_agent(), []]})
    fake = FakeTime()
    result = waiters.wait_for_guest(FakeClient(), dom, {"ssh": True, "cloud_init": True, "ip_sources": ["lease"],
                                                        "timeout": 60, "interval": 3}, sleep=fake.sleep, clock=fake.clock)
    assert result["cloud_init"] == "done" and result["agent"] is True and result["ssh"].startswith("SSH-")
    # poll 1: agent down; polls 2-3: no result.json yet (and no "disabled" marker); poll 4: finished
    assert fake.sleeps == [3, 3, 3]
    assert banners == ["10.0.0.5"]


def test_cloud_init_disabled_for_the_boot_counts_as_finished(monkeypatch):
    monkeypatch.setattr(waiters, "agent_read_file", FakeGuestFiles({waiters.CLOUD_INIT_DISABLED: [""]}))
    dom = FakeDom({"agent": [[]]})
    result = waiters.wait_for_guest(FakeClient(), dom, {"cloud_init": True}, sleep=lambda s: None, clock=lambda: 0)
    assert result["cloud_init"] == "disabled"


def test_cloud_init_errors_fail_the_wait_with_them(monkeypatch):
    failed = json.dumps({"v1": {"errors": ["('users-groups', ValueError('bad'))"]}})
    monkeypatch.setattr(waiters, "agent_read_file", FakeGuestFiles({waiters.CLOUD_INIT_RESULT: [failed]}))
    dom = FakeDom({"agent": [[]]})
    with pytest.raises(BackendError) as info:
        waiters.wait_for_guest(FakeClient(), dom, {"cloud_init": True}, sleep=lambda s: None, clock=lambda: 0)
    assert "cloud-init finished with errors on domain g" in info.value.msg and "users-groups" in info.value.msg
    assert info.value.details["cloud_init_errors"] == ["('users-groups', ValueError('bad'))"]
    assert info.value.details["diagnosis"]["answers"]["cloud_init"] == "finished with 1 error(s)"


def test_cloud_init_timeout_names_it_and_what_the_guest_answered(monkeypatch):
    monkeypatch.setattr(waiters, "agent_read_file", FakeGuestFiles({}))
    dom = FakeDom({"agent": [[]]})
    fake = FakeTime()
    with pytest.raises(WaitTimeout) as info:
        waiters.wait_for_guest(FakeClient(), dom, {"cloud_init": True, "timeout": 9, "interval": 3},
                               sleep=fake.sleep, clock=fake.clock)
    assert "waiting for agent, cloud_init of domain g" in info.value.msg
    assert info.value.details["diagnosis"]["answers"]["cloud_init"].startswith("not finished (no /run/cloud-init/result.json")


def test_ssh_banner_on_local_server():
    import socket
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        conn, _addr = server.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_test\r\n")
        conn.close()
    port = server.getsockname()[1]
    thread = threading.Thread(target=serve)
    thread.start()
    assert waiters.ssh_banner("127.0.0.1", port) == "SSH-2.0-OpenSSH_test"
    thread.join()
    server.close()
    assert waiters.ssh_banner("127.0.0.1", port, timeout=1) is None


def test_seed_files_merge_keys_and_hostname():
    files = cloudinit.seed_files("vm1", {"user_data": {"packages": ["htop"]}, "ssh_authorized_keys": ["ssh-ed25519 AAA k"]})
    assert files["user-data"].startswith("#cloud-config\n")
    data = json.loads(files["user-data"].split("\n", 1)[1])
    assert data == {"packages": ["htop"], "ssh_authorized_keys": ["ssh-ed25519 AAA k"], "hostname": "vm1"}
    meta = json.loads(files["meta-data"])
    assert meta["local-hostname"] == "vm1" and meta["instance-id"].startswith("vm1-")
    assert "network-config" not in files


def test_instance_id_follows_content():
    one = cloudinit.seed_files("vm1", {"ssh_authorized_keys": ["a"]})
    two = cloudinit.seed_files("vm1", {"ssh_authorized_keys": ["b"]})
    assert json.loads(one["meta-data"])["instance-id"] != json.loads(two["meta-data"])["instance-id"]
    assert cloudinit.seed_sha256(one) != cloudinit.seed_sha256(two)
    assert cloudinit.seed_sha256(one) == cloudinit.seed_sha256(cloudinit.seed_files("vm1", {"ssh_authorized_keys": ["a"]}))


def test_string_user_data_verbatim_and_conflict():
    files = cloudinit.seed_files("vm1", {"user_data": "#!/bin/sh\necho hi", "network_config": {"version": 2}})
    assert files["user-data"] == "#!/bin/sh\necho hi\n"
    assert json.loads(files["network-config"]) == {"version": 2}
    with pytest.raises(ValidationError) as info:
        cloudinit.seed_files("vm1", {"user_data": "#cloud-config\n", "ssh_authorized_keys": ["k"]})
    assert info.value.option == "cloud_init.ssh_authorized_keys"


@pytest.mark.skipif(cloudinit.find_iso_tool() is None, reason="no ISO tool")
def test_build_iso_has_cidata_label(tmp_path):
    def run_command(args):
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    iso = cloudinit.build_iso(cloudinit.seed_files("vm1", {}), run_command, workdir=str(tmp_path))
    with open(iso, "rb") as handle:
        handle.seek(32768 + 40)
        assert handle.read(6) == b"cidata"
    assert os.path.getsize(iso) > 0


@pytest.mark.parametrize("uri,argv", [
    ("qemu+ssh://root@10.0.0.5/system?keyfile=/k/id&no_verify=1",
     ["-i", "/k/id", "-o", "StrictHostKeyChecking=no", "-l", "root", "10.0.0.5"]),
    ("qemu+ssh://ops%40corp@hv1.example:2222/system?known_hosts=/k/known",
     ["-p", "2222", "-o", "UserKnownHostsFile=/k/known", "-l", "ops@corp", "hv1.example"]),
    ("qemu+ssh://hv2/system", ["hv2"]),
])
def test_the_hypervisor_as_ssh_jump_host_from_its_uri(uri, argv):
    assert waiters.hypervisor_ssh(uri) == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"] + argv


def test_the_uris_ssh_command_is_the_jump_hosts_too():
    assert waiters.hypervisor_ssh("qemu+ssh://root@hv/system?command=/lab/ssh-pinned")[0] == "/lab/ssh-pinned"


@pytest.mark.parametrize("uri", ["qemu:///system", "test:///default", "qemu+tcp://hv/system", "qemu+ssh:///system", None])
def test_a_uri_not_reached_over_ssh_has_no_jump_host(uri):
    with pytest.raises(ValueError) as info:
        waiters.hypervisor_ssh(uri)
    assert "ssh_via=controller" in str(info.value) and "wait.agent" in str(info.value)


def test_the_banner_through_a_jump_command_that_fails_is_none():
    # `false` stands in for an ssh that cannot reach the hypervisor: no banner, no hang, no exception
    assert waiters.ssh_banner_via(["false"], "192.0.2.1", 22, timeout=5) is None
