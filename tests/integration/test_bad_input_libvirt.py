"""Bad-input matrix of the libvirt modules against the lab's libvirtd (nothing boots).

libvirt's test:///default driver keeps its state in one process, so it cannot show
that a failed module run left the daemon unchanged; the lab's libvirtd can, and
defining objects there is instant. Every case is a task of ONE playbook run per
module. Before the runs libvirtd holds a stopped VM made by libvirt_vm (with a
qcow2 disk), a network made by libvirt_network and a network defined outside the
collection. Each case must fail naming its option, and the domains, networks,
volumes, snapshots (libvirt's and the ones inside the qcow2) inspected after the
module's run must be exactly as before.
"""
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
PREFIX = "hybridops-it-bil-"  # the conn fixture (conftest.py) removes what carries it, before and after this module
VM = PREFIX + "vm"
NET = PREFIX + "net"
FOREIGN = PREFIX + "foreign"
FOREIGN_XML = ("<network><name>%s</name><bridge name='virbr-hobif'/><ip address='10.213.10.1' prefix='24'/>"
               "</network>" % FOREIGN)


def net(**over):
    return dict({"uri": URI, "name": NET}, **over)


def vm(**over):
    return dict({"uri": URI, "name": VM, "pool": POOL}, **over)


def vol(**over):
    return dict({"uri": URI, "pool": POOL, "size": 1}, **over)


def snap(**over):
    return dict({"uri": URI, "vm": VM}, **over)


CASES = {
    "libvirt_network": [
        ("domain-injection", net(domain="lab\naddress=/example.com/10.213.9.66"), {}, "domain"),
        ("domain-leading-dash", net(domain="-lab"), {}, "domain"),
        ("domain-empty-label", net(domain="a..lab"), {}, "domain"),
        ("bridge-too-long", net(bridge="virbr-hobi-longer"), {}, "bridge"),
        ("bridge-slash", net(bridge="vir/br"), {}, "bridge"),
        ("bridge-colon", net(bridge="virbr:9"), {}, "bridge"),
        ("bridge-space", net(bridge="vir br"), {}, "bridge"),
        ("forward-dev-newline", net(forward_dev="eth0\n"), {}, "forward_dev"),
        ("mtu-minus-one", net(mtu=-1), {}, "mtu"),
        ("mtu-zero", net(mtu=0), {}, "mtu"),
        ("mtu-too-big", net(mtu=65536), {}, "mtu"),
        ("address-without-prefix", net(address="10.213.9.1"), {}, "address"),
        ("dhcp-host-outside", net(address="10.213.9.1/24", dhcp_hosts=[{"mac": "52:54:00:13:09:01",
                                                                       "ip": "10.9.9.9"}]), {}, "dhcp_hosts[0].ip"),
        ("name-with-space", net(name="bad name"), {}, "name"),
        ("foreign-absent", net(name=FOREIGN, state="absent"), {}, "force"),
        ("foreign-absent-check-mode", net(name=FOREIGN, state="absent"), {"check_mode": True}, "force"),
        # libvirt's own network (guests may be on it): check mode, so a regression cannot delete it
        ("default-absent-check-mode", net(name="default", state="absent"), {"check_mode": True}, "force"),
    ],
    "libvirt_vm": [
        ("memory-absurd-existing", vm(memory="999999TiB"), {}, "memory"),
        ("memory-absurd-new", vm(name=PREFIX + "vm2", memory="999999TiB", disks=[{"size": "64MiB"}]), {}, "memory"),
        ("memory-just-above-cap", vm(memory="65TiB"), {}, "memory"),
        ("max-memory-absurd", vm(max_memory="100TiB"), {}, "max_memory"),
        ("memory-too-small", vm(memory="8MiB"), {}, "memory"),
        ("shutdown-timeout-negative", vm(state="stopped", shutdown_timeout=-5), {}, "shutdown_timeout"),
        ("vcpus-zero", vm(vcpus=0), {}, "vcpus"),
        ("name-bad", vm(name="bad name!"), {}, "name"),
        ("disk-name-newline", vm(disks=[{"name": "d\nx", "size": "64MiB"}]), {}, "disks[0].name"),
        ("disk-size", vm(disks=[{"size": "big"}]), {}, "disks[0].size"),
        ("tag-markup", vm(tags=["<b>"]), {}, "tags"),
        ("kernel-relative", vm(kernel="boot/vmlinuz"), {}, "kernel"),
        ("mac", vm(networks=[{"network": "default", "mac": "zz:00"}]), {}, "networks[0].mac"),
        ("foreign-vm-absent", vm(name=PREFIX + "foreignvm", state="absent"), {}, "force"),
    ],
    "libvirt_volume": [
        ("name-newline", vol(name=PREFIX + "v\nx"), {}, "name"),
        ("name-leading-dash", vol(name="-" + PREFIX + "v"), {}, "name"),
        ("name-slash", vol(name=PREFIX + "a/b"), {}, "name"),
        ("name-too-long", vol(name=PREFIX + "v" * 250), {}, "name"),
        ("name-hidden", vol(name="." + PREFIX + "v"), {}, "name"),
        ("name-tab", vol(name=PREFIX + "v\tx"), {}, "name"),
        ("size", vol(name=PREFIX + "v", size="big"), {}, "size"),
        ("pool", vol(name=PREFIX + "v", pool="no-such-pool"), {}, "pool"),
    ],
    "libvirt_snapshot": [
        # 300 characters: qemu took the snapshot, then libvirt could not store NAME.xml (an orphan per run)
        ("name-300", snap(name="s" * 300), {}, "name"),
        ("name-248", snap(name="s" * 248), {}, "name"),  # measured: the shortest name libvirt cannot store
        ("name-multibyte-248-bytes", snap(name="\u00e9" * 124), {}, "name"),
        ("name-newline", snap(name="before\nmigration"), {}, "name"),
        ("name-slash", snap(name="a/b"), {}, "name"),
        ("name-leading-dash", snap(name="-s"), {}, "name"),
        ("revert-missing", snap(name="nope", state="reverted"), {}, "name"),
        ("vm-missing", snap(vm=PREFIX + "nobody", name="s1"), {}, "vm"),
    ],
}


