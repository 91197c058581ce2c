"""libvirt_vms against the lab's real libvirtd (and libvirt's test driver as a second hypervisor): a list of VMs
converged in one task, define-only.

Covers: create in one call (check mode first), idempotent rerun, an update of one VM in place, bad input in one
item changes nothing anywhere, a VM the hypervisor rejects fails alone (the others converge, its volumes are
undone), two hypervisors holding the same name, and removal.
"""
import os

import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
NETWORK = os.environ.get("HYBRIDOPS_LIBVIRT_NETWORK", "default")
TEST_URI = "test:///default"  # a second hypervisor: real libvirt code, in the module's own process
PREFIX = "hybridops-it-vms-"  # the conn fixture (conftest.py) removes what carries it
BASE = PREFIX + "base.qcow2"  # the base_volume fixture (conftest.py) makes it
NAMES = [PREFIX + "a", PREFIX + "b", PREFIX + "c"]


def vm(name, **over):
    item = {"name": name, "pool": POOL, "memory": "256MiB", "vcpus": 1,
            "disks": [{"name": "root", "base": BASE, "size": "2GiB"}],
            "networks": [{"network": NETWORK}], "tags": ["it-vms"]}
    item.update(over)
    return item


def run(ansible, vms, **kwargs):
    return ansible.run_module("libvirt_vms", {"uri": URI, "vms": vms, "max_workers": 3}, **kwargs)


def domains(conn):
    return sorted(d.name() for d in conn.listAllDomains(0) if d.name().startswith(PREFIX))


def volumes(conn):
    pool = conn.storagePoolLookupByName(POOL)
    lab.refresh_pool(pool)
    return sorted(v for v in pool.listVolumes() if v.startswith(PREFIX) and v != BASE)


def test_a_list_converges_in_one_task(ansible, conn, base_volume):
    items = [vm(n) for n in NAMES]
    predicted = run(ansible, items, check=True, diff=True)
    assert predicted.get("failed") is not True, predicted.get("msg")
    assert predicted["changed"] is True and predicted["changed_vms"] == NAMES
    assert [r["created"] for r in predicted["results"]] == [True] * 3
    assert set(predicted["diff"]["before"]) == set(NAMES)
    assert all(predicted["diff"]["before"][n] == {"state": "absent"} for n in NAMES)
    assert domains(conn) == [] and volumes(conn) == [], "check mode created something"

    created = run(ansible, items, diff=True)
    assert created.get("failed") is not True, created.get("msg")
    assert created["changed_vms"] == NAMES and created["failed_vms"] == []
    assert [r["name"] for r in created["results"]] == NAMES
    assert all(r["uri"] == URI and "define" in r["actions"] for r in created["results"])
    assert created["diff"]["after"] == predicted["diff"]["after"]
    assert domains(conn) == NAMES
    assert volumes(conn) == sorted(n + "-root.qcow2" for n in NAMES)

    again = run(ansible, items, diff=True)
    assert again["changed"] is False and again["changed_vms"] == [], again["results"]
    assert again["diff"]["before"] == again["diff"]["after"]

    # one VM changes, in place (the same UUID); the others are untouched
    uuid = conn.lookupByName(NAMES[1]).UUIDString()
    items[1]["memory"] = "384MiB"
    check = run(ansible, items, check=True, diff=True)
    assert check["changed_vms"] == [NAMES[1]]
    assert conn.lookupByName(NAMES[1]).maxMemory() == 256 * 1024
    changed = run(ansible, items, diff=True)
    assert changed["changed_vms"] == [NAMES[1]]
    assert changed["diff"] == check["diff"]
    dom = conn.lookupByName(NAMES[1])
    assert dom.UUIDString() == uuid and dom.maxMemory() == 384 * 1024
    assert run(ansible, items)["changed"] is False


def test_bad_input_in_one_item_changes_nothing(ansible, conn, base_volume):
    before = domains(conn)
    items = [vm(PREFIX + "new1"), vm(PREFIX + "new2", state="sleeping")]
    result = run(ansible, items)
    assert result["failed"] is True
    assert result["msg"].startswith("vms[%snew2]: " % PREFIX) and "state" in result["msg"], result["msg"]
    assert "running" in result["msg"] and "Traceback" not in str(result)
    # a pool that does not exist, found by the plan pass: the first VM is not created either
    items = [vm(PREFIX + "new1"), vm(PREFIX + "new2", pool=PREFIX + "nopool")]
    result = run(ansible, items)
    assert result["failed"] is True and result["failed_vms"] == [PREFIX + "new2"], result
    assert "vms[%snew2].disks[0].pool" % PREFIX in result["msg"], result["msg"]
    assert result["changed"] is False and result["results"][0]["changed"] is False
    # the same VM twice on one hypervisor
    result = run(ansible, [vm(PREFIX + "new1"), vm(PREFIX + "new1")])
    assert result["failed"] is True and "listed twice" in result["msg"], result["msg"]
    assert domains(conn) == before and PREFIX + "new1-root.qcow2" not in volumes(conn)


def test_a_vm_the_hypervisor_rejects_fails_alone(ansible, conn, base_volume):
    items = [vm(PREFIX + "good"), vm(PREFIX + "bad", machine="no-such-machine-type")]
    result = run(ansible, items)
    assert result["failed"] is True and result["failed_vms"] == [PREFIX + "bad"], result
    assert result["msg"].startswith("1 of 2 VMs failed: vms[%sbad]" % PREFIX), result["msg"]
    assert result["changed_vms"] == [PREFIX + "good"]
    assert PREFIX + "good" in domains(conn) and PREFIX + "bad" not in domains(conn)
    # the rejected VM's volume was undone; the good one's stays
    assert PREFIX + "bad-root.qcow2" not in volumes(conn) and PREFIX + "good-root.qcow2" in volumes(conn)


def test_two_hypervisors_and_removal(ansible, conn, base_volume):
    name = PREFIX + "twin"
    items = [vm(name), {"name": name, "uri": TEST_URI, "memory": "128MiB", "pool": "default-pool"}]
    result = run(ansible, items, diff=True)
    assert result.get("failed") is not True, result.get("msg")
    assert [(r["uri"], r["created"]) for r in result["results"]] == [(URI, True), (TEST_URI, True)]
    # the same name on two hypervisors: the diff keys say which is which
    assert sorted(result["diff"]["after"]) == sorted(["%s/%s" % (URI, name), "%s/%s" % (TEST_URI, name)])
    assert name in domains(conn)

    gone = run(ansible, [{"name": n, "state": "absent", "remove_storage": True} for n in NAMES + [name]], diff=True)
    assert gone.get("failed") is not True, gone.get("msg")
    assert sorted(gone["changed_vms"]) == sorted(NAMES + [name])
    assert not [n for n in domains(conn) if n in NAMES + [name]]
    assert run(ansible, [{"name": n, "state": "absent"} for n in NAMES + [name]])["changed"] is False
