"""libvirt_vm against the lab's real libvirtd (qemu:///system): define, update, check, diff, absent, bad input.

Defining domains without booting them is instant; the few tests that start a VM
boot nothing (an empty disk: SeaBIOS finds no OS) and only exercise live changes.
"""
import os

import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
NETWORK = os.environ.get("HYBRIDOPS_LIBVIRT_NETWORK", "default")
PREFIX = "hybridops-it-vm-"  # the conn fixture (conftest.py) removes what carries it, before and after this module
BASE = PREFIX + "base.qcow2"


@pytest.fixture(scope="module")
def base(conn):
    pool = conn.storagePoolLookupByName(POOL)
    xml = ("<volume><name>%s</name><capacity unit='bytes'>%d</capacity>"
           "<target><format type='qcow2'/></target></volume>") % (BASE, 1024 ** 3)
    return pool.createXML(xml, 0)


@pytest.fixture
def vm_name(conn, request):
    name = PREFIX + request.node.name.split("[")[0].replace("test_", "").replace("_", "-")[:40]
    yield name
    dom = _lookup(conn, name)
    if dom is not None:
        if dom.isActive():
            dom.destroy()
        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    pool = conn.storagePoolLookupByName(POOL)
    lab.refresh_pool(pool)
    for vol in pool.listAllVolumes(0):
        if vol.name().startswith(name + "-"):
            vol.delete(0)


def _lookup(conn, name):
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


def _volumes(conn, prefix):
    pool = conn.storagePoolLookupByName(POOL)
    lab.refresh_pool(pool)
    return sorted(v for v in pool.listVolumes() if v.startswith(prefix))


def vm_args(name, **over):
    args = {"uri": URI, "name": name, "pool": POOL, "memory": "256MiB", "vcpus": 1,
            "disks": [{"name": "root", "base": BASE, "size": "2GiB"}],
            "networks": [{"network": NETWORK}], "tags": ["it"]}
    args.update(over)
    return args


def converge(ansible, args, **kwargs):
    result = ansible.run_module("libvirt_vm", args, **kwargs)
    assert not result.get("failed"), result.get("msg")
    return result


def test_create_check_then_real_then_idempotent(ansible, conn, base, vm_name):
    args = vm_args(vm_name)
    predicted = converge(ansible, args, check=True, diff=True)
    assert predicted["changed"] and predicted["created"]
    assert predicted["diff"]["before"] == {"state": "absent"}
    assert predicted["diff"]["after"]["memory"] == 256
    assert _lookup(conn, vm_name) is None, "check mode created the VM"
    assert _volumes(conn, vm_name) == []

    created = converge(ansible, args, diff=True)
    assert created["changed"] and created["created"]
    assert created["diff"]["after"]["disks"] == predicted["diff"]["after"]["disks"]
    dom = _lookup(conn, vm_name)
    assert dom is not None and not dom.isActive()
    assert _volumes(conn, vm_name) == [vm_name + "-root.qcow2"]
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert "https://hybridops.dev/fleet/1" in xml
    assert "<tb-cache unit='KiB'>262144</tb-cache>" in xml
    vm = created["vm"]
    assert vm["managed"] is True and vm["state"] == "stopped" and vm["disks"][0]["capacity"] == 2 * 1024 ** 3

    again = converge(ansible, args, diff=True)
    assert again["changed"] is False, again["changes"]
    assert again["vm"]["uuid"] == vm["uuid"]
    assert converge(ansible, args, check=True)["changed"] is False


