"""VmManager against libvirt's test:///default driver (real libvirt code, no daemon)."""
import itertools

import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (  # noqa: E402
    BackendError,
    ValidationError,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import (
    client as client_module,  # noqa: E402
    volume as volumes,  # noqa: E402
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.domain import VmManager, validate_params  # noqa: E402

POOL = "default-pool"
COUNTER = itertools.count()


@pytest.fixture
def client():
    with LibvirtClient("test:///default") as conn:
        yield conn


@pytest.fixture
def names(client):
    made = []

    def make():
        name = "unit-vm-%d" % next(COUNTER)
        made.append(name)
        return name
    yield make
    for name in made:
        dom = client.domain(name)
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()
    pool = client.pool(POOL)
    for vol in pool.listAllVolumes():
        if vol.name().startswith("unit-vm-"):
            vol.delete(0)


@pytest.fixture
def base(client):
    pool = client.pool(POOL)
    vol = client.volume(pool, "unit-base.qcow2")
    if vol is None:
        vol = volumes.create_volume(client, pool, "unit-base.qcow2", 2 * 1024 ** 3, "qcow2")
    return vol


def run(client, check=False, diff=True, **params):
    params.setdefault("state", "present")
    params.setdefault("pool", POOL)
    return VmManager(client, check_mode=check, diff=diff).run(params)


def vm_params(name, **over):
    params = dict(name=name, memory="1GiB", vcpus=2, disks=[{"name": "root", "base": "unit-base.qcow2", "size": "4GiB"}],
                  networks=[{"network": "default"}], tags=["unit"])
    params.update(over)
    return params


def pool_volumes(client):
    return sorted(v for v in client.pool(POOL).listVolumes() if v.startswith("unit-vm-"))


def test_check_mode_create_changes_nothing(client, names, base):
    name = names()
    result = run(client, check=True, **vm_params(name))
    assert result["changed"] and result["created"]
    assert result["diff"]["before"] == {"state": "absent"}
    assert result["diff"]["after"]["memory"] == 1024
    assert result["vm"]["state"] == "stopped"
    assert any("create volume %s-root.qcow2" % name in a for a in result["actions"])
    assert client.domain(name) is None
    assert pool_volumes(client) == []


def test_create_then_idempotent(client, names, base):
    name = names()
    first = run(client, **vm_params(name))
    assert first["changed"] and first["created"]
    dom = client.domain(name)
    assert dom is not None
    vm = first["vm"]
    assert (vm["memory"], vm["vcpus"], vm["managed"], vm["tags"]) == (1024, 2, True, ["unit"])
    assert vm["disks"][0]["path"].endswith("/%s-root.qcow2" % name)
    assert vm["disks"][0]["capacity"] == 4 * 1024 ** 3
    vol = client.volume_by_path(vm["disks"][0]["path"])
    assert volumes.volume_info(client, vol)["backing_path"] == base.path()
    second = run(client, **vm_params(name))
    assert second["changed"] is False, second.get("changes")
    assert second["diff"]["before"] == second["diff"]["after"]
    check = run(client, check=True, **vm_params(name))
    assert check["changed"] is False


def test_update_keeps_uuid_and_mac_and_diff_is_structured(client, names, base):
    name = names()
    created = run(client, **vm_params(name))["vm"]
    params = vm_params(name, memory=2048, vcpus=1, networks=[{"network": "default"}, {"network": "default", "model": "e1000"}],
                       description="now described", tags=["unit", "web"])
    predicted = run(client, check=True, **params)
    assert predicted["changed"]
    assert set(predicted["changes"]) == {"memory", "vcpus", "networks", "description", "tags"}
    assert client.domain(name).info()[2] == 1024 * 1024  # check mode left it alone
    result = run(client, **params)
    assert result["changes"] == predicted["changes"]
    assert result["diff"] == predicted["diff"] or result["diff"]["after"]["networks"][1]["mac"]
    assert result["diff"]["before"]["memory"] == 1024 and result["diff"]["after"]["memory"] == 2048
    vm = result["vm"]
    assert vm["uuid"] == created["uuid"]
    assert vm["networks"][0]["mac"] == created["networks"][0]["mac"]
    assert vm["networks"][1]["model"] == "e1000"
    assert (vm["memory"], vm["vcpus"], vm["description"]) == (2048, 1, "now described")
    assert run(client, **params)["changed"] is False


def test_grow_disk_and_refuse_shrink(client, names, base):
    name = names()
    run(client, **vm_params(name))
    # the test driver cannot resize volumes: the growth itself is covered by the integration tests
    grown = run(client, check=True, **vm_params(name, disks=[{"name": "root", "base": "unit-base.qcow2", "size": "6GiB"}]))
    assert grown["changed"] and "disks" in grown["changes"]
    assert any(a.startswith("grow ") and a.endswith("from 4GiB to 6GiB") for a in grown["actions"])
    assert grown["diff"]["before"]["disks"][0]["size"] == 4 * 1024 ** 3
    assert grown["diff"]["after"]["disks"][0]["size"] == 6 * 1024 ** 3
    with pytest.raises(ValidationError) as info:
        run(client, **vm_params(name, disks=[{"name": "root", "base": "unit-base.qcow2", "size": "3GiB"}]))
    assert info.value.option == "disks[0].size"
    assert run(client, **vm_params(name, disks=[{"name": "root", "base": "unit-base.qcow2", "size": "4GiB"}]))["changed"] is False


def test_add_and_remove_disk(client, names, base):
    name = names()
    run(client, **vm_params(name))
    two = vm_params(name, disks=[{"name": "root", "base": "unit-base.qcow2", "size": "4GiB"}, {"name": "data", "size": "1GiB", "format": "raw"}])
    result = run(client, **two)
    assert [d["target"] for d in result["vm"]["disks"]] == ["vda", "vdb"]
    assert result["vm"]["disks"][1]["format"] == "raw"
    assert run(client, **two)["changed"] is False
    back = run(client, **vm_params(name))
    assert [d["target"] for d in back["vm"]["disks"]] == ["vda"]
    assert "%s-data.img" % name in pool_volumes(client)  # detaching keeps the volume


@pytest.mark.parametrize("over,option", [
    ({"memory": "lots"}, "memory"),
    ({"memory": "8MiB"}, "memory"),
    ({"memory": "999999TiB"}, "memory"),
    ({"memory": "65TiB"}, "memory"),
    ({"max_memory": "999999TiB"}, "max_memory"),
    ({"shutdown_timeout": -5}, "shutdown_timeout"),
    ({"vcpus": 0}, "vcpus"),
    ({"vcpus": 4, "max_vcpus": 2}, "vcpus"),
    ({"name": "bad name!"}, "name"),
    ({"disks": [{"size": "1GiB", "base": "unit-base.qcow2", "volume": "x"}]}, "disks[0]"),
    ({"disks": [{}]}, "disks[0]"),
    ({"disks": [{"size": "big"}]}, "disks[0].size"),
    ({"disks": [{"base": "no-such-base.qcow2"}]}, "disks[0].base"),
    ({"disks": [{"base": "unit-base.qcow2", "size": "1GiB"}]}, "disks[0].size"),
    ({"disks": [{"size": "1GiB", "pool": "no-such-pool"}]}, "disks[0].pool"),
    ({"networks": [{"network": "no-such-net"}]}, "networks[0].network"),
    ({"networks": [{"network": "default", "bridge": "br0"}]}, "networks[0]"),
    ({"networks": [{"network": "default", "mac": "zz:00"}]}, "networks[0].mac"),
    ({"kernel": "relative/vmlinuz"}, "kernel"),
    ({"initrd": "/boot/initrd.img"}, "initrd"),
    ({"cmdline": "console=ttyS0"}, "cmdline"),
    ({"xml": "<domain"}, "xml"),
    ({"wait": {"ip": True}}, "wait"),
    # test:///default is not reached over SSH, so it has no hypervisor to read the banner through
    ({"state": "running", "wait": {"ssh": True, "ssh_via": "hypervisor"}}, "wait.ssh_via"),
    ({"cloud_init": {"user_data": "#cloud-config\n", "ssh_authorized_keys": ["k"]}}, "cloud_init.ssh_authorized_keys"),
])
def test_bad_input_names_option_and_changes_nothing(client, names, base, over, option):
    name = names()
    params = vm_params(name)
    params.update(over)
    with pytest.raises(ValidationError) as info:
        run(client, **params)
    assert info.value.option == option
    assert "accepted" in str(info.value)
    assert client.domain(name) is None
    assert pool_volumes(client) == []


def test_bad_input_on_existing_vm_changes_nothing(client, names, base):
    name = names()
    before = run(client, **vm_params(name))["vm"]
    with pytest.raises(ValidationError):
        run(client, **vm_params(name, memory=4096, networks=[{"network": "nope"}]))
    after = run(client, check=True, **vm_params(name))
    assert after["changed"] is False
    assert after["vm"]["memory"] == before["memory"]


def test_half_made_create_is_undone(client, names, base, monkeypatch):
    name = names()

    def broken_define(xml):
        raise libvirt.libvirtError("simulated define failure")
    monkeypatch.setattr(client.conn, "defineXML", broken_define)
    with pytest.raises(BackendError) as info:
        run(client, **vm_params(name, disks=[{"name": "root", "base": "unit-base.qcow2"}, {"name": "data", "size": 1}]))
    assert "simulated define failure" in str(info.value)
    assert "nothing was left behind" in str(info.value)
    assert pool_volumes(client) == []


def test_power_states(client, names, base):
    name = names()
    result = run(client, **vm_params(name, state="running"))
    assert result["vm"]["state"] == "running"
    assert run(client, **vm_params(name, state="running"))["changed"] is False
    paused = run(client, **vm_params(name, state="paused"))
    assert paused["changed"] and paused["vm"]["state"] == "paused"
    assert run(client, **vm_params(name, state="running"))["vm"]["state"] == "running"
    stopped = run(client, shutdown_timeout=0, **vm_params(name, state="stopped"))
    assert stopped["changed"] and stopped["vm"]["state"] == "stopped"
    assert run(client, **vm_params(name, state="stopped"))["changed"] is False


def test_running_vm_live_and_restart_required(client, names, base):
    name = names()
    run(client, **vm_params(name, state="running", max_memory="2GiB", max_vcpus=4))
    live = run(client, **vm_params(name, state="running", max_memory="2GiB", max_vcpus=4, memory="2GiB", vcpus=3))
    assert live["changed"] and live["restart_required"] is False
    assert "live:memory" in live["actions"]
    assert (live["vm"]["memory"], live["vm"]["vcpus"]) == (2048, 3)
    predicted = run(client, check=True, **vm_params(name, state="running", max_memory="2GiB", max_vcpus=4, memory="2GiB",
                                                    vcpus=3, machine="pc"))
    assert predicted["restart_required"] is True and predicted["restart_required_for"] == ["machine"]
    needs = run(client, **vm_params(name, state="running", max_memory="2GiB", max_vcpus=4, memory="2GiB", vcpus=3, machine="pc"))
    assert needs["restart_required"] is True and needs["restart_required_for"] == ["machine"]
    restarted = run(client, restart="allowed", shutdown_timeout=0,
                    **vm_params(name, state="running", max_memory="2GiB", max_vcpus=4, memory="2GiB", vcpus=3, machine="pc", cpu_mode="host-model"))
    assert restarted["restarted"] is True and restarted["restart_required"] is False
    assert restarted["vm"]["state"] == "running"


def test_absent_refuses_unowned_and_force(client, names, base):
    name = names()
    client.conn.defineXML("<domain type='test'><name>%s</name><memory>65536</memory><os><type>hvm</type></os></domain>" % name)
    with pytest.raises(ValidationError) as info:
        run(client, name=name, state="absent")
    assert info.value.option == "force"
    assert client.domain(name) is not None
    result = run(client, check=True, name=name, state="absent", force=True)
    assert result["changed"] and client.domain(name) is not None
    result = run(client, name=name, state="absent", force=True)
    assert result["changed"] and client.domain(name) is None
    assert run(client, name=name, state="absent")["changed"] is False


def test_absent_storage_only_when_asked(client, names, base):
    keep, remove = names(), names()
    run(client, **vm_params(keep, state="running"))
    run(client, **vm_params(remove))
    result = run(client, name=keep, state="absent", shutdown_timeout=0)
    assert result["removed_volumes"] == [] and "%s-root.qcow2" % keep in pool_volumes(client)
    predicted = run(client, check=True, name=remove, state="absent", remove_storage=True)
    assert [p.rsplit("/", 1)[1] for p in predicted["removed_volumes"]] == ["%s-root.qcow2" % remove]
    assert "%s-root.qcow2" % remove in pool_volumes(client)
    result = run(client, name=remove, state="absent", remove_storage=True)
    assert "%s-root.qcow2" % remove not in pool_volumes(client)
    assert client.volume(client.pool(POOL), "unit-base.qcow2") is not None  # the base is never removed


def test_memory_cap_is_inclusive():
    assert validate_params({"name": "x", "memory": "64TiB"})["memory"] == 64 * 1024 * 1024


def test_validate_params_is_pure():
    desired = validate_params({"name": "x", "memory": "2GiB", "tb_cache": 0, "tags": ["a"]})
    assert desired == {"memory": 2048, "tb_cache": 0, "tags": ["a"]}


def test_list_vms_filters(client, names, base):
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import list_vms
    web, db = names(), names()
    run(client, **vm_params(web, tags=["unit", "web"], state="running"))
    run(client, **vm_params(db, tags=["unit", "db"]))
    found = list_vms(client, {"name": ["unit-vm-*"], "tags": ["unit"]})
    assert [v["name"] for v in found] == sorted([web, db])
    assert [v["name"] for v in list_vms(client, {"tags": ["web"]})] == [web]
    assert [v["name"] for v in list_vms(client, {"name": [db]})] == [db]
    assert [v["name"] for v in list_vms(client, {"name": ["unit-vm-*"], "state": ["stopped"]})] == [db]
    assert [v["name"] for v in list_vms(client, {"name": ["unit-vm-*"], "managed": True})] == sorted([web, db])
    assert list_vms(client, {"name": ["unit-vm-*"], "managed": False}) == []
    vm = list_vms(client, {"name": [web]})[0]
    assert vm["uri"] == "test:///default" and vm["state"] == "running" and vm["memory"] == 1024


def test_list_vms_reads_in_bulk_what_vm_facts_reads_per_domain(client, names, base):
    # list_vms reads states, autostart, persistence and the file volumes once per hypervisor (Listing);
    # the facts must be those vm_facts gives when it asks each domain itself
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import list_vms, vm_facts
    web, db = names(), names()
    run(client, **vm_params(web, tags=["unit", "bulk"], state="running"))
    run(client, **vm_params(db, tags=["unit", "bulk"]))
    client.domain(db).setAutostart(1)
    listed = list_vms(client, {"tags": ["bulk"], "ip_sources": ["lease", "agent", "arp"]})
    assert [v["name"] for v in listed] == sorted([web, db])
    for vm in listed:
        alone = vm_facts(client, client.domain(vm["name"]), ip_sources=("lease", "agent", "arp"))
        assert vm == dict(alone, uri="test:///default")
    by_name = dict((v["name"], v) for v in listed)
    assert by_name[db]["autostart"] is True and by_name[web]["autostart"] is False
    assert by_name[web]["state"] == "running" and by_name[db]["state"] == "stopped"
    assert all(v["persistent"] for v in listed)
    root = by_name[web]["disks"][0]
    assert root["pool"] == POOL and root["volume"] and root["capacity"] == 4 * 1024 ** 3


def test_domains_with_states_and_file_volumes(client, names, base):
    web = names()
    run(client, **vm_params(web, state="running"))
    states = dict((dom.name(), state) for dom, state in client.domains_with_states())
    assert states[web] == "running"
    assert states == dict((dom.name(), client_module.domain_state(client, dom)) for dom in client.domains())
    found = client.file_volumes()
    assert base.path() in found and found[base.path()][1] == POOL
    assert all(path.startswith("/") for path in found)


def test_pool_type_and_state_of_are_pure():
    assert client_module.pool_type("<pool type='dir'><name>p</name></pool>") == "dir"
    assert client_module.pool_type('<pool type="logical"/>') == "logical"
    assert client_module.pool_type("<pool><name>p</name></pool>") is None
    assert client_module.pool_type("not xml") is None
    assert client_module.state_of(1) == "running" and client_module.state_of(2) == "running"
    assert client_module.state_of(5) == "stopped" and client_module.state_of(99) == "unknown"


def test_hypervisor_facts_from_the_test_driver(client):
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import hypervisor_facts
    info = client.conn.getInfo()
    facts = hypervisor_facts(client.uri, *client.node())
    # the test driver describes a fixed host: 16 CPUs, 3 GiB (getInfo reports MiB)
    assert facts["cpus"] == info[2] == 16 and facts["memory_mib"] == info[1] == 3072
    assert facts["uri"] == "test:///default" and facts["hostname"] == client.conn.getHostname()
    assert facts["cpu_model"] == info[0]


def test_hypervisor_facts_version_string():
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import hypervisor_facts
    facts = hypervisor_facts("qemu:///system", ["x86_64", 64240, 8, 2400, 1, 1, 4, 2], "hv1", 9000000)
    assert facts == {"uri": "qemu:///system", "hostname": "hv1", "cpu_model": "x86_64", "memory_mib": 64240,
                     "cpus": 8, "libvirt_version": "9.0.0"}
    assert hypervisor_facts("x", ["m", 1, 1], "h", 10010002)["libvirt_version"] == "10.10.2"


@pytest.mark.parametrize("params,option", [
    ({"uri": "qemu:///system\n"}, "uri"),
    ({"uri": "qemu:///system", "uris": ["test:///default", ""]}, "uris[1]"),
    ({"name": ["web*", ""]}, "name[1]"),
    ({"name": ["a/b"]}, "name[0]"),
    ({"name": ["web\n*"]}, "name[0]"),
    ({"tags": ["<b>"]}, "tags[0]"),
    ({"tags": [""]}, "tags[0]"),
])
def test_vm_filters_that_no_vm_can_match_are_refused(params, option):
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import check_vm_filters
    with pytest.raises(ValidationError) as info:
        check_vm_filters(dict({"uri": "test:///default"}, **params))
    assert info.value.option == option and info.value.accepted


def test_unreachable_uri_names_the_option():
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import open_client
    with pytest.raises(ValidationError) as info:
        open_client("nope:///system", "uris[1]")
    assert info.value.option == "uris[1]" and "cannot connect" in str(info.value)
    with open_client("test:///default") as client:
        assert client.conn is not None
