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

import bad_input
import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest
from bad_input import ANSIBLE_CHOICES, ANSIBLE_REQUIRED, ANSIBLE_TYPE, ANSIBLE_UNSUPPORTED

TEST_GROUP = "matrix"  # beside the host session: its objects carry prefixes of its own (conftest.py)

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


def info(**over):
    return dict({"uri": URI, "name": [PREFIX + "*"], "ips": False}, **over)


def vms(bad, **over):
    """libvirt_vms with a good new VM first and a bad one second: the good one must not be created either."""
    good = vm(name=PREFIX + "vmsnew", memory=128, disks=[{"size": "64MiB"}])
    return dict({"uri": URI, "vms": [good, bad]}, **over)


V = "vms[%s]" % VM


SRC = "/tmp/hybridops-it-bil-src.img"  # a small file the fixture writes (a raw image to upload)


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
        ("vcpus-huge", vm(vcpus=100000), {}, "vcpus"),
        ("name-newline", vm(name=PREFIX + "vm\nx"), {}, "name"),
        ("disk-size-negative", vm(disks=[{"size": "64MiB"}, {"size": "-1GiB"}]), {}, "disks[1].size"),
        ("state-typo", vm(state="runing"), {}, ANSIBLE_CHOICES + "state"),
    ],
    "libvirt_vms": [
        ("state-typo", vms(vm(state="runing")), {}, ANSIBLE_CHOICES + "state"),
        ("memory-absurd", vms(vm(memory="999999TiB")), {}, V + ".memory"),
        ("vcpus-zero", vms(vm(vcpus=0)), {}, V + ".vcpus"),
        ("name-bad", vms(vm(name="bad name!")), {}, "vms[bad name!].name"),
        ("disk-size", vms(vm(disks=[{"size": "big"}])), {}, V + ".disks[0].size"),
        ("disk-pool-missing", vms(vm(disks=[{"size": "64MiB", "pool": PREFIX + "nopool"}])), {}, V + ".disks[0].pool"),
        ("listed-twice", vms(vm(name=PREFIX + "vmsnew")), {}, "vms[%svmsnew].name" % PREFIX),
        ("item-unknown-key", vms(vm(memroy=128)), {}, ANSIBLE_UNSUPPORTED + "memroy"),
        ("item-without-name", vms({"memory": 128}), {}, ANSIBLE_REQUIRED + "name"),
        ("item-uri-bad", vms(vm(uri="qemu:///sys tem")), {}, V + ".uri"),
        ("item-uri-not-answering", vms(vm(uri="qemu+unix:///system?socket=/nonexistent/sock")), {}, V + ".uri"),
        ("max-workers-zero", vms(vm(), max_workers=0), {}, "max_workers"),
        ("foreign-vm-absent", vms(vm(name=PREFIX + "foreignvm", state="absent")), {},
         "vms[%sforeignvm].force" % PREFIX),
        ("shutdown-timeout-negative", vms(vm(state="stopped", shutdown_timeout=-5)), {}, V + ".shutdown_timeout"),
        ("mac", vms(vm(networks=[{"network": "default", "mac": "zz:00"}])), {}, V + ".networks[0].mac"),
        ("tag-markup", vms(vm(tags=["<b>"])), {}, V + ".tags"),
        ("vms-not-a-list", {"uri": URI, "vms": {"name": VM}}, {}, ANSIBLE_TYPE + "vms"),
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
        ("size-negative", vol(name=PREFIX + "v", size="-5MiB"), {}, "size"),
        ("size-zero", vol(name=PREFIX + "v", size=0), {}, "size"),
        ("size-bool", vol(name=PREFIX + "v", size=True), {}, "size"),
        ("size-huge", vol(name=PREFIX + "v", size="999999PiB"), {}, "size"),
        ("checksum-garbage", vol(name=PREFIX + "v", size=None, src=SRC, checksum="sha256:zz"), {}, "checksum"),
        ("checksum-unknown-algorithm", vol(name=PREFIX + "v", size=None, src=SRC, checksum="crc7:00"), {}, "checksum"),
        ("checksum-without-source", vol(name=PREFIX + "v", checksum="sha256:" + "0" * 64), {}, "checksum"),
        ("src-and-clone", vol(name=PREFIX + "v", size=None, src=SRC, clone_from=PREFIX + "other"), {}, "clone_from"),
        ("src-missing", vol(name=PREFIX + "v", size=None, src="/nonexistent/disk.img"), {}, "src"),
        ("clone-missing", vol(name=PREFIX + "v", size=None, clone_from=PREFIX + "nobody"), {}, "clone_from"),
        ("backing-missing", vol(name=PREFIX + "v", backing=PREFIX + "nobody"), {}, "backing"),
        ("format-typo", vol(name=PREFIX + "v", format="qcow"), {}, ANSIBLE_CHOICES + "format"),
        ("uri-garbage", vol(name=PREFIX + "v", uri="banana"), {}, "uri"),
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
        ("name-tab", snap(name="a\tb"), {}, "name"),
        ("name-dot", snap(name="."), {}, "name"),
        ("name-dotdot", snap(name=".."), {}, "name"),
        ("name-empty", snap(name=""), {}, "name"),
        ("vm-empty", snap(vm="", name="s1"), {}, "vm"),
        ("vm-newline", snap(vm=VM + "\nx", name="s1"), {}, "vm"),
        ("state-typo", snap(name="s1", state="revert"), {}, ANSIBLE_CHOICES + "state"),
        ("reverted-without-name", snap(state="reverted"), {}, ANSIBLE_REQUIRED + "name"),
        ("uri-unknown-driver", snap(name="s1", uri="nope:///system"), {}, "uri"),
    ],
    "libvirt_vm_info": [
        ("state-typo", info(state=["runing"]), {}, ANSIBLE_CHOICES + "state"),
        ("state-comma-typo", info(state="running,stoped"), {}, ANSIBLE_CHOICES + "state"),
        ("ip-sources-typo", info(ip_sources=["dhcp"]), {}, ANSIBLE_CHOICES + "ip_sources"),
        ("managed-not-bool", info(managed="perhaps"), {}, ANSIBLE_TYPE + "managed"),
        ("ips-not-bool", info(ips="sometimes"), {}, ANSIBLE_TYPE + "ips"),
        ("name-dict", info(name={"a": 1}), {}, ANSIBLE_TYPE + "name"),
        ("name-empty", info(name=[""]), {}, "name[0]"),
        ("name-newline", info(name=[PREFIX + "*", "web\n*"]), {}, "name[1]"),
        ("name-slash", info(name=["a/b"]), {}, "name[0]"),
        ("tags-empty", info(tags=[""]), {}, "tags[0]"),
        ("tags-markup", info(tags=["<b>&"]), {}, "tags[0]"),
        ("uri-garbage", info(uri="banana"), {}, "uri"),
        ("uri-unknown-driver", info(uri="nope:///system"), {}, "uri"),
        ("uris-second-bad", info(uris=[URI, "banana"]), {}, "uris[1]"),
        ("uris-empty-string", info(uris=[""]), {}, "uris[0]"),
        ("uri-newline", info(uri=URI + "\n"), {}, "uri"),
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
    lab.refresh_pool(pool)
    volumes = sorted((v.name(), v.info()[1]) for v in pool.listAllVolumes(0) if v.name().startswith(PREFIX))
    inside = subprocess.run(["qemu-img", "snapshot", "-U", "-l", _disk_path(conn)], capture_output=True,
                            text=True, check=True).stdout
    return {"domains": domains, "networks": networks, "volumes": volumes, "qcow2_snapshots": inside}


def remove_new(conn, before):
    """Remove the domains, networks and volumes of the prefix that a case added."""
    for dom in conn.listAllDomains(0):
        if dom.name().startswith(PREFIX) and dom.name() not in before["domains"]:
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    for item in conn.listAllNetworks(0):
        if item.name().startswith(PREFIX) and item.name() not in before["networks"]:
            if item.isActive():
                item.destroy()
            item.undefine()
    pool = conn.storagePoolLookupByName(POOL)
    lab.refresh_pool(pool)
    known = set(name for name, _size in before["volumes"])
    for volume in pool.listAllVolumes(0):
        if volume.name().startswith(PREFIX) and volume.name() not in known:
            volume.delete(0)


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
    with open(SRC, "wb") as handle:
        handle.write(b"\0" * 65536)
    before = daemon_state(conn)
    assert "managed" not in before["domains"][PREFIX + "foreignvm"][0]
    assert before["networks"][FOREIGN][1] and "default" in before["networks"]
    results, per_module = {}, {}
    for module, cases in CASES.items():
        tasks = [dict({"name": case_id, "hybridops.fleet." + module: args}, **extra)
                 for case_id, args, extra, _option in cases]
        module_results = ansible.run_tasks(tasks)["localhost"]
        after = daemon_state(conn)
        results[module] = (module_results, after)
        # which cases changed the daemon: one run per case, only when the module's run changed it
        left = bad_input.attribute(
            cases, lambda case, module=module: ansible.run_tasks([dict({"hybridops.fleet." + module: case[1]},
                                                                       **case[2])]),
            lambda: daemon_state(conn), before, after, lambda: remove_new(conn, before))
        per_module[module] = bad_input.figures(cases, module_results, left)
    bad_input.write("libvirt", per_module)
    os.unlink(SRC)
    return before, results


@pytest.mark.parametrize("module,index", [(m, i) for m in CASES for i in range(len(CASES[m]))],
                         ids=["%s-%s" % (m, c[0]) for m in CASES for c in CASES[m]])
def test_bad_input_names_the_option_and_changes_nothing(matrix, module, index):
    before, results = matrix
    case_results, after = results[module]
    _case_id, _args, _extra, option = CASES[module][index]
    result = case_results[index]
    assert result.get("failed") is True, result
    assert bad_input.traceback_of(result) is None, result
    assert bad_input.clear(result, option), result
    if ":" not in option:  # the collection's own messages also return the option as a key
        assert result.get("option") == option, result
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