def _disk_path(conn):
    root = ET.fromstring(conn.lookupByName(VM).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return root.find("devices/disk/source").get("file")


def daemon_state(conn):
    """Domains, networks, volumes and snapshots of the prefix, libvirt's default network, and the
    internal snapshots inside the VM's qcow2 (where an orphan would be)."""
    domains = {}
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(PREFIX):
            domains[dom.name()] = (dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), dom.isActive(),
                                   sorted(s.getName() for s in dom.listAllSnapshots(0)))
    networks = {}
    for item in conn.listAllNetworks(0):
        if item.name().startswith(PREFIX) or item.name() == "default":
            networks[item.name()] = (item.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE), item.isActive())
    pool = conn.storagePoolLookupByName(POOL)
    pool.refresh(0)
    volumes = sorted((v.name(), v.info()[1]) for v in pool.listAllVolumes(0) if v.name().startswith(PREFIX))
    inside = subprocess.run(["qemu-img", "snapshot", "-U", "-l", _disk_path(conn)], capture_output=True,
                            text=True, check=True).stdout
    return {"domains": domains, "networks": networks, "volumes": volumes, "qcow2_snapshots": inside}


def ok(result):
    assert not result.get("failed"), json.dumps(result, indent=1, default=str)[:3000]
    return result


@pytest.fixture(scope="module")
def matrix(ansible, conn):
    setup = ansible.run_tasks([
        {"hybridops.fleet.libvirt_vm": vm(memory=128, disks=[{"size": "64MiB"}])},
        {"hybridops.fleet.libvirt_vm": vm(name=PREFIX + "foreignvm", memory=128)},
        {"hybridops.fleet.libvirt_network": net(bridge="virbr-hobi", address="10.213.9.1/24")},
    ])["localhost"]
    for result in setup:
        ok(result)
    # a VM and a network the collection did not create (no ownership metadata)
    foreign_vm = conn.lookupByName(PREFIX + "foreignvm")
    root = ET.fromstring(foreign_vm.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    root.remove(root.find("metadata"))
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    conn.networkDefineXML(FOREIGN_XML).create()
    before = daemon_state(conn)
    assert "managed" not in before["domains"][PREFIX + "foreignvm"][0]
    assert before["networks"][FOREIGN][1] and "default" in before["networks"]
    results = {}
    for module, cases in CASES.items():
        tasks = [dict({"name": case_id, "hybridops.fleet." + module: args}, **extra)
                 for case_id, args, extra, _option in cases]
        results[module] = (ansible.run_tasks(tasks)["localhost"], daemon_state(conn))
    return before, results


@pytest.mark.parametrize("module,index", [(m, i) for m in CASES for i in range(len(CASES[m]))],
                         ids=["%s-%s" % (m, c[0]) for m in CASES for c in CASES[m]])
def test_bad_input_names_the_option_and_changes_nothing(matrix, module, index):
    before, results = matrix
    case_results, after = results[module]
    _case_id, _args, _extra, option = CASES[module][index]
    result = case_results[index]
    assert result.get("failed") is True, result
    assert result.get("option") == option and result["msg"].startswith(option + ":"), result
    assert "accepted" in result["msg"], result
    assert after == before


def test_foreign_network_needs_force_and_created_one_does_not(ansible, conn, matrix):
    removed = ok(ansible.run_module("libvirt_network", net(name=FOREIGN, state="absent", force=True)))
    assert removed["changed"] and FOREIGN not in [n.name() for n in conn.listAllNetworks(0)]
    created = ok(ansible.run_module("libvirt_network", net(state="absent")))
    assert created["changed"] and NET not in [n.name() for n in conn.listAllNetworks(0)]


def test_longest_storable_snapshot_name(ansible, conn, matrix):
    """247 bytes is libvirt's limit: it writes the metadata through NAME.xml.new (255-byte file names)."""
    name = "s" * 247
    created = ok(ansible.run_module("libvirt_snapshot", snap(name=name)))
    assert created["changed"] and conn.lookupByName(VM).snapshotLookupByName(name, 0).getName() == name
    ok(ansible.run_module("libvirt_snapshot", snap(name=name, state="absent")))
    assert conn.lookupByName(VM).snapshotNum(0) == 0
    inside = subprocess.run(["qemu-img", "snapshot", "-U", "-l", _disk_path(conn)], capture_output=True,
                            text=True, check=True).stdout
    assert name not in inside
