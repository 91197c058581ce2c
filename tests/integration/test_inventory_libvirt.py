"""The hybridops.fleet.libvirt inventory against the real libvirtd: a booted guest and defined-but-stopped domains."""
import json
import os
import subprocess

import lab
import libvirt
import pytest
from inventory_support import ansible_inventory

FLEET_NS = "https://hybridops.dev/fleet/1"
STOPPED = ["hybridops-it-inv-stopped-a", "hybridops-it-inv-stopped-b"]
STOPPED_XML = """<domain type='qemu'>
  <name>{name}</name>
  <metadata><fleet:vm xmlns:fleet='{ns}'><fleet:tags>{tags}</fleet:tags></fleet:vm></metadata>
  <memory unit='MiB'>{memory}</memory>
  <vcpu>{vcpus}</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><interface type='network'><source network='default'/><model type='virtio'/></interface></devices>
</domain>"""


@pytest.fixture(scope="module")
def stopped_domains(lab_env):
    conn = libvirt.open(lab_env.libvirt_uri)
    for index, name in enumerate(STOPPED):
        tags = "".join("<fleet:tag>%s</fleet:tag>" % t for t in (["inv", "web"] if index == 0 else ["inv"]))
        conn.defineXML(STOPPED_XML.format(name=name, ns=FLEET_NS, tags=tags, memory=128 * (index + 1), vcpus=index + 1))
    yield STOPPED
    for name in STOPPED:
        try:
            conn.lookupByName(name).undefine()
        except libvirt.libvirtError:
            pass
    conn.close()


def inventory(tmp_path, config, *extra):
    path = tmp_path / "fleet.libvirt.yml"
    path.write_text(json.dumps(dict({"plugin": "hybridops.fleet.libvirt", "uris": ["qemu:///system"]}, **config)))
    return ansible_inventory(path, *extra)


def group_hosts(data, group):
    return set(data.get(group, {}).get("hosts", []))


def own(hosts):
    """The hosts this module defined (the session guest and the inventory-test domains)."""
    return set(h for h in hosts if h.startswith("hybridops-it-inv-") or h.startswith(lab.GUEST_PREFIX))


def test_guest_gets_ansible_host_and_stopped_domains_are_listed(lab_guest, stopped_domains, tmp_path):
    data = inventory(tmp_path, {"keyed_groups": [{"key": "fleet_vm.tags", "prefix": "role"}],
                                "compose": {"fleet_memory_gib": "fleet_vm.memory / 1024"}})
    hostvars = data["_meta"]["hostvars"]
    guest = hostvars[lab_guest["name"]]
    assert guest["ansible_host"] == lab_guest["ip"]
    assert guest["fleet_vm"]["state"] == "running"
    assert lab_guest["name"] in group_hosts(data, "state_running")
    for name in stopped_domains:
        assert "ansible_host" not in hostvars[name]
        assert hostvars[name]["fleet_vm"]["state"] == "stopped"
    assert set(stopped_domains) <= group_hosts(data, "libvirt_no_ip")
    assert set(stopped_domains) <= group_hosts(data, "state_stopped")
    assert lab_guest["name"] not in group_hosts(data, "libvirt_no_ip")
    # other test modules define domains at the same time (tagged web too): of this module's domains only the
    # first is in the web groups, and every host in them really has the tag
    assert own(group_hosts(data, "tag_web")) == {stopped_domains[0]}
    assert all("web" in hostvars[host]["fleet_vm"]["tags"] for host in group_hosts(data, "tag_web"))
    assert set(stopped_domains) <= group_hosts(data, "tag_inv")
    assert hostvars[stopped_domains[1]]["fleet_vm"]["vcpus"] == 2
    assert own(group_hosts(data, "role_web")) == {stopped_domains[0]}
    assert group_hosts(data, "role_web") == group_hosts(data, "tag_web")
    assert set(stopped_domains) <= group_hosts(data, "role_inv")
    assert hostvars[stopped_domains[1]]["fleet_memory_gib"] == 0.25