# Each step changes one updatable field of the same VM; the step is checked in check
# mode, applied, then re-run (changed=false). UUID and MACs must survive all of them.
UPDATES = [
    ("memory", {"memory": "512MiB"}, lambda vm: vm["memory"] == 512),
    ("max_memory", {"memory": "512MiB", "max_memory": "1GiB"}, lambda vm: vm["max_memory"] == 1024),
    ("vcpus", {"vcpus": 2}, lambda vm: vm["vcpus"] == 2),
    ("max_vcpus", {"vcpus": 2, "max_vcpus": 4}, lambda vm: vm["max_vcpus"] == 4),
    ("description", {"description": "web tier"}, lambda vm: vm["description"] == "web tier"),
    ("tags", {"tags": ["it", "web"]}, lambda vm: vm["tags"] == ["it", "web"]),
    ("autostart", {"autostart": True}, lambda vm: vm["autostart"] is True),
    ("cpu_mode", {"cpu_mode": "maximum"}, lambda vm: vm["cpu_mode"] == "maximum"),
    ("machine", {"machine": "pc"}, lambda vm: vm["machine"].startswith("pc-i440fx")),
    ("graphics", {"graphics": "vnc"}, lambda vm: vm["graphics"] == "vnc"),
    ("tb_cache", {"tb_cache": "128MiB"}, lambda vm: vm["tb_cache"] == 128),
    ("kernel", {"kernel": "/var/lib/hybridops-lab/boot/none-vmlinuz", "cmdline": "console=ttyS0"},
     lambda vm: vm["kernel"].endswith("none-vmlinuz") and vm["cmdline"] == "console=ttyS0"),
    ("disks", {"disks": [{"name": "root", "base": BASE, "size": "3GiB"}]},
     lambda vm: vm["disks"][0]["capacity"] == 3 * 1024 ** 3),
    ("disks", {"disks": [{"name": "root", "base": BASE, "size": "3GiB"}, {"name": "data", "size": "1GiB"}]},
     lambda vm: [d["target"] for d in vm["disks"]] == ["vda", "vdb"]),
    ("networks", {"networks": [{"network": NETWORK}, {"network": NETWORK, "model": "e1000"}]},
     lambda vm: [n["model"] for n in vm["networks"]] == ["virtio", "e1000"]),
    ("networks", {"networks": [{"network": NETWORK, "model": "e1000e"}]},
     lambda vm: [n["model"] for n in vm["networks"]] == ["e1000e"]),
    ("disks", {"disks": [{"name": "root", "base": BASE, "size": "3GiB"}]}, lambda vm: len(vm["disks"]) == 1),
]


def test_update_each_field_in_place(ansible, conn, base, vm_name):
    created = converge(ansible, vm_args(vm_name))["vm"]
    mac = created["networks"][0]["mac"]
    args = vm_args(vm_name)
    tasks = []
    for _field, change, _check in UPDATES:
        args.update(change)
        task = {"hybridops.fleet.libvirt_vm": dict(args), "diff": True}
        tasks += [dict(task, check_mode=True), task, task]  # check mode, the real run, the re-run
    # every step in one playbook (an ansible-playbook start costs more than a define here)
    results = ansible.run_tasks(tasks)["localhost"]
    for index, (field, _change, check) in enumerate(UPDATES):
        predicted, applied, rerun = results[3 * index:3 * index + 3]
        for result in (predicted, applied, rerun):
            assert not result.get("failed"), (field, result.get("msg"))
        assert predicted["changed"], field
        assert field in predicted["changes"], (field, predicted["changes"])
        assert applied["changes"] == predicted["changes"], field
        assert applied["diff"]["before"] == predicted["diff"]["before"], field
        assert check(applied["vm"]), (field, applied["vm"])
        assert applied["vm"]["uuid"] == created["uuid"], field
        assert applied["vm"]["networks"][0]["mac"] == mac, field
        assert rerun["changed"] is False, (field, rerun["changes"])
    # the detached data disk's volume is kept
    assert vm_name + "-data.qcow2" in _volumes(conn, vm_name)


def test_diff_is_structured(ansible, conn, base, vm_name):
    converge(ansible, vm_args(vm_name))
    result = converge(ansible, vm_args(vm_name, memory="384MiB", tags=["it", "x"]), diff=True)
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert (before["memory"], after["memory"]) == (256, 384)
    assert (before["tags"], after["tags"]) == (["it"], ["it", "x"])
    assert sorted(k for k in before if before[k] != after[k]) == ["max_memory", "memory", "tags"]
    assert "<domain" not in str(result["diff"])


