"""Adoption with libvirt_vm against the lab's libvirtd (define-only, nothing boots).

A VM is defined from hand-written XML, as `virsh define` would, with a title, a description, another tool's
metadata namespace and devices the module does not manage. Without adoption it is only read; adoption adds the
ownership element and nothing else (the definition libvirt returns is the same text minus that element); a rerun
changes nothing; afterwards state=absent works without force.
"""
import os
import re

import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
NETWORK = os.environ.get("HYBRIDOPS_LIBVIRT_NETWORK", "default")
# the conn fixture (conftest.py) removes what carries the prefix, before and after this module
PREFIX = os.environ.get("HYBRIDOPS_IT_PREFIX", "hybridops-it-") + "adopt-"
FLEET_NS = "https://hybridops.dev/fleet/1"

LEGACY_XML = """<domain type='qemu'>
  <name>{name}</name>
  <title>Legacy billing database</title>
  <description>owner=team-billing env=prod</description>
  {metadata}
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/><bootmenu enable='no'/></os>
  <features><acpi/><apic/></features>
  <clock offset='localtime'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='/var/lib/libvirt/images/{name}.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='network'>
      <mac address='52:54:00:5e:{octet:02x}:01'/>
      <source network='{network}'/>
      <model type='e1000'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <video><model type='cirrus'/></video>
    <watchdog model='i6300esb' action='reset'/>
    <memballoon model='virtio'/>
  </devices>
</domain>"""
CMDB = ("<metadata><cmdb:record xmlns:cmdb='http://cmdb.example.com/xmlns/1'><cmdb:service>billing</cmdb:service>"
        "<cmdb:ssh user='deploy'/></cmdb:record></metadata>")


def define_legacy(conn, name, octet, metadata=CMDB):
    return conn.defineXML(LEGACY_XML.format(name=name, octet=octet, network=NETWORK, metadata=metadata))


def inactive(conn, name):
    return conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def without_ownership(xml):
    """libvirt's text of the definition with our element (and a <metadata> left empty) cut out."""
    xml = re.sub(r"\n *<fleet:vm xmlns:fleet=\"%s\">.*?</fleet:vm>" % re.escape(FLEET_NS), "", xml, flags=re.S)
    return re.sub(r"\n *<metadata>\n *</metadata>", "", xml)


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture
def legacy(conn, request):
    name = PREFIX + request.node.name.split("[")[0].replace("test_", "").replace("_", "-")[:30]
    yield name
    try:
        conn.lookupByName(name).undefine()
    except libvirt.libvirtError:
        pass


def test_foreign_vm_is_only_read(ansible, conn, legacy):
    define_legacy(conn, legacy, 1)
    before = inactive(conn, legacy)
    results = ansible.run_tasks([
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy}},
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "memory": "512MiB"}},
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "tags": ["billing"]}, "check_mode": True},
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "state": "absent"}},
    ])["localhost"]
    read, memory, tags, absent = results
    assert ok(read)["changed"] is False and read["vm"]["managed"] is False and read["vm"]["adopted"] is False
    assert read["vm"]["title"] == "Legacy billing database"
    assert read["vm"]["metadata"] == {"http://cmdb.example.com/xmlns/1": {
        "record": {"service": "billing", "ssh": {"@user": "deploy"}}}}
    for refused in (memory, tags):
        assert refused.get("failed") and refused["option"] == "adopt" and "only read" in refused["msg"], refused
    assert "memory" in memory["msg"] and "tags" in tags["msg"]
    assert absent.get("failed") and absent["option"] == "force"
    assert inactive(conn, legacy) == before


@pytest.mark.parametrize("metadata", [CMDB, ""], ids=["other-metadata", "no-metadata"])
def test_adopt_adds_only_the_ownership_metadata(ansible, conn, legacy, metadata):
    define_legacy(conn, legacy, 2 if metadata else 3, metadata=metadata)
    before = inactive(conn, legacy)
    args = {"uri": URI, "name": legacy, "adopt": True}
    predicted, adopted, again, again_check = ansible.run_tasks([
        {"hybridops.fleet.libvirt_vm": args, "check_mode": True, "diff": True},
        {"hybridops.fleet.libvirt_vm": args, "diff": True},
        {"hybridops.fleet.libvirt_vm": args, "diff": True},
        {"hybridops.fleet.libvirt_vm": args, "check_mode": True},
    ])["localhost"]
    for result in (predicted, adopted):
        assert ok(result)["changed"] is True and result["changes"] == ["adopted"] and result["actions"] == ["adopt"]
        assert result["vm"]["managed"] is True and result["vm"]["adopted"] is True
        diff = result["diff"]
        # the structured diff shows exactly the ownership marker
        assert diff["before"]["managed"] is False and diff["after"]["managed"] is True and diff["after"]["adopted"] is True
        assert dict(diff["before"], managed=True, adopted=True) == diff["after"]
    assert predicted["diff"] == adopted["diff"]
    assert ok(again)["changed"] is False and again["changes"] == []
    assert ok(again_check)["changed"] is False
    after = inactive(conn, legacy)
    assert "<fleet:managed>true</fleet:managed>" in after and "<fleet:adopted>true</fleet:adopted>" in after
    # the definition libvirt returns is the same text once our element is cut out: devices, title,
    # description, the other namespace, MAC and UUID untouched
    assert without_ownership(after) == before
    assert without_ownership(after) != after


def test_adopted_vm_is_absent_without_force(ansible, conn, legacy):
    define_legacy(conn, legacy, 4)
    adopted, info, predicted, gone, again = ansible.run_tasks([
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "adopt": True}},
        {"hybridops.fleet.libvirt_vm_info": {"uri": URI, "name": [legacy], "managed": True}},
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "state": "absent"}, "check_mode": True},
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "state": "absent"}},
        {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": legacy, "state": "absent"}},
    ])["localhost"]
    assert ok(adopted)["changed"]
    assert [vm["name"] for vm in ok(info)["vms"]] == [legacy]
    assert ok(predicted)["changed"] is True
    assert ok(gone)["changed"] is True and gone["removed_volumes"] == []
    assert ok(again)["changed"] is False
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName(legacy)