def test_filters(lab_guest, stopped_domains, tmp_path):
    data = inventory(tmp_path, {"filters": {"tags": ["inv"], "states": ["stopped"]}})
    assert set(data["_meta"]["hostvars"]) == set(stopped_domains)
    data = inventory(tmp_path, {"filters": {"names": ["hybridops-it-inv-*-a"]}})
    assert set(data["_meta"]["hostvars"]) == {stopped_domains[0]}


@pytest.mark.parametrize("bad", ["banana", "nope:///system", "qemu:///system\n"])
def test_a_wrong_uri_fails_naming_it_even_when_not_strict(lab_env, tmp_path, bad):
    # a URI no libvirt driver takes is bad input, not a hypervisor that is down: no warning and a half inventory
    path = tmp_path / "fleet.libvirt.yml"
    path.write_text(json.dumps({"plugin": "hybridops.fleet.libvirt", "uris": ["qemu:///system", bad], "strict": False}))
    error = ansible_inventory(path, expect_ok=False)
    assert "uris[1]" in error and "libvirt URI" in error, error
    assert "left out" not in error, error


def test_inventory_cache_is_used_and_flushed(lab_env, tmp_path):
    name = "hybridops-it-inv-cached"
    conn = libvirt.open(lab_env.libvirt_uri)
    conn.defineXML(STOPPED_XML.format(name=name, ns=FLEET_NS, tags="", memory=128, vcpus=1))
    config = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
              "cache_connection": str(tmp_path / "cache"), "cache_timeout": 600}
    try:
        assert name in inventory(tmp_path, config)["_meta"]["hostvars"]
        conn.lookupByName(name).undefine()
        assert name in inventory(tmp_path, config)["_meta"]["hostvars"], "second run should come from the cache"
        assert name not in inventory(tmp_path, config, "--flush-cache")["_meta"]["hostvars"]
    finally:
        try:
            conn.lookupByName(name).undefine()
        except libvirt.libvirtError:
            pass
        conn.close()


def test_containers_are_read_over_ssh_with_a_timeout(lab_guest, lab_env, tmp_path):
    ssh = lab.ssh_cmd(lab_env.image(), lab_guest["ip"], "docker run -d --name hybridops-it-inv-web "
                      "--health-cmd true --health-interval 2s hybridops/web:1 && sleep 8")
    archive = str(tmp_path / "images.tar")
    lab.build_local_images(archive=archive)
    scp = ["scp", "-i", lab_guest["ssh_key"], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR", archive, "root@%s:/tmp/images.tar" % lab_guest["ip"]]
    subprocess.run(scp, check=True)
    subprocess.run(lab.ssh_cmd(lab_env.image(), lab_guest["ip"], "docker load -q -i /tmp/images.tar"), check=True,
                   capture_output=True)
    subprocess.run(ssh, check=True, capture_output=True)
    try:
        data = inventory(tmp_path, {
            "filters": {"names": [lab_guest["name"]]}, "containers": True,
            "containers_ssh_private_key_file": lab_guest["ssh_key"],
            "containers_ssh_args": ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]})
        containers = data["_meta"]["hostvars"][lab_guest["name"]]["fleet_containers"]
        web = [c for c in containers if c["name"] == "hybridops-it-inv-web"]
        assert web and web[0]["state"] == "running" and web[0]["image"] == "hybridops/web:1", containers
        assert web[0]["health"] in ("healthy", "starting"), web

        # a key that the guest refuses: the VM is still listed, with an error instead of containers
        bad_key = tmp_path / "wrong_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(bad_key)], check=True)
        data = inventory(tmp_path, {
            "filters": {"names": [lab_guest["name"]]}, "containers": True, "containers_timeout": 5,
            "containers_ssh_private_key_file": str(bad_key),
            "containers_ssh_args": ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]})
        hostvars = data["_meta"]["hostvars"][lab_guest["name"]]
        assert "fleet_containers" not in hostvars
        assert hostvars["fleet_containers_error"]
        assert hostvars["ansible_host"] == lab_guest["ip"]
    finally:
        subprocess.run(lab.ssh_cmd(lab_env.image(), lab_guest["ip"], "docker rm -f hybridops-it-inv-web"),
                       check=False, capture_output=True)
        os.unlink(archive)