def test_running_vm_live_changes_and_restart(ansible, conn, base, vm_name):
    args = vm_args(vm_name, state="running", max_memory="512MiB", max_vcpus=2, shutdown_timeout=0)
    started = converge(ansible, args)
    assert started["vm"]["state"] == "running"
    dom = _lookup(conn, vm_name)
    args.update(memory="384MiB", networks=[{"network": NETWORK}, {"network": NETWORK}],
                disks=[{"name": "root", "base": BASE, "size": "2GiB"}, {"name": "hot", "size": "1GiB"}])
    live = converge(ansible, args)
    assert live["changed"] and live["restart_required"] is False, live
    assert "live:networks" in live["actions"] and "live:disks" in live["actions"]
    live_xml = dom.XMLDesc(0)
    assert live_xml.count("<interface type='network'>") == 2
    assert "dev='vdb'" in live_xml
    # the balloon request was sent live (the empty guest has no balloon driver to honour it)
    assert "live:memory" in live["actions"]
    assert "<currentMemory unit='KiB'>393216<" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert converge(ansible, args)["changed"] is False

    # growing a disk of the running VM goes through qemu (blockResize)
    args["disks"] = [{"name": "root", "base": BASE, "size": "3GiB"}, {"name": "hot", "size": "1GiB"}]
    grown = converge(ansible, args)
    assert grown["changed"] and grown["restart_required"] is False
    assert any(a.startswith("grow ") for a in grown["actions"])
    assert grown["vm"]["disks"][0]["capacity"] == 3 * 1024 ** 3
    assert converge(ansible, args)["changed"] is False

    # live: false saves the change and reports the restart instead of hot-plugging
    cold = converge(ansible, dict(args, live=False, networks=[{"network": NETWORK}] * 3))
    assert cold["restart_required"] is True and cold["restart_required_for"] == ["networks"]
    assert dom.XMLDesc(0).count("<interface type='network'>") == 2
    assert converge(ansible, args)["changed"]  # back to two NICs in the definition

    args.update(machine="pc")
    needs = converge(ansible, args)
    assert needs["restart_required"] is True and needs["restart_required_for"] == ["machine"]
    assert "pc-q35" in dom.XMLDesc(0)  # still running the old machine
    pending = converge(ansible, args)
    assert pending["changed"] is False and pending["restart_required_for"] == ["machine"]
    args.update(restart="allowed")
    restarted = converge(ansible, args)
    assert restarted["restarted"] is True and restarted["vm"]["state"] == "running"
    assert "pc-i440fx" in dom.XMLDesc(0)
    assert converge(ansible, args)["changed"] is False

    stopped = converge(ansible, dict(args, state="stopped"))
    assert stopped["changed"] and stopped["vm"]["state"] == "stopped"
    assert converge(ansible, dict(args, state="stopped"))["changed"] is False


def test_absent_ownership_force_and_storage(ansible, conn, base, vm_name):
    # a VM this collection did not create
    pool = conn.storagePoolLookupByName(POOL)
    foreign_vol = pool.createXML("<volume><name>%s-foreign.qcow2</name><capacity>1048576</capacity>"
                                 "<target><format type='qcow2'/></target></volume>" % vm_name, 0)
    conn.defineXML("<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><os><type>hvm</type></os>"
                   "<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/>"
                   "<target dev='vda' bus='virtio'/></disk></devices></domain>" % (vm_name, foreign_vol.path()))
    refused = ansible.run_module("libvirt_vm", {"uri": URI, "name": vm_name, "state": "absent"})
    assert refused.get("failed") and "force" in refused["msg"] and refused["option"] == "force"
    assert _lookup(conn, vm_name) is not None
    forced = converge(ansible, {"uri": URI, "name": vm_name, "state": "absent", "force": True})
    assert forced["changed"] and forced["removed_volumes"] == []
    assert _lookup(conn, vm_name) is None
    assert vm_name + "-foreign.qcow2" in _volumes(conn, vm_name)  # storage only when asked

    converge(ansible, vm_args(vm_name, state="running", shutdown_timeout=5))
    predicted = converge(ansible, {"uri": URI, "name": vm_name, "state": "absent", "remove_storage": True}, check=True, diff=True)
    assert predicted["changed"] and predicted["diff"]["after"] == {"state": "absent"}
    assert _lookup(conn, vm_name) is not None
    removed = converge(ansible, {"uri": URI, "name": vm_name, "state": "absent", "remove_storage": True, "shutdown_timeout": 5})
    assert removed["changed"]
    assert [p.rsplit("/", 1)[1] for p in removed["removed_volumes"]] == [vm_name + "-root.qcow2"]
    assert _lookup(conn, vm_name) is None
    assert vm_name + "-root.qcow2" not in _volumes(conn, vm_name)
    assert BASE in _volumes(conn, PREFIX), "the base volume must survive"
    gone = converge(ansible, {"uri": URI, "name": vm_name, "state": "absent", "remove_storage": True})
    assert gone["changed"] is False


