"""libvirt_network, libvirt_vm_info and libvirt_snapshot against the lab's libvirtd (no guest boots)."""
import os

import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
PREFIX = "hybridops-it-nis-"  # the conn fixture (conftest.py) removes what carries it, before and after this module
NET = PREFIX + "net"


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def test_network_lifecycle(ansible, conn):
    args = {"uri": URI, "name": NET, "bridge": "virbr-hoit", "address": "10.213.7.1/24",
            "dhcp_ranges": [{"start": "10.213.7.100", "end": "10.213.7.200"}],
            "dhcp_hosts": [{"mac": "52:54:00:13:07:01", "ip": "10.213.7.11", "name": "one"}]}
    predicted = ok(ansible.run_module("libvirt_network", args, check=True, diff=True))
    assert predicted["changed"] and predicted["diff"]["after"]["address"] == "10.213.7.1/24"
    assert NET not in conn.listNetworks() + conn.listDefinedNetworks()
    created = ok(ansible.run_module("libvirt_network", args))
    assert created["changed"] and created["network"]["active"] is True
    net = conn.networkLookupByName(NET)
    uuid = net.UUIDString()
    assert ok(ansible.run_module("libvirt_network", args))["changed"] is False

    args["dhcp_hosts"].append({"mac": "52:54:00:13:07:02", "ip": "10.213.7.12", "name": "two"})
    live = ok(ansible.run_module("libvirt_network", args, diff=True))
    assert live["changed"] and live["restart_required"] is False and "live:dhcp_hosts" in live["actions"]
    assert "52:54:00:13:07:02" in net.XMLDesc(0)  # in the running network
    assert ok(ansible.run_module("libvirt_network", args))["changed"] is False

    args["domain"] = "hoit.lab"
    pending = ok(ansible.run_module("libvirt_network", args))
    assert pending["restart_required"] is True and pending["restart_required_for"] == ["domain"]
    assert "hoit.lab" not in net.XMLDesc(0)
    still = ok(ansible.run_module("libvirt_network", args))
    assert still["changed"] is False and still["restart_required_for"] == ["domain"]
    restarted = ok(ansible.run_module("libvirt_network", dict(args, restart="allowed")))
    assert restarted.get("restarted") and "hoit.lab" in net.XMLDesc(0)
    assert ok(ansible.run_module("libvirt_network", args))["restart_required"] is False
    assert net.UUIDString() == uuid

    bad = ansible.run_module("libvirt_network", dict(args, dhcp_hosts=[{"mac": "52:54:00:13:07:03", "ip": "10.9.9.9"}]))
    assert bad.get("failed") and bad["option"] == "dhcp_hosts[0].ip"
    assert "52:54:00:13:07:02" in net.XMLDesc(0)

    gone = ok(ansible.run_module("libvirt_network", {"uri": URI, "name": NET, "state": "absent"}))
    assert gone["changed"] and NET not in conn.listNetworks() + conn.listDefinedNetworks()
    assert ok(ansible.run_module("libvirt_network", {"uri": URI, "name": NET, "state": "absent"}))["changed"] is False


def test_vm_info_filters(ansible, conn):
    tasks = []
    for name, tags in ((PREFIX + "web", ["nis", "web"]), (PREFIX + "db", ["nis", "db"])):
        tasks.append({"hybridops.fleet.libvirt_vm": {"uri": URI, "name": name, "pool": POOL, "tags": tags, "memory": 128,
                                                     "disks": [{"size": "64MiB"}], "networks": [{"network": "default"}]}})
    tasks += [
        {"hybridops.fleet.libvirt_vm_info": {"uri": URI, "name": [PREFIX + "*"]}},
        {"hybridops.fleet.libvirt_vm_info": {"uri": URI, "tags": ["nis", "web"]}},
        {"hybridops.fleet.libvirt_vm_info": {"uris": [URI, URI], "name": [PREFIX + "db"], "state": ["stopped"]}},
        {"hybridops.fleet.libvirt_vm_info": {"uri": URI, "name": [PREFIX + "*"], "state": ["running"]}},
    ]
    results = [ok(r) for r in ansible.run_tasks(tasks)["localhost"]]
    every, web, db_twice, running = results[2:]
    assert [v["name"] for v in every["vms"]] == [PREFIX + "db", PREFIX + "web"]
    assert [v["name"] for v in web["vms"]] == [PREFIX + "web"]
    assert web["vms"][0]["tags"] == ["nis", "web"] and web["vms"][0]["managed"] is True
    assert web["vms"][0]["interfaces"][0]["mac"] == results[0]["vm"]["networks"][0]["mac"]
    assert [v["name"] for v in db_twice["vms"]] == [PREFIX + "db", PREFIX + "db"]
    assert running["vms"] == []
    assert all(r["changed"] is False for r in results[2:])


