"""Adoption of a VM defined elsewhere, against libvirt's test:///default driver (real libvirt code, no daemon).

One process holds the test driver's state, so check mode, the real run and the rerun see the same domain.
"""
import itertools

import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml as dx  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.domain import VmManager  # noqa: E402

COUNTER = itertools.count()

# virsh-define style: title, description, another tool's metadata namespace, devices the module does not manage
LEGACY_XML = """<domain type='test'>
  <name>{name}</name>
  <title>Legacy billing database</title>
  <description>owner=team-billing env=prod</description>
  <metadata>
    <cmdb:record xmlns:cmdb="http://cmdb.example.com/xmlns/1">
      <cmdb:service>billing</cmdb:service>
      <cmdb:ssh user="deploy"/>
    </cmdb:record>
  </metadata>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/legacy/{name}.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:{octet:02x}'/><source network='default'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
    <input type='tablet' bus='usb'/>
    <watchdog model='i6300esb' action='reset'/>
  </devices>
</domain>"""


@pytest.fixture
def client():
    with LibvirtClient("test:///default") as conn:
        yield conn


@pytest.fixture
def legacy(client):
    """A domain defined with plain XML, as virsh define would; removed afterwards."""
    made = []

    def make(running=False):
        index = next(COUNTER)
        name = "unit-legacy-%d" % index
        dom = client.conn.defineXML(LEGACY_XML.format(name=name, octet=index % 256))
        if running:
            dom.create()
        made.append(name)
        return name
    yield make
    for name in made:
        dom = client.domain(name)
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()


def run(client, check=False, diff=True, **params):
    params.setdefault("state", "present")
    params.setdefault("pool", "default-pool")
    return VmManager(client, check_mode=check, diff=diff).run(params)


def inactive_xml(client, name):
    return client.domain(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def test_foreign_vm_is_only_read(client, legacy):
    name = legacy()
    before = inactive_xml(client, name)
    read = run(client, name=name)
    assert read["changed"] is False and read["vm"]["managed"] is False and read["vm"]["adopted"] is False
    for params, what in (({"memory": "512MiB"}, "memory"), ({"state": "running"}, "state stopped -> running"),
                         ({"tags": ["web"]}, "tags"), ({"autostart": True}, "autostart")):
        for check in (True, False):
            with pytest.raises(ValidationError) as info:
                run(client, check=check, name=name, **params)
            assert info.value.option == "adopt" and what in info.value.msg and "only read" in info.value.msg
    assert inactive_xml(client, name) == before
    assert not client.domain(name).isActive()


@pytest.mark.parametrize("running", [False, True], ids=["stopped", "running"])
def test_adopt_adds_only_ownership_check_diff_idempotent(client, legacy, running):
    name = legacy(running=running)
    before = inactive_xml(client, name)
    live_before = client.domain(name).XMLDesc(0)

    predicted = run(client, check=True, name=name, adopt=True)
    assert predicted["changed"] is True and predicted["changes"] == ["adopted"]
    assert predicted["actions"] == ["adopt"]
    assert predicted["vm"]["managed"] is True and predicted["vm"]["adopted"] is True
    diff = predicted["diff"]
    assert diff["before"]["managed"] is False and diff["after"]["managed"] is True
    assert diff["after"]["adopted"] is True
    # the diff shows exactly the ownership marker
    assert dict(diff["before"], managed=True, adopted=True) == diff["after"]
    assert inactive_xml(client, name) == before, "check mode changed the VM"

    adopted = run(client, name=name, adopt=True)
    assert adopted["changed"] is True and adopted["changes"] == ["adopted"] and adopted["actions"] == ["adopt"]
    assert adopted["diff"] == diff
    assert adopted["vm"]["managed"] is True and adopted["vm"]["adopted"] is True
    after = inactive_xml(client, name)
    assert dx.is_managed(dx.parse(after))
    # nothing but our metadata changed: title, description, the CMDB namespace, every device
    assert dx.metadata_without_fleet(after) == dx.metadata_without_fleet(before)
    assert "http://cmdb.example.com/xmlns/1" in after and "<watchdog" in after and "<title>" in after
    if running:
        live = client.domain(name).XMLDesc(0)
        assert dx.is_managed(dx.parse(live)), "the running VM's live definition has no marker"
        assert dx.metadata_without_fleet(live) == dx.metadata_without_fleet(live_before)
        assert client.domain(name).isActive()

    for check in (True, False):
        again = run(client, check=check, name=name, adopt=True)
        assert again["changed"] is False and again["changes"] == []
    assert inactive_xml(client, name) == after
    # adopt is no longer needed: the VM is the collection's own
    assert run(client, name=name)["changed"] is False


def test_adopted_vm_is_updated_and_deleted_without_force(client, legacy):
    name = legacy()
    run(client, name=name, adopt=True)
    grown = run(client, name=name, memory="512MiB")
    assert grown["changed"] and grown["changes"] == ["memory"] and grown["vm"]["memory"] == 512
    assert grown["vm"]["adopted"] is True
    predicted = run(client, check=True, name=name, state="absent")
    assert predicted["changed"] and client.domain(name) is not None
    gone = run(client, name=name, state="absent")
    assert gone["changed"] and client.domain(name) is None


def test_adopt_with_other_options_applies_them_too(client, legacy):
    name = legacy()
    result = run(client, name=name, adopt=True, tags=["billing"], description="billing db")
    assert result["changed"] and result["changes"] == ["description", "tags", "adopted"]
    assert result["vm"]["tags"] == ["billing"] and result["vm"]["managed"] is True
    after = inactive_xml(client, name)
    assert "http://cmdb.example.com/xmlns/1" in after and "<watchdog" in after
    assert run(client, name=name, tags=["billing"], description="billing db")["changed"] is False


def test_adopt_cannot_be_combined_with_absent(client, legacy):
    name = legacy()
    with pytest.raises(ValidationError) as info:
        run(client, name=name, state="absent", adopt=True)
    assert info.value.option == "adopt" and "force" in info.value.msg
    assert client.domain(name) is not None


def test_metadata_without_fleet_ignores_only_our_element_and_whitespace():
    plain = "<domain><name>a</name>\n  <memory>1</memory></domain>"
    ours = ("<domain><name>a</name><metadata><fleet:vm xmlns:fleet='%s'><fleet:managed>true</fleet:managed></fleet:vm>"
            "</metadata><memory>1</memory></domain>" % dx.FLEET_NS)
    assert dx.metadata_without_fleet(ours) == dx.metadata_without_fleet(plain)
    other = "<domain><name>a</name><metadata><x:y xmlns:x='urn:x'/></metadata><memory>1</memory></domain>"
    assert dx.metadata_without_fleet(other) != dx.metadata_without_fleet(plain)
    assert dx.metadata_without_fleet("<domain><name>a</name><memory>2</memory></domain>") != \
        dx.metadata_without_fleet(plain)


def test_tags_of_a_running_vm_change_live_without_restart(client):
    # setMetadata takes the element without its namespace (libvirt adds namespace and prefix)
    name = "unit-legacy-live-%d" % next(COUNTER)
    params = dict(name=name, state="running", memory="64MiB", tags=["a"])
    try:
        run(client, **params)
        params["tags"] = ["b"]
        result = run(client, **params)
        assert result["changes"] == ["tags"] and "live:tags" in result["actions"]
        assert not result.get("warnings") and result["restart_required"] is False
        assert "<fleet:tag>b</fleet:tag>" in client.domain(name).XMLDesc(0)
    finally:
        dom = client.domain(name)
        if dom is not None:
            dom.destroy()
            dom.undefine()