BAD_INPUTS = [
    ({"memory": "lots"}, "memory"),
    ({"memory": "4MiB"}, "memory"),
    ({"vcpus": 0}, "vcpus"),
    ({"vcpus": 3, "max_vcpus": 2}, "vcpus"),
    ({"memory": "2GiB", "max_memory": "1GiB"}, "memory"),
    ({"disks": [{"base": "no-such-base.qcow2"}]}, "disks[0].base"),
    ({"disks": [{"base": BASE, "volume": BASE}]}, "disks[0]"),
    ({"disks": [{"name": "root"}]}, "disks[0]"),
    ({"disks": [{"size": "huge"}]}, "disks[0].size"),
    ({"disks": [{"base": BASE, "size": "100MiB"}]}, "disks[0].size"),
    ({"disks": [{"size": "1GiB", "pool": "no-such-pool"}]}, "disks[0].pool"),
    ({"networks": [{"network": "no-such-network"}]}, "networks[0].network"),
    ({"networks": [{}]}, "networks[0]"),
    ({"networks": [{"network": NETWORK, "mac": "not-a-mac"}]}, "networks[0].mac"),
    ({"kernel": "vmlinuz"}, "kernel"),
    ({"xml": "<domain><name>x</name>"}, "xml"),
    ({"wait": {"ssh": True}}, "wait"),
    ({"wait": {"ip": True, "ip_sources": ["dns"]}, "state": "running"}, "wait.ip_sources"),
]


@pytest.mark.parametrize("bad,option", BAD_INPUTS, ids=[o for _b, o in BAD_INPUTS])
def test_bad_input_fails_naming_option_and_changes_nothing(ansible, conn, base, vm_name, bad, option):
    result = ansible.run_module("libvirt_vm", vm_args(vm_name, **bad))
    assert result.get("failed"), result
    assert result["option"] == option, result["msg"]
    assert result["msg"].startswith(option + ":") and "accepted" in result["msg"], result["msg"]
    assert "Traceback" not in str(result)
    assert _lookup(conn, vm_name) is None
    assert _volumes(conn, vm_name) == []


def test_bad_input_on_existing_vm_changes_nothing(ansible, conn, base, vm_name):
    before = converge(ansible, vm_args(vm_name))["vm"]
    result = ansible.run_module("libvirt_vm", vm_args(vm_name, memory="512MiB", networks=[{"network": "no-such-network"}]))
    assert result.get("failed") and result["option"] == "networks[0].network"
    assert converge(ansible, vm_args(vm_name), check=True)["changed"] is False
    assert converge(ansible, vm_args(vm_name))["vm"]["memory"] == before["memory"]


def test_half_made_create_is_undone_with_libvirt_message(ansible, conn, base, vm_name):
    # libvirt rejects the template only at define time, after the overlay volumes were made
    template = "<domain type='qemu'><name>x</name><devices><watchdog model='bogus'/></devices></domain>"
    result = ansible.run_module("libvirt_vm", vm_args(vm_name, xml=template,
                                                      disks=[{"name": "root", "base": BASE}, {"name": "data", "size": 1}]))
    assert result.get("failed")
    assert "bogus" in result["msg"] and "nothing was left behind" in result["msg"], result["msg"]
    assert "Traceback" not in str(result)
    assert _lookup(conn, vm_name) is None
    assert _volumes(conn, vm_name) == []