def test_snapshot_of_stopped_overlay_vm(ansible, conn):
    name = PREFIX + "snap"
    ok(ansible.run_module("libvirt_vm", {"uri": URI, "name": name, "pool": POOL, "memory": 128, "disks": [{"size": "64MiB"}]}))
    snap = {"uri": URI, "vm": name, "name": "s1", "description": "first"}
    assert ok(ansible.run_module("libvirt_snapshot", snap, check=True))["changed"]
    assert conn.lookupByName(name).snapshotNum(0) == 0
    created = ok(ansible.run_module("libvirt_snapshot", snap))
    assert created["changed"] and created["snapshot"]["state"] == "shutoff"
    assert ok(ansible.run_module("libvirt_snapshot", snap))["changed"] is False
    listed = ok(ansible.run_module("libvirt_snapshot", {"uri": URI, "vm": name}))
    assert [s["name"] for s in listed["snapshots"]] == ["s1"]
    reverted = ok(ansible.run_module("libvirt_snapshot", dict(snap, state="reverted")))
    assert reverted["changed"] and reverted["snapshot"]["current"]
    missing = ansible.run_module("libvirt_snapshot", dict(snap, name="nope", state="reverted"))
    assert missing.get("failed") and missing["option"] == "name"
    assert ok(ansible.run_module("libvirt_snapshot", dict(snap, state="absent")))["changed"]
    assert conn.lookupByName(name).snapshotNum(0) == 0


HAND_MADE = """<network>
  <name>{name}</name>
  <forward mode='nat'/>
  <bridge name='hybit-nis-hm' stp='on' delay='0'/>
  <dns><host ip='10.213.77.5'><hostname>db.internal</hostname></host></dns>
  <portgroup name='web' default='yes'/>
  <ip address='10.213.77.1' netmask='255.255.255.0'><dhcp><range start='10.213.77.100' end='10.213.77.150'/></dhcp></ip>
  <ip address='10.213.78.1' prefix='24'/>
  <ip family='ipv6' address='fd00:213:77::1' prefix='64'/>
</network>"""


def test_update_keeps_what_the_module_does_not_manage(ansible, conn):
    """A network made by hand (dns, port group, a second IPv4 and an IPv6 address) keeps all of it."""
    name = PREFIX + "handmade"
    conn.networkDefineXML(HAND_MADE.format(name=name))
    args = {"uri": URI, "name": name, "active": False, "mtu": 1400,
            "dhcp_hosts": [{"mac": "52:54:00:13:07:77", "ip": "10.213.77.7", "name": "n7"}]}
    update, again, predicted = ansible.run_tasks([
        {"hybridops.fleet.libvirt_network": args},
        {"hybridops.fleet.libvirt_network": args},
        {"hybridops.fleet.libvirt_network": dict(args, ipv6_address="fd00:213:79::1/64"),
         "check_mode": True, "diff": True},
    ])["localhost"]
    for result in (update, again, predicted):
        assert not result.get("failed"), result
    assert update["changed"] and sorted(update["changes"]) == ["dhcp_hosts", "mtu"], update
    assert again["changed"] is False
    assert predicted["changed"] and predicted["changes"] == ["ipv6_address"], predicted
    assert predicted["diff"]["after"]["ipv6_address"] == "fd00:213:79::1/64"
    xml = conn.networkLookupByName(name).XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    for kept in ("db.internal", "portgroup name='web'", "10.213.78.1", "fd00:213:77::1", "10.213.77.100"):
        assert kept in xml, (kept, xml)
    assert "52:54:00:13:07:77" in xml and "<mtu size='1400'/>" in xml
    assert update["network"]["ipv6_address"] == "fd00:213:77::1/64" and update["network"]["managed"] is False
