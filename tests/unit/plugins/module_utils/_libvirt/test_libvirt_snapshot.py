"""Snapshot XML (pure) and SnapshotManager on test:///default."""
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.snapshot import SnapshotManager, snapshot_xml


def test_snapshot_xml_skips_readonly_and_raw():
    disks = [{"target": "vda", "format": "qcow2", "readonly": False, "device": "disk"},
             {"target": "vdb", "format": "raw", "readonly": True, "device": "disk"},
             {"target": "sda", "format": "raw", "readonly": True, "device": "cdrom"}]
    root = ET.fromstring(snapshot_xml("s1", "before", disks))
    assert root.findtext("name") == "s1" and root.findtext("description") == "before"
    assert [(d.get("name"), d.get("snapshot")) for d in root.findall("disks/disk")] == [
        ("vda", "internal"), ("vdb", "no"), ("sda", "no")]


libvirt = pytest.importorskip("libvirt")


@pytest.fixture
def client():
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient
    with LibvirtClient("test:///default") as conn:
        dom = conn.conn.defineXML("<domain type='test'><name>unit-snap</name><memory>65536</memory><os><type>hvm</type></os></domain>")
        yield conn
        for snap in dom.listAllSnapshots(0):
            snap.delete(0)
        dom.undefine()


def run(client, check=False, **params):
    params.setdefault("vm", "unit-snap")
    return SnapshotManager(client, check_mode=check).run(params)


def test_lifecycle(client):
    assert run(client, check=True, name="s1")["changed"] and run(client)["snapshots"] == []
    created = run(client, name="s1", description="first")
    assert created["changed"] and created["snapshot"]["description"] == "first"
    assert run(client, name="s1")["changed"] is False
    run(client, name="s2")
    assert [s["name"] for s in run(client)["snapshots"]] == ["s1", "s2"]
    reverted = run(client, name="s1", state="reverted")
    assert reverted["changed"] and reverted["snapshot"]["current"] is True
    assert run(client, name="s2", state="absent")["changed"]
    assert run(client, name="s2", state="absent")["changed"] is False


def test_errors(client):
    with pytest.raises(ValidationError) as info:
        run(client, vm="no-such-vm", name="x")
    assert info.value.option == "vm"
    with pytest.raises(ValidationError) as info:
        run(client, name="missing", state="reverted")
    assert info.value.option == "name"


@pytest.mark.parametrize("name", ["bad\nname", "a/b", "-x", ".x", "s" * 248, "\u00e9" * 124])
def test_unstorable_snapshot_names_are_refused_before_the_snapshot_is_taken(client, name):
    with pytest.raises(ValidationError) as info:
        run(client, name=name)
    assert info.value.option == "name" and info.value.accepted
    assert run(client)["snapshots"] == []


def test_longest_storable_name_is_accepted(client):
    # libvirt writes <name>.xml.new: 247 bytes + ".xml.new" is the 255-byte file name limit
    assert run(client, name="s" * 247)["changed"]