def test_libvirt_error_surfaces_without_traceback(ansible, conn, vm_name):
    result = ansible.run_module("libvirt_vm", {"uri": "qemu:///nonexistent-path", "name": vm_name})
    assert result.get("failed") and "cannot connect to libvirt" in result["msg"]
    assert "Traceback" not in result.get("module_stderr", "") + result["msg"]


def test_xml_escape_hatch(ansible, conn, base, vm_name):
    template = ("<domain type='qemu'><name>ignored</name><memory unit='MiB'>128</memory><os><type>hvm</type></os>"
                "<devices><watchdog model='i6300esb' action='reset'/></devices></domain>")
    created = converge(ansible, vm_args(vm_name, xml=template))
    assert "i6300esb" in _lookup(conn, vm_name).XMLDesc(0)
    assert created["vm"]["memory"] == 256  # structured options win over the template
    assert converge(ansible, vm_args(vm_name, xml=template))["changed"] is False
    changed = converge(ansible, vm_args(vm_name, xml=template.replace("reset", "poweroff")))
    assert changed["changed"] and "template_sha256" in changed["changes"]
    xml = _lookup(conn, vm_name).XMLDesc(0)
    assert "action='poweroff'" in xml
    assert changed["vm"]["uuid"] == created["vm"]["uuid"]
    assert changed["vm"]["networks"][0]["mac"] == created["vm"]["networks"][0]["mac"]


def test_wait_times_out_with_diagnosis(ansible, conn, base, vm_name):
    # a running VM with an empty disk never gets an address: the wait must end with a diagnosis
    args = vm_args(vm_name, state="running", console_log="/var/log/libvirt/qemu/%s-console.log" % vm_name,
                   wait={"ip": True, "ip_sources": ["lease", "arp"], "timeout": 6, "interval": 2})
    result = ansible.run_module("libvirt_vm", args)
    assert result.get("failed") and "timed out" in result["msg"], result.get("msg")
    diagnosis = result["diagnosis"]
    assert diagnosis["state"] == "running"
    mac = diagnosis["interfaces"][0]["mac"]
    assert diagnosis["macs"] == [mac]
    assert set(diagnosis["answers"]) == {"lease", "arp"}
    assert diagnosis["console_log"].endswith("-console.log") and "console_tail" in diagnosis


def test_cloud_init_seed_created_updated_idempotent(ansible, conn, base, vm_name):
    args = vm_args(vm_name, cloud_init={"ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@it"]})
    task = {"hybridops.fleet.libvirt_vm": args, "diff": True}
    created, again = ansible.run_tasks([task, task])["localhost"]
    assert not created.get("failed"), created.get("msg")
    assert [d["path"].rsplit("/", 1)[1] for d in created["vm"]["disks"]] == [vm_name + "-root.qcow2", vm_name + "-cidata.iso"]
    assert created["vm"]["disks"][1]["readonly"] is True and created["vm"]["disks"][1]["bus"] == "virtio"
    assert again["changed"] is False, again["changes"]
    seed = conn.storageVolLookupByPath(created["vm"]["disks"][1]["path"])
    with open(seed.path(), "rb") as handle:
        handle.seek(32768 + 40)
        assert handle.read(6) == b"cidata"
    changed_args = dict(args, cloud_init={"ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITwo two@it"]})
    task = {"hybridops.fleet.libvirt_vm": changed_args}
    predicted, applied, rerun = ansible.run_tasks([dict(task, check_mode=True), task, task])["localhost"]
    assert predicted["changed"] and "cloud_init_sha256" in predicted["changes"]
    assert any(a.startswith("write cloud-init seed") for a in applied["actions"])
    with open(seed.path(), "rb") as handle:
        assert b"two@it" in handle.read()
    assert rerun["changed"] is False
    removed = converge(ansible, {"uri": URI, "name": vm_name, "state": "absent", "remove_storage": True})
    assert sorted(p.rsplit("/", 1)[1] for p in removed["removed_volumes"]) == [vm_name + "-cidata.iso", vm_name + "-root.qcow2"]
    assert _volumes(conn, vm_name) == []
